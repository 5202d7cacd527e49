// Package eval measures the typing-biometrics detectors on the CMU keystroke
// benchmark (Killourhy and Maxion, "Comparing Anomaly-Detection Algorithms for
// Keystroke Dynamics", DSN 2009): the published baselines and the local engine's
// own detector, under the paper's protocol and under short enrollments like the
// ones SMS+ collects, and the local engine as it runs against crafted attacks
// (attacks.go), with the measurements its replay limit and machine check are set
// from (measure.go). `smsplus biometrics eval` prints its figures and
// `smsplus biometrics prior` learns the engine's prior: the command line is
// here (cli.go, Command); the host only dispatches to it.
package eval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The benchmark's shape: every subject typed the password in 8 sessions of 50
// repetitions.
const (
	Sessions       = 8
	RepsPerSession = 50
	RowsPerSubject = Sessions * RepsPerSession
)

// Sample is one repetition of the password. Features are in the local engine's
// order (see local.Features): the n hold times, then the n-1 key-down to key-down
// latencies, then the n-1 key-up to key-down latencies, in milliseconds.
type Sample struct {
	Session, Rep int
	Features     []float64
}

// Repetition is the sample's ordinal among the subject's 400: 50(session-1)+rep.
func (s Sample) Repetition() int { return (s.Session-1)*RepsPerSession + s.Rep }

// Subject is one typist's 400 samples in session and repetition order.
type Subject struct {
	ID      string
	Samples []Sample
}

// Dataset is the benchmark: subjects in file order, each typing Keys keys.
type Dataset struct {
	Keys     int
	Subjects []Subject
}

// ReadCMU reads DSL-StrongPasswordData.csv (or a subset with the same columns).
// It checks what the protocols rely on: the columns form a chain of n keys
// (H, DD, UD per key pair), UD = DD - H, and every subject has each session and
// repetition exactly once, so that "session 1, reps 1-5" means what it says.
func ReadCMU(r io.Reader) (*Dataset, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	layout, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	n := layout.keys
	ds := &Dataset{Keys: n}
	index := map[string]int{}
	seen := map[[3]int]bool{}
	line := 1
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		sess, err1 := strconv.Atoi(rec[1])
		rep, err2 := strconv.Atoi(rec[2])
		if err1 != nil || err2 != nil || sess < 1 || sess > Sessions || rep < 1 || rep > RepsPerSession {
			return nil, fmt.Errorf("line %d: bad session %q or rep %q", line, rec[1], rec[2])
		}
		v := make([]float64, len(rec)-3)
		for i, f := range rec[3:] {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d column %s: %w", line, header[i+3], err)
			}
			v[i] = x * 1000 // seconds to ms
		}
		feat := make([]float64, 3*n-2)
		for k := range n {
			feat[k] = v[layout.hold[k]]
		}
		for k := range n - 1 {
			dd, ud := v[layout.dd[k]], v[layout.ud[k]]
			// The file's values have four decimals, so DD - H - UD is 0 up to
			// rounding of a tenth of a millisecond.
			if d := dd - feat[k] - ud; d > 0.15 || d < -0.15 {
				return nil, fmt.Errorf("line %d: UD != DD - H for key %d", line, k+1)
			}
			feat[n+k] = dd
			feat[2*n-1+k] = ud
		}
		id := rec[0]
		si, ok := index[id]
		if !ok {
			si = len(ds.Subjects)
			index[id] = si
			ds.Subjects = append(ds.Subjects, Subject{ID: id})
		}
		if seen[[3]int{si, sess, rep}] {
			return nil, fmt.Errorf("line %d: %s session %d rep %d repeated", line, id, sess, rep)
		}
		seen[[3]int{si, sess, rep}] = true
		ds.Subjects[si].Samples = append(ds.Subjects[si].Samples, Sample{Session: sess, Rep: rep, Features: feat})
	}
	if len(ds.Subjects) == 0 {
		return nil, errors.New("no data rows")
	}
	for _, s := range ds.Subjects {
		for i, smp := range s.Samples {
			if i > 0 {
				p := s.Samples[i-1]
				if smp.Session < p.Session || (smp.Session == p.Session && smp.Rep < p.Rep) {
					return nil, fmt.Errorf("subject %s: rows not in session and rep order", s.ID)
				}
			}
		}
	}
	return ds, nil
}

// layout maps key positions to CSV columns (offset past subject, session, rep).
type layout struct {
	keys   int
	hold   []int
	dd, ud []int
}

// parseHeader accepts the columns subject, sessionIndex, rep, then for each key x
// followed by key y: H.x, DD.x.y, UD.x.y, and finally H of the last key. Key names
// may contain dots (Shift.r), so pairs are matched by the hold columns around them.
func parseHeader(h []string) (layout, error) {
	if len(h) < 4 || h[0] != "subject" || h[1] != "sessionIndex" || h[2] != "rep" {
		return layout{}, errors.New("header does not start with subject,sessionIndex,rep")
	}
	cols := h[3:]
	if len(cols)%3 != 1 {
		return layout{}, fmt.Errorf("%d timing columns, want 3n-2", len(cols))
	}
	n := (len(cols) + 2) / 3
	l := layout{keys: n}
	var names []string
	for k := range n {
		c := cols[3*k]
		name, ok := strings.CutPrefix(c, "H.")
		if !ok {
			return layout{}, fmt.Errorf("column %q: want a hold time H.<key>", c)
		}
		names = append(names, name)
		l.hold = append(l.hold, 3*k)
	}
	for k := range n - 1 {
		pair := names[k] + "." + names[k+1]
		if cols[3*k+1] != "DD."+pair || cols[3*k+2] != "UD."+pair {
			return layout{}, fmt.Errorf("columns %q, %q: want DD.%s, UD.%s", cols[3*k+1], cols[3*k+2], pair, pair)
		}
		l.dd = append(l.dd, 3*k+1)
		l.ud = append(l.ud, 3*k+2)
	}
	return l, nil
}
