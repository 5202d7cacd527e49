package eval

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

// The research command line, `smsplus biometrics eval|prior`: the host only
// dispatches to Command.

// commandUsage is the help of `smsplus biometrics`.
const commandUsage = `Usage:
  smsplus biometrics eval --dataset FILE [--detectors LIST] [--workers N] [--diagnostics]
      Measure the typing-biometrics detectors on the CMU keystroke benchmark
      (DSL-StrongPasswordData.csv). Prints one line per protocol and detector:
      protocol=<paper|enroll5|enroll10> detector=<name> mean_eer= sd= zero_miss_far=
      then, when the local detector is selected, the local engine as it runs
      (thresholds, replay and machine checks, profile updates) against attacks,
      one line per attack, enrollment size (3, 5) and operating point:
      attack=<name> enroll=<n> operating_point=<standard|strict> accepted= count=
      (genuine: the first typing of each later session; zero-effort: other
      subjects' first typings; population-median; near-constant; replay-4ms,
      replay-8ms, replay-20ms: the last accepted pattern with that jitter).
      Timings go to stderr. --diagnostics then prints, for the local engine: the
      replay distances and rhythm spreads its replay limit and machine check are
      set from (replay_distance, rhythm_spread), its false-reject and
      false-accept rates at its own thresholds (operating_point=), over simulated
      runs of logins with and without profile updates (logins), and its EER
      against impostors its tables never saw (fold_check=).
  smsplus biometrics prior --dataset FILE
      Learn the local engine's built-in prior from the benchmark and print it as
      JSON (host/internal/biometrics/local/prior_cmu.json).
`

// cmuMD5 is the MD5 CMU publishes for DSL-StrongPasswordData.csv.
const cmuMD5 = "470235f96568f28f9ea0da62234ec857"

// UsageError is a wrong command line (exit 2 for smsplus).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usage(err error) error { return &UsageError{err} }

// Command runs `smsplus biometrics <eval|prior> [flags]` with args after
// "biometrics". A wrong command line is a *UsageError; --help is flag.ErrHelp.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, commandUsage)
		return usage(errors.New("missing subcommand (eval or prior)"))
	}
	switch args[0] {
	case "eval":
		return runEval(ctx, args[1:], stdout, stderr)
	case "prior":
		return runPrior(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, commandUsage)
		return nil
	}
	fmt.Fprint(stderr, commandUsage)
	return usage(fmt.Errorf("unknown subcommand %q", args[0]))
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stdout)
	dataset := fs.String("dataset", "", "the benchmark's CSV `file` (DSL-StrongPasswordData.csv)")
	names := fs.String("detectors", "all", "comma-separated detector `names`, or all")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "parallel `workers`")
	diagnostics := fs.Bool("diagnostics", false, "also print the local engine's error rates at its thresholds, over runs of logins, and per fold")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dataset == "" {
		return usage(errors.New("--dataset is required"))
	}
	detectors, err := SelectDetectors(*names)
	if err != nil {
		return usage(err)
	}
	ds, err := readDataset(*dataset, stderr)
	if err != nil {
		return err
	}
	start := time.Now()
	lines, err := Run(ctx, ds, Protocols, detectors, *workers)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	for _, l := range lines {
		fmt.Fprintln(stderr, l.Timing())
	}
	if hasLocal(detectors) {
		attackStart := time.Now()
		attacks, err := Attacks(ctx, ds, AttackEnrollments, *workers)
		if err != nil {
			return err
		}
		for _, a := range attacks {
			fmt.Fprintln(stdout, a)
		}
		fmt.Fprintf(stderr, "attacks: %s\n", time.Since(attackStart).Round(time.Millisecond))
	}
	if *diagnostics {
		dists, err := ReplayDistances(ctx, ds)
		if err != nil {
			return err
		}
		for _, d := range dists {
			fmt.Fprintln(stdout, d)
		}
		for _, l := range MeasureRhythmSpreads(ds).Lines() {
			fmt.Fprintln(stdout, l)
		}
		ops, err := OperatingPoints(ctx, ds, []Protocol{
			{Name: "enroll3", Train: 3}, Enroll5, Enroll10, Paper,
		})
		if err != nil {
			return err
		}
		for _, o := range ops {
			fmt.Fprintln(stdout, o)
		}
		for _, k := range []int{3, 5} {
			for _, updates := range []bool{false, true} {
				run, err := Logins(ctx, ds, k, updates)
				if err != nil {
					return err
				}
				fmt.Fprintln(stdout, run)
			}
		}
		checks, err := FoldChecks(ctx, ds, Protocols)
		if err != nil {
			return err
		}
		for _, c := range checks {
			fmt.Fprintln(stdout, c)
		}
	}
	fmt.Fprintf(stderr, "evaluated %d subjects in %s on %d workers\n", len(ds.Subjects), time.Since(start).Round(time.Millisecond), *workers)
	return nil
}

func hasLocal(detectors []Detector) bool {
	for _, d := range detectors {
		if d.Name() == "local" {
			return true
		}
	}
	return false
}

func runPrior(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("prior", stdout)
	dataset := fs.String("dataset", "", "the benchmark's CSV `file` (DSL-StrongPasswordData.csv)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dataset == "" {
		return usage(errors.New("--dataset is required"))
	}
	ds, err := readDataset(*dataset, stderr)
	if err != nil {
		return err
	}
	p, err := LearnPrior(ds)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	return enc.Encode(p)
}

// readDataset reads the benchmark and notes on stderr whether it is CMU's file.
func readDataset(path string, stderr io.Writer) (*Dataset, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := md5.Sum(raw)
	if got := hex.EncodeToString(sum[:]); got == cmuMD5 {
		fmt.Fprintf(stderr, "dataset %s: md5 %s matches CMU's published file\n", path, got)
	} else {
		fmt.Fprintf(stderr, "dataset %s: md5 %s is not CMU's (%s); a subset or another copy\n", path, got, cmuMD5)
	}
	ds, err := ReadCMU(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ds, nil
}

// newFlagSet returns the flags of `smsplus biometrics <name>`.
func newFlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("biometrics "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: smsplus biometrics %s [flags]\n\nFlags:\n", name)
		fs.PrintDefaults()
		fmt.Fprint(out, "\nExit codes: 0 ok, 1 failed, 2 usage.\n")
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usage(err)
	}
	return nil
}
