package host

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics/eval"
)

const biometricsUsage = `Usage:
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

func runBiometrics(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, biometricsUsage)
		return usageError{errors.New("missing subcommand (eval or prior)")}
	}
	switch args[0] {
	case "eval":
		return runBiometricsEval(ctx, args[1:], stdout, stderr)
	case "prior":
		return runBiometricsPrior(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, biometricsUsage)
		return nil
	}
	fmt.Fprint(stderr, biometricsUsage)
	return usageError{fmt.Errorf("unknown subcommand %q", args[0])}
}

func runBiometricsEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("biometrics eval", stdout)
	dataset := fs.String("dataset", "", "the benchmark's CSV `file` (DSL-StrongPasswordData.csv)")
	names := fs.String("detectors", "all", "comma-separated detector `names`, or all")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "parallel `workers`")
	diagnostics := fs.Bool("diagnostics", false, "also print the local engine's error rates at its thresholds, over runs of logins, and per fold")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dataset == "" {
		return usageError{errors.New("--dataset is required")}
	}
	detectors, err := eval.SelectDetectors(*names)
	if err != nil {
		return usageError{err}
	}
	ds, err := readDataset(*dataset, stderr)
	if err != nil {
		return err
	}
	start := time.Now()
	lines, err := eval.Run(ctx, ds, eval.Protocols, detectors, *workers)
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
		attacks, err := eval.Attacks(ctx, ds, eval.AttackEnrollments, *workers)
		if err != nil {
			return err
		}
		for _, a := range attacks {
			fmt.Fprintln(stdout, a)
		}
		fmt.Fprintf(stderr, "attacks: %s\n", time.Since(attackStart).Round(time.Millisecond))
	}
	if *diagnostics {
		dists, err := eval.ReplayDistances(ctx, ds)
		if err != nil {
			return err
		}
		for _, d := range dists {
			fmt.Fprintln(stdout, d)
		}
		for _, l := range eval.MeasureRhythmSpreads(ds).Lines() {
			fmt.Fprintln(stdout, l)
		}
		ops, err := eval.OperatingPoints(ctx, ds, []eval.Protocol{
			{Name: "enroll3", Train: 3}, eval.Enroll5, eval.Enroll10, eval.Paper,
		})
		if err != nil {
			return err
		}
		for _, o := range ops {
			fmt.Fprintln(stdout, o)
		}
		for _, k := range []int{3, 5} {
			for _, updates := range []bool{false, true} {
				run, err := eval.Logins(ctx, ds, k, updates)
				if err != nil {
					return err
				}
				fmt.Fprintln(stdout, run)
			}
		}
		checks, err := eval.FoldChecks(ctx, ds, eval.Protocols)
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

func hasLocal(detectors []eval.Detector) bool {
	for _, d := range detectors {
		if d.Name() == "local" {
			return true
		}
	}
	return false
}

func runBiometricsPrior(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("biometrics prior", stdout)
	dataset := fs.String("dataset", "", "the benchmark's CSV `file` (DSL-StrongPasswordData.csv)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dataset == "" {
		return usageError{errors.New("--dataset is required")}
	}
	ds, err := readDataset(*dataset, stderr)
	if err != nil {
		return err
	}
	p, err := eval.LearnPrior(ds)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	return enc.Encode(p)
}

// readDataset reads the benchmark and notes on stderr whether it is CMU's file.
func readDataset(path string, stderr io.Writer) (*eval.Dataset, error) {
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
	ds, err := eval.ReadCMU(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ds, nil
}
