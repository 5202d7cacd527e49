// Package local is SMS+'s built-in typing-biometrics engine. It needs no account:
// it keeps each user's enrollment samples in the SMS+ store (namespace
// storage.Profiles) and scores new patterns with a scaled Manhattan anomaly
// detector. The page's recorder (web/static/recorder.js) produces the patterns; the
// format is described in pattern.go.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/storage"
)

var _ biometrics.Verifier = (*Engine)(nil)

// Options configure the engine.
type Options struct {
	EnrollSamples int              // samples before verification starts; 0 = 3
	Now           func() time.Time // nil = time.Now
}

// defaultEnrollSamples is what TypingDNA recommends for higher confidence.
const defaultEnrollSamples = 3

// maxTexts caps how many phrases a profile keeps samples for; the oldest goes
// first. A user has one phrase at a time, a reset gives a new one.
const maxTexts = 4

// Engine is the local biometrics engine. It is safe for concurrent use.
type Engine struct {
	store    storage.Store
	required int
	now      func() time.Time

	// Submissions for one user are serialized in this process, so that two
	// enrollment samples posted at once are both kept. Replicas sharing a store can
	// still race; the loser's sample is lost and the user types once more.
	seed  maphash.Seed
	locks [64]sync.Mutex
}

// New returns an engine that keeps profiles in store.
func New(store storage.Store, opts Options) *Engine {
	e := &Engine{store: store, required: opts.EnrollSamples, now: opts.Now, seed: maphash.MakeSeed()}
	if e.required <= 0 {
		e.required = defaultEnrollSamples
	}
	if e.now == nil {
		e.now = time.Now
	}
	return e
}

// Name is "local".
func (e *Engine) Name() string { return "local" }

// profile is what the store holds for a user, as JSON.
type profile struct {
	V     int                     `json:"v"`
	Texts map[string]*textProfile `json:"texts"`
}

// textProfile holds the enrollment samples of one phrase.
type textProfile struct {
	N       int       `json:"n"`       // characters in the phrase
	Samples [][]int32 `json:"samples"` // feature vectors, see Pattern.features
	Updated int64     `json:"updated"` // unix seconds of the last change
}

const profileVersion = 1

func (e *Engine) load(ctx context.Context, userID string) (*profile, error) {
	raw, err := e.store.Get(ctx, storage.Profiles, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return &profile{V: profileVersion, Texts: map[string]*textProfile{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: load profile: %w", biometrics.ErrUnavailable, err)
	}
	// An unreadable profile (corrupt, or written by a newer version) fails closed:
	// treating it as empty would let the next typist enroll in the user's place.
	var p profile
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%w: decode profile: %w", biometrics.ErrUnavailable, err)
	}
	if p.V != profileVersion {
		return nil, fmt.Errorf("%w: profile version %d, want %d", biometrics.ErrUnavailable, p.V, profileVersion)
	}
	if p.Texts == nil {
		p.Texts = map[string]*textProfile{}
	}
	return &p, nil
}

func (e *Engine) save(ctx context.Context, userID string, p *profile) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode profile: %w", err)
	}
	if err := e.store.Put(ctx, storage.Profiles, userID, raw, 0); err != nil {
		return fmt.Errorf("%w: save profile: %w", biometrics.ErrUnavailable, err)
	}
	return nil
}

func (e *Engine) enrollment(tp *textProfile) biometrics.Enrollment {
	n := 0
	if tp != nil {
		n = len(tp.Samples)
	}
	return biometrics.Enrollment{Samples: n, Required: e.required, Enrolled: n >= e.required}
}

func (e *Engine) lock(userID string) func() {
	m := &e.locks[maphash.String(e.seed, userID)%uint64(len(e.locks))]
	m.Lock()
	return m.Unlock
}

// Enrollment reports how many samples the user has enrolled for the text.
func (e *Engine) Enrollment(ctx context.Context, userID, textID string) (biometrics.Enrollment, error) {
	p, err := e.load(ctx, userID)
	if err != nil {
		return biometrics.Enrollment{}, err
	}
	return e.enrollment(p.Texts[textID]), nil
}

// Submit checks the pattern against the phrase, stores it while the user is
// enrolling, and verifies it afterwards. A pattern that repeats an enrollment sample
// never verifies; during enrollment it is refused with ErrBadPattern. Verification
// does not change the profile.
func (e *Engine) Submit(ctx context.Context, userID, textID, text, pattern string) (biometrics.Result, error) {
	pat, err := ParsePattern(pattern)
	if err != nil {
		return biometrics.Result{}, err
	}
	if pat.TextID != textID {
		return biometrics.Result{}, badPattern("pattern is for text %s, not %s", pat.TextID, textID)
	}
	if n := utf8.RuneCountInString(text); len(pat.Keys) != n {
		return biometrics.Result{}, badPattern("pattern has %d keys, the phrase %d characters", len(pat.Keys), n)
	}
	if err := pat.Check(); err != nil {
		return biometrics.Result{}, err
	}
	x := pat.features()

	defer e.lock(userID)()
	p, err := e.load(ctx, userID)
	if err != nil {
		return biometrics.Result{}, err
	}
	tp := p.Texts[textID]
	if tp != nil && tp.N != len(pat.Keys) {
		// Another phrase with the same text id; its samples are of no use here.
		tp = nil
	}
	var samples [][]int32
	if tp != nil {
		samples = tp.Samples
	}

	if len(samples) >= e.required {
		res := biometrics.Result{Action: biometrics.ActionVerify, Enrollment: e.enrollment(tp)}
		if isReplay(x, samples) {
			return res, nil
		}
		d := newModel(samples).distance(x)
		thr := threshold(len(samples))
		res.Match = d <= thr
		res.Score = score(d, thr)
		return res, nil
	}

	if isReplay(x, samples) {
		return biometrics.Result{}, badPattern("pattern repeats an enrolled sample")
	}
	if tp == nil {
		tp = &textProfile{N: len(pat.Keys)}
		p.Texts[textID] = tp
		trimTexts(p, textID)
	}
	tp.Samples = append(tp.Samples, x)
	tp.Updated = e.now().Unix()
	if err := e.save(ctx, userID, p); err != nil {
		return biometrics.Result{}, err
	}
	return biometrics.Result{Action: biometrics.ActionEnroll, Match: true, Enrollment: e.enrollment(tp)}, nil
}

// score maps a distance to a similarity for logs and tests: the threshold over the
// distance, so a match scores 1 or more, capped at 100.
func score(d, thr float64) float64 {
	if d <= thr/100 {
		return 100
	}
	return math.Round(thr/d*1000) / 1000
}

// trimTexts drops the least recently updated phrases beyond maxTexts, never keep.
func trimTexts(p *profile, keep string) {
	for len(p.Texts) > maxTexts {
		oldest, at := "", int64(math.MaxInt64)
		for id, tp := range p.Texts {
			if id != keep && tp.Updated < at {
				oldest, at = id, tp.Updated
			}
		}
		delete(p.Texts, oldest)
	}
}

// Delete removes the user's profile, every phrase included.
func (e *Engine) Delete(ctx context.Context, userID string) error {
	defer e.lock(userID)()
	if err := e.store.Delete(ctx, storage.Profiles, userID); err != nil {
		return fmt.Errorf("%w: delete profile: %w", biometrics.ErrUnavailable, err)
	}
	return nil
}
