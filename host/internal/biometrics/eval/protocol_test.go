package eval

import (
	"context"
	"os"
	"strings"
	"testing"
)

func readSubset(t *testing.T) *Dataset {
	t.Helper()
	f, err := os.Open("testdata/cmu_subset.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ds, err := ReadCMU(f)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// key identifies a sample by session and rep, to say which rows a split holds.
type key struct{ session, rep int }

func keysOf(t *testing.T, s Subject, xs [][]float64) []key {
	t.Helper()
	var out []key
	for _, x := range xs {
		found := false
		for _, smp := range s.Samples {
			if &smp.Features[0] == &x[0] {
				out = append(out, key{smp.Session, smp.Rep})
				found = true
			}
		}
		if !found {
			t.Fatalf("a sample of the split is not one of subject %s's", s.ID)
		}
	}
	return out
}

func reps(session, from, to int) []key {
	var out []key
	for r := from; r <= to; r++ {
		out = append(out, key{session, r})
	}
	return out
}

func concat(parts ...[]key) []key {
	var out []key
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func equalKeys(a, b []key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadCMUSubset(t *testing.T) {
	t.Parallel()
	ds := readSubset(t)
	if ds.Keys != 11 || len(ds.Subjects) != 4 {
		t.Fatalf("%d keys, %d subjects; want 11, 4", ds.Keys, len(ds.Subjects))
	}
	for i, id := range []string{"s002", "s003", "s004", "s005"} {
		if s := ds.Subjects[i]; s.ID != id || len(s.Samples) != 25 {
			t.Errorf("subject %d: %s with %d samples, want %s with 25", i, s.ID, len(s.Samples), id)
		}
	}
	// s002 session 1 rep 1: H.period 0.1491, DD.period.t 0.3979, UD.period.t 0.2488,
	// ..., H.Return 0.0742, in ms and in the engine's order.
	x := ds.Subjects[0].Samples[0].Features
	want := map[int]float64{0: 149.1, 1: 106.9, 10: 74.2, 11: 397.9, 20: 350.9, 21: 248.8, 30: 217.1}
	for i, v := range want {
		if d := x[i] - v; d > 1e-9 || d < -1e-9 {
			t.Errorf("feature %d = %v, want %v", i, x[i], v)
		}
	}
	if len(x) != 31 {
		t.Errorf("%d features, want 31", len(x))
	}
}

func TestReadCMURejects(t *testing.T) {
	t.Parallel()
	head := "subject,sessionIndex,rep,H.a,DD.a.b,UD.a.b,H.b\r\n"
	tests := map[string]string{
		"empty":             "",
		"other columns":     "subject,session,rep,H.a\r\n",
		"broken chain":      "subject,sessionIndex,rep,H.a,DD.a.c,UD.a.c,H.b\r\n",
		"UD not DD - H":     head + "s1,1,1,0.1,0.3,0.1,0.1\r\n",
		"session 9":         head + "s1,9,1,0.1,0.3,0.2,0.1\r\n",
		"rep 0":             head + "s1,1,0,0.1,0.3,0.2,0.1\r\n",
		"not a number":      head + "s1,1,1,x,0.3,0.2,0.1\r\n",
		"repeated row":      head + "s1,1,1,0.1,0.3,0.2,0.1\r\ns1,1,1,0.1,0.3,0.2,0.1\r\n",
		"out of order":      head + "s1,1,2,0.1,0.3,0.2,0.1\r\ns1,1,1,0.1,0.3,0.2,0.1\r\n",
		"short row":         head + "s1,1,1,0.1,0.3\r\n",
		"header but no row": head,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if ds, err := ReadCMU(strings.NewReader(in)); err == nil {
				t.Errorf("ReadCMU accepted it: %+v", ds)
			}
		})
	}
}

// TestProtocolSplits checks which rows train and test under each protocol, on the
// subset whose rows are known (testdata/README.md).
func TestProtocolSplits(t *testing.T) {
	t.Parallel()
	ds := readSubset(t)
	genuine := concat(reps(5, 1, 3), reps(8, 48, 50))
	tests := map[string]struct {
		p     Protocol
		train []key
	}{
		// Repetitions 1-200 are sessions 1-4: every subset row of those sessions.
		"paper":    {Paper, concat(reps(1, 1, 12), reps(2, 1, 2), reps(3, 1, 2), reps(4, 1, 3))},
		"enroll5":  {Enroll5, reps(1, 1, 5)},
		"enroll10": {Enroll10, reps(1, 1, 10)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for i, s := range ds.Subjects {
				sp, err := tc.p.SplitFor(ds, i)
				if err != nil {
					t.Fatal(err)
				}
				if got := keysOf(t, s, sp.Train); !equalKeys(got, tc.train) {
					t.Errorf("%s trains on %v, want %v", s.ID, got, tc.train)
				}
				if got := keysOf(t, s, sp.Genuine); !equalKeys(got, genuine) {
					t.Errorf("%s genuine tests %v, want %v", s.ID, got, genuine)
				}
				// Impostors: reps 1-5 of session 1 of each of the 3 other subjects.
				if len(sp.Impostor) != 3*ImpostorReps {
					t.Errorf("%s: %d impostor samples, want %d", s.ID, len(sp.Impostor), 3*ImpostorReps)
				}
				n := 0
				for j, o := range ds.Subjects {
					if j == i {
						for _, x := range sp.Impostor {
							for _, smp := range o.Samples {
								if &smp.Features[0] == &x[0] {
									t.Errorf("%s is its own impostor", s.ID)
								}
							}
						}
						continue
					}
					got := keysOf(t, o, sp.Impostor[n:n+ImpostorReps])
					if want := reps(1, 1, 5); !equalKeys(got, want) {
						t.Errorf("%s: impostor samples of %s are %v, want %v", s.ID, o.ID, got, want)
					}
					n += ImpostorReps
				}
			}
		})
	}
}

func TestProtocolRefusesTrainingOnTestSessions(t *testing.T) {
	t.Parallel()
	ds := readSubset(t)
	for _, train := range []int{0, 201, 400} {
		if _, err := (Protocol{Name: "bad", Train: train}).SplitFor(ds, 0); err == nil {
			t.Errorf("Train=%d accepted", train)
		}
	}
}

// TestPopulationExcludesTestSamples: what a population detector learns from, when
// evaluated on one fold, holds only the other fold's subjects and none of the
// samples any protocol tests.
func TestPopulationExcludesTestSamples(t *testing.T) {
	t.Parallel()
	ds := readSubset(t)
	for f := range Folds {
		pop := population(ds, f)
		var want []Subject
		for i, s := range ds.Subjects {
			if fold(i) != f {
				want = append(want, s)
			}
		}
		if len(pop) != len(want) {
			t.Fatalf("fold %d: %d typists, want %d", f, len(pop), len(want))
		}
		for i, ty := range pop {
			s := want[i]
			early := keysOf(t, s, ty.Early)
			later := keysOf(t, s, ty.Later)
			if w := concat(reps(1, 6, 12), reps(2, 1, 2)); !equalKeys(early, w) {
				t.Errorf("fold %d, %s: early %v, want %v", f, s.ID, early, w)
			}
			if w := reps(4, 1, 3); !equalKeys(later, w) {
				t.Errorf("fold %d, %s: later %v, want %v", f, s.ID, later, w)
			}
		}
	}
}

// TestRunOnSubset runs every detector under every protocol on the subset: one
// line each, in order, with rates in range, and the Local detector learning its
// tables from the other fold only.
func TestRunOnSubset(t *testing.T) {
	t.Parallel()
	ds := readSubset(t)
	detectors := Detectors()
	lines, err := Run(context.Background(), ds, Protocols, detectors, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != len(Protocols)*len(detectors) {
		t.Fatalf("%d lines, want %d", len(lines), len(Protocols)*len(detectors))
	}
	for i, l := range lines {
		p, d := Protocols[i/len(detectors)], detectors[i%len(detectors)]
		if l.Protocol != p.Name || l.Detector != d.Name() {
			t.Errorf("line %d is %s/%s, want %s/%s", i, l.Protocol, l.Detector, p.Name, d.Name())
		}
		if l.Subjects != 4 || len(l.PerSubjectEER) != 4 || l.Scored != 4*(6+15) {
			t.Errorf("%s: %d subjects, %d scored; want 4 and %d", l, l.Subjects, l.Scored, 4*(6+15))
		}
		for _, v := range append([]float64{l.MeanEER, l.SD, l.ZeroMissFAR}, l.PerSubjectEER...) {
			if !(v >= 0 && v <= 1) {
				t.Errorf("%s: rate %v out of [0, 1]", l, v)
			}
		}
		want := "protocol=" + p.Name + " detector=" + d.Name() + " mean_eer=0."
		if s := l.String(); !strings.HasPrefix(s, want) || strings.Count(s, "=") != 5 {
			t.Errorf("line %q, want %q...", s, want)
		}
	}
}

func TestRunCancelled(t *testing.T) {
	t.Parallel()
	ds := readSubset(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, ds, Protocols, Detectors(), 2); err == nil {
		t.Error("Run ignored a cancelled context")
	}
}
