package eval

import "github.com/smsplus/smsplus/host/internal/biometrics/local"

// Local is the local engine's detector (local.Prior.Fit). Its likelihood-ratio
// tables and thresholds are learned from a population: in the evaluation, from
// the other fold's subjects only (see population); in the engine, from the whole
// benchmark (local.DefaultPrior).
type Local struct {
	prior *local.Prior
}

func (Local) Name() string { return "local" }

// Fit needs a population first; without one it uses the engine's built-in prior,
// which was learned from every subject of the benchmark and so must not be used
// to measure on it. Run always calls WithPopulation.
func (d Local) Fit(train [][]float64) Scorer {
	p := d.prior
	if p == nil {
		p = local.DefaultPrior()
	}
	m := p.Fit(train)
	return m.Score
}

// WithPopulation learns the tables from the typists, as LearnPrior does.
func (Local) WithPopulation(typists []local.Typist) (Detector, error) {
	p, err := local.LearnPrior(typists, local.LearnOptions{Samples: local.TableSizes})
	if err != nil {
		return nil, err
	}
	return Local{prior: p}, nil
}
