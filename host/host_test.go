package host

import (
	"bytes"
	"strings"
	"testing"
)

// Every command answers --help with its synopsis and the exit codes, and a
// wrong command line exits 2.
func TestCommandHelp(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"serve", "simulate", "check-config", "plugins", "healthcheck", "version"} {
		var out, errOut bytes.Buffer
		code := Main(t.Context(), []string{cmd, "--help"}, nil, &out, &errOut)
		help := out.String() + errOut.String()
		if code != ExitOK || !strings.Contains(help, "Usage: smsplus "+cmd) || !strings.Contains(help, "Exit codes:") {
			t.Errorf("smsplus %s --help: exit %d\n%s", cmd, code, help)
		}
	}
	for _, args := range [][]string{{"biometrics", "eval", "--help"}, {"biometrics", "help"}, {"help"}, {"--help"}} {
		var out, errOut bytes.Buffer
		if code := Main(t.Context(), args, nil, &out, &errOut); code != ExitOK || !strings.Contains(out.String(), "Usage") {
			t.Errorf("smsplus %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"no command":               nil,
		"unknown command":          {"serv"},
		"unknown flag":             {"check-config", "--nope"},
		"simulate without bridge":  {"simulate"},
		"simulate without phone":   {"simulate", "okta"},
		"healthcheck argument":     {"healthcheck", "extra"},
		"biometrics no subcommand": {"biometrics"},
		"biometrics no dataset":    {"biometrics", "eval"},
	} {
		var out, errOut bytes.Buffer
		if code := Main(t.Context(), args, nil, &out, &errOut); code != ExitUsage {
			t.Errorf("%s: exit %d, want %d\n%s", name, code, ExitUsage, errOut.String())
		}
	}
}

// `smsplus biometrics` hands over to the engine's evaluation code: a run on the
// benchmark's excerpt prints its lines, a failed one exits 1.
func TestBiometricsCommand(t *testing.T) {
	t.Parallel()
	const subset = "internal/biometrics/eval/testdata/cmu_subset.csv"
	var out, errOut bytes.Buffer
	code := Main(t.Context(), []string{"biometrics", "eval", "--dataset", subset, "--detectors", "manhattan"}, nil, &out, &errOut)
	if code != ExitOK || !strings.Contains(out.String(), "protocol=paper detector=manhattan ") {
		t.Errorf("biometrics eval: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := Main(t.Context(), []string{"biometrics", "prior", "--dataset", "no-such.csv"}, nil, &out, &errOut); code != ExitFailed {
		t.Errorf("biometrics prior of a missing file: exit %d, want %d\n%s", code, ExitFailed, errOut.String())
	}
}
