package eval

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics/local"
)

// Scorer scores a sample: higher means less like the genuine user.
type Scorer func(x []float64) float64

// Detector is a one-class anomaly detector: it sees only the genuine user's
// training samples.
type Detector interface {
	Name() string
	Fit(train [][]float64) Scorer
}

// PopulationDetector is a detector that first learns from a population of other
// typists. The evaluation hands it only the subjects of the other fold, and only
// their samples that no protocol ever tests (see population), so nothing it
// learns comes from the subject being evaluated or from a sample it is tested on.
type PopulationDetector interface {
	Detector
	WithPopulation(typists []local.Typist) (Detector, error)
}

// Folds is how many folds of subjects population detectors are evaluated in.
const Folds = 2

// fold assigns subjects to folds by position in the file.
func fold(i int) int { return i % Folds }

// population returns the typists a population detector may learn from when it
// is evaluated on the subjects of fold f: the subjects outside fold f, with only
// samples that no protocol ever tests (sessions 5-8 are genuine tests and the
// first ImpostorReps repetitions of session 1 are impostor tests). Their early
// samples are the rest of session 1 and session 2; their later samples, typed
// days after, are session 4. (Session 3 is left out so that early and later are
// at least a session apart.) With f = -1 it returns every subject that way (LearnPrior).
func population(ds *Dataset, f int) []local.Typist {
	var out []local.Typist
	for i, s := range ds.Subjects {
		if fold(i) == f {
			continue
		}
		var t local.Typist
		for _, smp := range s.Samples {
			switch {
			case testSample(smp):
			case smp.Session <= 2:
				t.Early = append(t.Early, smp.Features)
			case smp.Session == 4:
				t.Later = append(t.Later, smp.Features)
			}
		}
		out = append(out, t)
	}
	return out
}

// testSample reports whether some protocol tests the sample.
func testSample(s Sample) bool {
	return s.Session >= firstTestSession || (s.Session == 1 && s.Rep <= ImpostorReps)
}

// Line is one protocol's result for one detector.
type Line struct {
	Protocol, Detector string
	MeanEER, SD        float64
	ZeroMissFAR        float64 // mean over subjects
	Subjects           int
	PerSubjectEER      []float64
	// Timing, summed over workers: FitTime trains the Subjects models, ScoreTime
	// scores the Scored test samples.
	FitTime, ScoreTime time.Duration
	Scored             int
}

// String is the line `smsplus biometrics eval` prints.
func (l Line) String() string {
	return fmt.Sprintf("protocol=%s detector=%s mean_eer=%.4f sd=%.4f zero_miss_far=%.4f",
		l.Protocol, l.Detector, l.MeanEER, l.SD, l.ZeroMissFAR)
}

// Run evaluates every detector under every protocol, on workers goroutines
// (0 = GOMAXPROCS). Lines come in protocol order, then detector order.
func Run(ctx context.Context, ds *Dataset, protocols []Protocol, detectors []Detector, workers int) ([]Line, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Population detectors, once per fold.
	perFold := make([][]Detector, Folds)
	for f := range Folds {
		var pop []local.Typist
		for _, d := range detectors {
			if pd, ok := d.(PopulationDetector); ok {
				if pop == nil {
					pop = population(ds, f)
				}
				var err error
				if d, err = pd.WithPopulation(pop); err != nil {
					return nil, fmt.Errorf("%s, fold %d: %w", pd.Name(), f, err)
				}
			}
			perFold[f] = append(perFold[f], d)
		}
	}
	type job struct{ p, d, s int }
	type result struct {
		eer, zm    float64
		n          int
		fit, score time.Duration
		err        error
	}
	nS := len(ds.Subjects)
	results := make([]result, len(protocols)*len(detectors)*nS)
	at := func(j job) *result { return &results[(j.p*len(detectors)+j.d)*nS+j.s] }
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				r := at(j)
				sp, err := protocols[j.p].SplitFor(ds, j.s)
				if err != nil {
					r.err = err
					continue
				}
				start := time.Now()
				score := perFold[fold(j.s)][j.d].Fit(sp.Train)
				r.fit = time.Since(start)
				start = time.Now()
				gen := make([]float64, len(sp.Genuine))
				for i, x := range sp.Genuine {
					gen[i] = score(x)
				}
				imp := make([]float64, len(sp.Impostor))
				for i, x := range sp.Impostor {
					imp[i] = score(x)
				}
				r.score = time.Since(start)
				r.n = len(gen) + len(imp)
				r.eer, r.zm = EER(gen, imp), ZeroMissFAR(gen, imp)
			}
		})
	}
feed:
	for p := range protocols {
		for d := range detectors {
			for s := range nS {
				select {
				case jobs <- job{p, d, s}:
				case <-ctx.Done():
					break feed
				}
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var lines []Line
	for p := range protocols {
		for d := range detectors {
			l := Line{Protocol: protocols[p].Name, Detector: detectors[d].Name(), Subjects: nS}
			var zm []float64
			for s := range nS {
				r := at(job{p, d, s})
				if r.err != nil {
					return nil, r.err
				}
				l.PerSubjectEER = append(l.PerSubjectEER, r.eer)
				zm = append(zm, r.zm)
				l.Scored += r.n
				l.FitTime += r.fit
				l.ScoreTime += r.score
			}
			l.MeanEER, l.SD = meanSD(l.PerSubjectEER)
			l.ZeroMissFAR, _ = meanSD(zm)
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// Timing is the line's timing summary: microseconds to fit one model and to
// score one sample. A verification fits the user's model and scores one sample.
func (l Line) Timing() string {
	us := func(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(max(n, 1)) }
	return fmt.Sprintf("protocol=%s detector=%s fit_us=%.1f score_us=%.2f verify_us=%.1f",
		l.Protocol, l.Detector, us(l.FitTime, l.Subjects), us(l.ScoreTime, l.Scored),
		us(l.FitTime, l.Subjects)+us(l.ScoreTime, l.Scored))
}
