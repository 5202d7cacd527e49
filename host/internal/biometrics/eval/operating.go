package eval

import (
	"context"
	"fmt"
	"io"

	"github.com/smsplus/smsplus/host/internal/biometrics/local"
)

// OperatingPoint is how the local engine's own thresholds fare: the share of
// genuine test samples refused and of impostor samples accepted when a model of
// Train samples decides with its Accept threshold (pooled over subjects), and the
// share of genuine samples scoring at most Update (those that may update a
// profile).
type OperatingPoint struct {
	Protocol        Protocol
	FRR, FAR        float64
	UpdateShare     float64
	Genuine, Impost int
}

func (o OperatingPoint) String() string {
	return fmt.Sprintf("operating_point=%s detector=local frr=%.4f far=%.4f update_share=%.4f genuine=%d impostor=%d",
		o.Protocol.Name, o.FRR, o.FAR, o.UpdateShare, o.Genuine, o.Impost)
}

// OperatingPoints measures the local detector at its thresholds under each
// protocol, with tables learned per fold as in Run.
func OperatingPoints(ctx context.Context, ds *Dataset, protocols []Protocol) ([]OperatingPoint, error) {
	priors := make([]*local.Prior, Folds)
	for f := range Folds {
		p, err := local.LearnPrior(population(ds, f), local.LearnOptions{Samples: local.TableSizes})
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f, err)
		}
		priors[f] = p
	}
	var out []OperatingPoint
	for _, p := range protocols {
		o := OperatingPoint{Protocol: p}
		var rejected, accepted, updates int
		for i := range ds.Subjects {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			sp, err := p.SplitFor(ds, i)
			if err != nil {
				return nil, err
			}
			m := priors[fold(i)].Fit(sp.Train)
			for _, x := range sp.Genuine {
				s := m.Score(x)
				if s > m.Accept() {
					rejected++
				}
				if s <= m.Update() {
					updates++
				}
			}
			for _, x := range sp.Impostor {
				if m.Score(x) <= m.Accept() {
					accepted++
				}
			}
			o.Genuine += len(sp.Genuine)
			o.Impost += len(sp.Impostor)
		}
		o.FRR = float64(rejected) / float64(o.Genuine)
		o.FAR = float64(accepted) / float64(o.Impost)
		o.UpdateShare = float64(updates) / float64(o.Genuine)
		out = append(out, o)
	}
	return out, nil
}

// PrintOperatingPoints writes one line per protocol.
func PrintOperatingPoints(w io.Writer, ops []OperatingPoint) error {
	for _, o := range ops {
		if _, err := fmt.Fprintln(w, o); err != nil {
			return err
		}
	}
	return nil
}

// LoginRun is the local engine's decisions over a simulated run of logins with
// profile updates (local.Prior.Decide, as the engine uses it): each subject
// enrolls with their first Enroll repetitions, then logs in with the first
// LoginReps repetitions of each of sessions 2-8, in order; an attempt the
// detector says to keep joins the recent samples (at most local.MaxRecent). Before
// each session the impostor samples (as in the protocols) are tried against the
// profile as it stands; they never change it. Tables are learned per fold as in
// Run.
type LoginRun struct {
	Enroll  int
	Updates bool
	// FRR over all logins; FAR over all sessions' impostor tries, and in the last
	// session alone.
	FRR, FAR, LastFAR float64
	// ImpostorKeep is the share of impostor tries the detector would have kept.
	ImpostorKeep float64
	Logins       int
}

// LoginReps is how many repetitions of each later session a simulated user logs
// in with.
const LoginReps = 5

func (r LoginRun) String() string {
	return fmt.Sprintf("logins enroll=%d updates=%t detector=local frr=%.4f far=%.4f far_last_session=%.4f impostor_keep=%.4f logins=%d",
		r.Enroll, r.Updates, r.FRR, r.FAR, r.LastFAR, r.ImpostorKeep, r.Logins)
}

