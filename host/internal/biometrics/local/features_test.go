package local

import (
	"reflect"
	"testing"
)

func TestFeatures(t *testing.T) {
	t.Parallel()
	// Holds 95, 80, 110; down-down 180, 230; up-down 180-95=85, 410-260=150.
	p, err := ParsePattern("sp1:1914395348:3:0,95;180,260;410,520")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.timings(), []int32{95, 80, 110, 180, 230}; !reflect.DeepEqual(got, want) {
		t.Errorf("timings = %v, want %v", got, want)
	}
	if got, want := p.Features(), []float64{95, 80, 110, 180, 230, 85, 150}; !reflect.DeepEqual(got, want) {
		t.Errorf("Features = %v, want %v", got, want)
	}
	// Overlapping keys give a negative up-down latency.
	p, _ = ParsePattern("sp1:1:2:0,120;80,190")
	if got, want := p.Features(), []float64{120, 110, 80, -40}; !reflect.DeepEqual(got, want) {
		t.Errorf("overlap: Features = %v, want %v", got, want)
	}
	// One key: a hold only.
	if got := Features([]int32{70}); !reflect.DeepEqual(got, []float64{70}) {
		t.Errorf("one key: %v", got)
	}
}

func TestKindOf(t *testing.T) {
	t.Parallel()
	// n = 4 keys: 4 holds, 3 down-down, 3 up-down.
	want := []Kind{Hold, Hold, Hold, Hold, DownDown, DownDown, DownDown, UpDown, UpDown, UpDown}
	for i, k := range want {
		if got := KindOf(i, len(want)); got != k {
			t.Errorf("KindOf(%d, 10) = %v, want %v", i, got, k)
		}
	}
	// The CMU password: 11 keys, 31 features.
	if KindOf(10, 31) != Hold || KindOf(11, 31) != DownDown || KindOf(20, 31) != DownDown || KindOf(21, 31) != UpDown {
		t.Error("kinds of the 31 CMU features")
	}
}
