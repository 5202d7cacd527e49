package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
)

const cmuSubset = "testdata/cmu_subset.csv"

func TestEvalCommand(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := Command(context.Background(), []string{"eval", "--dataset", cmuSubset, "--workers", "2"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v, stderr:\n%s", err, stderr.String())
	}
	line := regexp.MustCompile(`^protocol=(paper|enroll5|enroll10) detector=([a-z-]+) mean_eer=[01]\.\d{4} sd=[01]\.\d{4} zero_miss_far=[01]\.\d{4}$`)
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3*7+28 {
		t.Fatalf("%d lines, want 21 protocol and 28 attack lines:\n%s", len(lines), stdout.String())
	}
	seen := map[string]bool{}
	for _, l := range lines[:21] {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %q does not have the format", l)
			continue
		}
		seen[m[1]+"/"+m[2]] = true
	}
	checkAttackLines(t, lines[21:])
	for _, p := range []string{"paper", "enroll5", "enroll10"} {
		for _, d := range []string{"scaled-manhattan", "nn-mahalanobis", "outlier-count", "mahalanobis", "manhattan", "euclidean", "local"} {
			if !seen[p+"/"+d] {
				t.Errorf("no line for protocol %s, detector %s", p, d)
			}
		}
	}
	if !strings.Contains(stderr.String(), "is not CMU's") || !strings.Contains(stderr.String(), "verify_us=") {
		t.Errorf("stderr lacks the dataset note or the timings:\n%s", stderr.String())
	}
}

// checkAttackLines checks the attack lines: one per attack, enrollment size
// and operating point, and none of the near-constant and +-4/+-8 ms replay
// attempts accepted on the excerpt (the engine's checks refuse them all).
func checkAttackLines(t *testing.T, lines []string) {
	t.Helper()
	attack := regexp.MustCompile(`^attack=([a-z0-9-]+) enroll=(3|5) operating_point=(standard|strict) accepted=([01]\.\d{4}) count=(\d+)/(\d+)$`)
	seen := map[string]bool{}
	for _, l := range lines {
		m := attack.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %q is not an attack line", l)
			continue
		}
		seen[m[1]+"/"+m[2]+"/"+m[3]] = true
		if m[6] == "0" {
			t.Errorf("%q: no attempts", l)
		}
		switch m[1] {
		case "near-constant", "replay-4ms", "replay-8ms":
			if m[5] != "0" {
				t.Errorf("%q: want none accepted", l)
			}
		}
	}
	for _, a := range []string{"genuine", "zero-effort", "population-median", "near-constant", "replay-4ms", "replay-8ms", "replay-20ms"} {
		for _, k := range []string{"3", "5"} {
			for _, op := range []string{"standard", "strict"} {
				if !seen[a+"/"+k+"/"+op] {
					t.Errorf("no line for attack %s, enroll %s, %s", a, k, op)
				}
			}
		}
	}
}

func TestEvalCommandDiagnostics(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := Command(context.Background(), []string{"eval", "--dataset", cmuSubset, "--detectors", "local", "--diagnostics"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v, stderr:\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"protocol=paper detector=local ", "attack=replay-20ms enroll=5 operating_point=strict ",
		"replay_distance pairs=different-days ", "replay_distance pairs=replay-8ms ", "rhythm_spread patterns=genuine ",
		"rhythm_spread patterns=near-constant-3ms value=", "operating_point=enroll3 detector=local frr=", "logins enroll=3 updates=true", "fold_check=enroll5 detector=local"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "protocol="); n != 3 {
		t.Errorf("%d protocol lines for one detector, want 3", n)
	}
	if n := strings.Count(out, "attack="); n != 28 {
		t.Errorf("%d attack lines, want 28", n)
	}
}

func TestPriorCommand(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := Command(context.Background(), []string{"prior", "--dataset", cmuSubset}, &stdout, &stderr); err != nil {
		t.Fatalf("%v, stderr:\n%s", err, stderr.String())
	}
	var p struct {
		Tables []struct {
			Samples int         `json:"samples"`
			LLR     [][]float64 `json:"llr"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &p); err != nil || len(p.Tables) == 0 || len(p.Tables[0].LLR) != 3 {
		t.Fatalf("prior %.200s: %v", stdout.String(), err)
	}
}

// A wrong command line is a *UsageError (smsplus exits 2), a failed run any
// other error (exit 1).
func TestCommandUsage(t *testing.T) {
	t.Parallel()
	const ok, usage, failed = "ok", "usage", "failed"
	tests := map[string]struct {
		args []string
		want string
	}{
		"no subcommand":      {nil, usage},
		"unknown subcommand": {[]string{"train"}, usage},
		"no dataset":         {[]string{"eval"}, usage},
		"unknown detector":   {[]string{"eval", "--dataset", cmuSubset, "--detectors", "svm"}, usage},
		"unknown flag":       {[]string{"prior", "--dataset", cmuSubset, "--nope"}, usage},
		"baselines only":     {[]string{"eval", "--dataset", cmuSubset, "--detectors", "manhattan"}, ok},
		"missing file":       {[]string{"eval", "--dataset", "testdata/none.csv"}, failed},
		"not the benchmark":  {[]string{"eval", "--dataset", "cli.go"}, failed},
		"help":               {[]string{"help"}, ok},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := Command(context.Background(), tc.args, &stdout, &stderr)
			got := failed
			if ue := (*UsageError)(nil); err == nil {
				got = ok
			} else if errors.As(err, &ue) {
				got = usage
			}
			if got != tc.want {
				t.Errorf("%v: %s, want %s; stderr:\n%s", err, got, tc.want, stderr.String())
			}
		})
	}
}
