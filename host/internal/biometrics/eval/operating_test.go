package eval

import (
	"context"
	"strings"
	"testing"
)

func TestOperatingPointsOnSubset(t *testing.T) {
	t.Parallel()
	ds := readSubset(t)
	ops, err := OperatingPoints(context.Background(), ds, []Protocol{Enroll5, Paper})
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 2 {
		t.Fatalf("%d operating points", len(ops))
	}
	for _, o := range ops {
		// 4 subjects, 6 genuine and 15 impostor samples each.
		if o.Genuine != 24 || o.Impost != 60 {
			t.Errorf("%s: %d genuine, %d impostor; want 24, 60", o, o.Genuine, o.Impost)
		}
		for _, v := range []float64{o.FRR, o.FAR, o.UpdateShare} {
			if v < 0 || v > 1 {
				t.Errorf("%s: rate %v", o, v)
			}
		}
		if !strings.HasPrefix(o.String(), "operating_point="+o.Protocol.Name+" detector=local frr=") {
			t.Errorf("line %q", o)
		}
	}
}

func TestLoginsOnSubset(t *testing.T) {
	t.Parallel()
	ds := readSubset(t)
	for _, updates := range []bool{false, true} {
		run, err := Logins(context.Background(), ds, 3, updates)
		if err != nil {
			t.Fatal(err)
		}
		// Logins: reps 1-5 of sessions 2-8 present in the subset: 2+2+3+3 per subject.
		if run.Logins != 4*10 {
			t.Errorf("updates=%t: %d logins, want 40", updates, run.Logins)
		}
		for _, v := range []float64{run.FRR, run.FAR, run.LastFAR, run.ImpostorKeep} {
			if v < 0 || v > 1 {
				t.Errorf("%s: rate %v", run, v)
			}
		}
	}
}

func TestFoldChecksOnSubset(t *testing.T) {
	t.Parallel()
	ds := readSubset(t)
	checks, err := FoldChecks(context.Background(), ds, []Protocol{Enroll5})
	if err != nil {
		t.Fatal(err)
	}
	// Folds by position: s002, s004 | s003, s005. Each subject has one other
	// subject in its fold and two in the other, 5 impostor samples each.
	c := checks[0]
	if c.UnseenImp != 4*5 || c.SeenImp != 4*10 {
		t.Errorf("impostor samples: %d unseen, %d seen; want 20, 40", c.UnseenImp, c.SeenImp)
	}
	if c.UnseenEER < 0 || c.UnseenEER > 1 || c.SeenEER < 0 || c.SeenEER > 1 {
		t.Errorf("%s", c)
	}
}
