package eval

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/smsplus/smsplus/host/internal/biometrics/local"
)

// TestAttacksSubset runs the attack lines on the 4-subject excerpt: every line
// is there, the crafted attacks that the engine's checks exist for are all
// refused, and the strict point accepts no more than the standard one.
func TestAttacksSubset(t *testing.T) {
	t.Parallel()
	ds := readSubset(t)
	lines, err := Attacks(context.Background(), ds, AttackEnrollments, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * len(AttackEnrollments) * len(AttackNames()); len(lines) != want {
		t.Fatalf("%d lines, want %d", len(lines), want)
	}
	byKey := map[tallyKey]map[int]AttackLine{}
	i := 0
	for _, op := range []local.OperatingPoint{local.Standard, local.Strict} {
		for _, k := range AttackEnrollments {
			for _, name := range AttackNames() {
				l := lines[i]
				i++
				if l.Attack != name || l.Enroll != k || l.Op != op {
					t.Fatalf("line %d is %s, want attack %s enroll %d at %s", i, l, name, k, op)
				}
				if l.Tried == 0 {
					t.Errorf("%s: no attempts", l)
				}
				if byKey[tallyKey{name, op}] == nil {
					byKey[tallyKey{name, op}] = map[int]AttackLine{}
				}
				byKey[tallyKey{name, op}][k] = l
			}
		}
	}
	for _, k := range AttackEnrollments {
		for _, name := range []string{AttackNearConstant, replayAttack(4), replayAttack(8)} {
			for _, op := range []local.OperatingPoint{local.Standard, local.Strict} {
				if l := byKey[tallyKey{name, op}][k]; l.Accepted != 0 {
					t.Errorf("%s: want none accepted", l)
				}
			}
		}
		for _, name := range AttackNames() {
			if s, st := byKey[tallyKey{name, local.Standard}][k], byKey[tallyKey{name, local.Strict}][k]; st.Accepted > s.Accepted {
				t.Errorf("strict accepts more than standard: %s, %s", st, s)
			}
		}
		// 4 victims, 5 later sessions each in the excerpt.
		if l := byKey[tallyKey{AttackGenuine, local.Standard}][k]; l.Tried != 4*5 || l.Accepted == 0 {
			t.Errorf("%s: want 20 logins, some accepted", l)
		}
	}
}

func TestAttackPatterns(t *testing.T) {
	t.Parallel()
	// Medians of the other subjects' medians.
	ds := &Dataset{Keys: 2}
	for j, h := range []float64{100, 110, 120, 130} {
		s := Subject{ID: string(rune('a' + j))}
		for r := range 3 {
			s.Samples = append(s.Samples, Sample{Session: 1, Rep: r + 1, Features: []float64{h + float64(r), 80, 200, 200 - h}})
		}
		ds.Subjects = append(ds.Subjects, s)
	}
	if got := MedianPattern(ds, 0); got[0] != 121 || got[1] != 80 || got[2] != 200 {
		t.Errorf("median pattern without subject 0: %v, want [121 80 200]", got)
	}
	if got := NearConstantPattern(3, 83, 225, 3); len(got) != 5 || got[0] != 86 || got[1] != 80 || got[3] != 222 || got[4] != 228 {
		t.Errorf("near-constant pattern %v", got)
	}
	// Jitter stays within +-j per event: every timing within 2j, order kept.
	rng := rand.New(rand.NewPCG(1, 1))
	base := []int32{90, 5, 80, 120, 3}
	for range 200 {
		j := Jitter(base, 8, rng)
		for i := range base {
			if d := j[i] - base[i]; d > 16 || d < -16 || j[i] < 0 {
				t.Fatalf("jitter %v of %v", j, base)
			}
		}
		if j[1] < 1 {
			t.Fatalf("hold under 1 ms: %v", j)
		}
	}
	if got := Timings([]float64{90.4, 80.6, 200.5, 110.1}); len(got) != 3 || got[0] != 90 || got[1] != 81 || got[2] != 201 {
		t.Errorf("Timings = %v", got)
	}
}