// Logins simulates runs of logins for every subject.
func Logins(ctx context.Context, ds *Dataset, enroll int, updates bool) (LoginRun, error) {
	run := LoginRun{Enroll: enroll, Updates: updates}
	priors := make([]*local.Prior, Folds)
	for f := range Folds {
		p, err := local.LearnPrior(population(ds, f), local.LearnOptions{Samples: local.TableSizes})
		if err != nil {
			return run, fmt.Errorf("fold %d: %w", f, err)
		}
		priors[f] = p
	}
	var rejected, accepted, kept, tried, lastAccepted, lastTried int
	for i, s := range ds.Subjects {
		if err := ctx.Err(); err != nil {
			return run, err
		}
		p := priors[fold(i)]
		sp, err := Protocol{Train: enroll}.SplitFor(ds, i)
		if err != nil {
			return run, err
		}
		enrolled := sp.Train
		var recent [][]float64
		for sess := 2; sess <= Sessions; sess++ {
			for _, x := range sp.Impostor {
				d := p.Decide(enrolled, recent, x, local.Standard)
				if d.Match {
					accepted++
					if sess == Sessions {
						lastAccepted++
					}
				}
				if d.Keep {
					kept++
				}
				tried++
				if sess == Sessions {
					lastTried++
				}
			}
			for _, smp := range s.Samples {
				if smp.Session != sess || smp.Rep > LoginReps {
					continue
				}
				d := p.Decide(enrolled, recent, smp.Features, local.Standard)
				if !d.Match {
					rejected++
				}
				run.Logins++
				if updates && d.Keep {
					recent = append(recent, smp.Features)
					if len(recent) > local.MaxRecent {
						recent = recent[1:]
					}
				}
			}
		}
	}
	run.FRR = float64(rejected) / float64(run.Logins)
	run.FAR = float64(accepted) / float64(tried)
	run.LastFAR = float64(lastAccepted) / float64(lastTried)
	run.ImpostorKeep = float64(kept) / float64(tried)
	return run, nil
}

// FoldCheck compares, for the local detector, the mean EER against impostors of
// the subject's own fold (whose samples the tables never saw) with that against
// impostors of the other fold (whose untested samples the tables were learned
// from). Close figures say the tables learned typing in general, not the
// impostors.
type FoldCheck struct {
	Protocol           Protocol
	UnseenEER, SeenEER float64
	UnseenImp, SeenImp int // impostor samples per subject, summed
}

func (c FoldCheck) String() string {
	return fmt.Sprintf("fold_check=%s detector=local mean_eer_unseen_impostors=%.4f mean_eer_seen_impostors=%.4f",
		c.Protocol.Name, c.UnseenEER, c.SeenEER)
}

// FoldChecks runs FoldCheck under each protocol.
func FoldChecks(ctx context.Context, ds *Dataset, protocols []Protocol) ([]FoldCheck, error) {
	priors := make([]*local.Prior, Folds)
	for f := range Folds {
		p, err := local.LearnPrior(population(ds, f), local.LearnOptions{Samples: local.TableSizes})
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f, err)
		}
		priors[f] = p
	}
	var out []FoldCheck
	for _, p := range protocols {
		c := FoldCheck{Protocol: p}
		var unseen, seen []float64
		for i := range ds.Subjects {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			sp, err := p.SplitFor(ds, i)
			if err != nil {
				return nil, err
			}
			m := priors[fold(i)].Fit(sp.Train)
			var g, same, other []float64
			for _, x := range sp.Genuine {
				g = append(g, m.Score(x))
			}
			for j, o := range ds.Subjects {
				if j == i {
					continue
				}
				for _, smp := range o.Samples {
					if smp.Session != 1 || smp.Rep > ImpostorReps {
						continue
					}
					if fold(j) == fold(i) {
						same = append(same, m.Score(smp.Features))
					} else {
						other = append(other, m.Score(smp.Features))
					}
				}
			}
			c.UnseenImp += len(same)
			c.SeenImp += len(other)
			if len(same) > 0 {
				unseen = append(unseen, EER(g, same))
			}
			if len(other) > 0 {
				seen = append(seen, EER(g, other))
			}
		}
		c.UnseenEER, _ = meanSD(unseen)
		c.SeenEER, _ = meanSD(seen)
		out = append(out, c)
	}
	return out, nil
}
