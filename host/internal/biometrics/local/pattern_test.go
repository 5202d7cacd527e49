package local

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/biometrics"
)

func TestParsePattern(t *testing.T) {
	t.Parallel()
	long := "sp1:1:128:0,90" + strings.Repeat(";100,190", 127)
	tests := map[string]struct {
		tp   string
		want Pattern
	}{
		"three keys": {
			tp:   "sp1:1914395348:3:0,95;180,260;410,520",
			want: Pattern{TextID: "1914395348", Keys: []Key{{0, 95}, {180, 260}, {410, 520}}},
		},
		"one key": {
			tp:   "sp1:0:1:0,80",
			want: Pattern{TextID: "0", Keys: []Key{{0, 80}}},
		},
		"max uint32 text id": {
			tp:   "sp1:4294967295:2:0,1;2,3",
			want: Pattern{TextID: "4294967295", Keys: []Key{{0, 1}, {2, 3}}},
		},
		"128 keys": {
			tp: long,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePattern(tc.tp)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.TextID != "" {
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
			}
			if s := got.String(); s != tc.tp {
				t.Errorf("String() = %q, want %q", s, tc.tp)
			}
		})
	}
}

func TestParsePatternRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"empty":                  "",
		"no prefix":              "1914395348:3:0,95;180,260;410,520",
		"other version":          "sp2:1914395348:1:0,95",
		"typingdna pattern":      "0,3.2,0,0,6,2092090166,0,-1,-1|1968,98|61,49",
		"upper-case prefix":      "SP1:1:1:0,95",
		"missing text id":        "sp1::1:0,95",
		"text id not a number":   "sp1:abc:1:0,95",
		"text id signed":         "sp1:-1:1:0,95",
		"text id too big":        "sp1:4294967296:1:0,95",
		"text id leading zero":   "sp1:01:1:0,95",
		"missing count":          "sp1:1:0,95",
		"count zero":             "sp1:1:0:",
		"count leading zero":     "sp1:1:01:0,95",
		"count too big":          "sp1:1:129:0,95",
		"count too few keys":     "sp1:1:3:0,95;180,260",
		"count too many keys":    "sp1:1:1:0,95;180,260",
		"trailing separator":     "sp1:1:2:0,95;180,260;",
		"empty key":              "sp1:1:2:0,95;",
		"key without up":         "sp1:1:2:0,95;180",
		"key with three numbers": "sp1:1:2:0,95;180,260,300",
		"negative time":          "sp1:1:2:0,95;-180,260",
		"fraction":               "sp1:1:2:0,95;180.5,260",
		"space":                  "sp1:1:2:0,95; 180,260",
		"leading zero time":      "sp1:1:2:0,95;0180,260",
		"huge time":              "sp1:1:2:0,95;180,99999999",
		"first down not zero":    "sp1:1:2:5,95;180,260",
		"typed characters":       "sp1:1:2:a0,95;b180,260",
		"oversized":              "sp1:1:2:0,95;180,260" + strings.Repeat("0", MaxPatternBytes),
		"trailing field":         "sp1:1:1:0,95:x",
	}
	for name, tp := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := ParsePattern(tp)
			if !errors.Is(err, biometrics.ErrBadPattern) {
				t.Fatalf("ParsePattern(%.60q) = %+v, %v; want ErrBadPattern", tp, p, err)
			}
		})
	}
}

func TestPatternCheck(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		tp string
		ok bool
	}{
		"human":                   {"sp1:1:5:0,95;180,260;410,520;600,700;830,905", true},
		"overlapping keys":        {"sp1:1:4:0,120;80,190;260,330;300,420", true},
		"same-ms downs":           {"sp1:1:4:0,120;120,190;120,330;400,420", true},
		"zero hold":               {"sp1:1:4:0,95;180,180;410,520;600,700", false},
		"negative hold":           {"sp1:1:4:0,95;180,170;410,520;600,700", false},
		"hold over 2 s":           {"sp1:1:4:0,95;180,2181;2410,2520;2600,2700", false},
		"downs out of order":      {"sp1:1:4:0,95;410,520;180,260;600,700", false},
		"longer than 60 s":        {"sp1:1:4:0,95;180,260;410,520;59950,60001", false},
		"metronome":               {"sp1:1:5:0,95;200,260;400,520;600,700;800,905", false},
		"metronome with rounding": {"sp1:1:5:0,95;200,260;401,520;601,700;801,905", false},
		"two equal intervals":     {"sp1:1:3:0,95;200,260;400,520", true},
		// Faster than 30 ms a key on average: 25 ms.
		"too fast":          {"sp1:1:5:0,20;20,45;55,70;75,95;100,118", false},
		"fast but possible": {"sp1:1:5:0,20;30,45;70,80;90,110;125,140", true},
		// Each key pressed 80 ms after the previous one was released.
		"constant up-down": {"sp1:1:5:0,95;175,260;340,450;530,600;680,790", false},
		// Every key held 100 ms.
		"constant holds": {"sp1:1:5:0,100;180,280;410,510;600,700;830,930", false},
		// Key-downs 225 ms apart, alternating by 3 ms; holds 83 ms, alternating
		// too: a script with a little noise.
		"near-constant": {"sp1:1:6:0,86;222,302;450,536;672,752;900,986;1122,1202", false},
		// By 10 ms: a spread of 0.044, still under the floor.
		"near-constant, 10 ms": {"sp1:1:6:0,93;215,288;450,543;665,738;900,993;1115,1188", false},
		// An even typist: key-downs 180 to 260 ms apart (spread 0.13).
		"even but human": {"sp1:1:6:0,95;200,290;440,530;620,700;880,960;1090,1190", true},
		// A virtual keyboard: holds of 1 ms, all equal, is not a script.
		"virtual keyboard holds": {"sp1:1:5:0,1;180,181;410,411;600,601;830,831", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := ParsePattern(tc.tp)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Check()
			if tc.ok && err != nil {
				t.Errorf("Check() = %v, want nil", err)
			}
			if !tc.ok && !errors.Is(err, biometrics.ErrBadPattern) {
				t.Errorf("Check() = %v, want ErrBadPattern", err)
			}
		})
	}
}

func FuzzParsePattern(f *testing.F) {
	f.Add("sp1:1914395348:3:0,95;180,260;410,520")
	f.Add("sp1:1:1:0,1")
	f.Add("sp1:1:2:0,95;")
	f.Fuzz(func(t *testing.T, tp string) {
		p, err := ParsePattern(tp)
		if err != nil {
			if !errors.Is(err, biometrics.ErrBadPattern) {
				t.Fatalf("error %v does not wrap ErrBadPattern", err)
			}
			return
		}
		if p.String() != tp {
			t.Fatalf("round trip: %q -> %q", tp, p.String())
		}
		_ = p.Check()
	})
}

// Patterns as web/static/recorder.js writes them (copied from the expectations in
// web/testdata/recorder_test.js), so the two sides of the format stay in step.
func TestParsesRecorderOutput(t *testing.T) {
	t.Parallel()
	for _, tp := range []string{
		"sp1:42:4:0,100;80,190;300,370;451,541", // desktop, overlapping keys
		"sp1:9:4:0,3;210,212;400,404;650,651",   // virtual keyboard, near-zero holds
		"sp1:7:2:0,1;150,151",                   // sub-millisecond holds clamped to 1 ms
	} {
		p, err := ParsePattern(tp)
		if err != nil {
			t.Errorf("%s: %v", tp, err)
			continue
		}
		if err := p.Check(); err != nil {
			t.Errorf("%s: %v", tp, err)
		}
	}
}
