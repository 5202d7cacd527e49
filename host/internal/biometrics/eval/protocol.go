package eval

import "fmt"

// Protocol says which samples train a genuine user's model and which test it.
// Every protocol tests the same way, as in the paper: the genuine samples are the
// subject's sessions 5-8 (its last 200 repetitions) and the impostor samples are
// the first ImpostorReps repetitions of session 1 of every other subject.
type Protocol struct {
	Name string
	// Train: the subject's repetitions 1..Train, counted across sessions in the
	// order typed (session s, rep r is repetition 50(s-1)+r), train the model: 200
	// (sessions 1-4) in the paper, a few for an enrollment. On a subset of the
	// file the training set is the rows among them.
	Train int
}

// The protocols `smsplus biometrics eval` reports.
var (
	Paper    = Protocol{Name: "paper", Train: 200}
	Enroll5  = Protocol{Name: "enroll5", Train: 5}
	Enroll10 = Protocol{Name: "enroll10", Train: 10}
)

// Protocols lists them in the order they are printed.
var Protocols = []Protocol{Paper, Enroll5, Enroll10}

const (
	firstTestSession = 5 // genuine tests: sessions 5-8
	ImpostorReps     = 5 // impostor tests: reps 1-5 of session 1 of each other subject
)

// Split is one subject's share of a protocol.
type Split struct {
	Train, Genuine, Impostor [][]float64
}

// SplitFor returns subject i's training, genuine and impostor samples.
func (p Protocol) SplitFor(ds *Dataset, i int) (Split, error) {
	var sp Split
	s := ds.Subjects[i]
	if p.Train < 1 || p.Train > (firstTestSession-1)*RepsPerSession {
		return sp, fmt.Errorf("protocol %s: training on repetitions 1..%d would reach the test sessions", p.Name, p.Train)
	}
	for _, smp := range s.Samples {
		switch {
		case smp.Repetition() <= p.Train:
			sp.Train = append(sp.Train, smp.Features)
		case smp.Session >= firstTestSession:
			sp.Genuine = append(sp.Genuine, smp.Features)
		}
	}
	for j, o := range ds.Subjects {
		if j == i {
			continue
		}
		for _, smp := range o.Samples {
			if smp.Session == 1 && smp.Rep <= ImpostorReps {
				sp.Impostor = append(sp.Impostor, smp.Features)
			}
		}
	}
	if len(sp.Train) == 0 || len(sp.Genuine) == 0 || len(sp.Impostor) == 0 {
		return sp, fmt.Errorf("subject %s: no training, genuine or impostor samples under protocol %s", s.ID, p.Name)
	}
	return sp, nil
}
