// Package local is SMS+'s built-in typing-biometrics engine. It needs no account:
// it keeps each user's samples in the SMS+ store (namespace storage.Profiles),
// sealed when a data key is configured, and scores new patterns with the detector
// in detector.go. The page's recorder (web/static/recorder.js) produces the
// patterns; the format is described in pattern.go.
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
	"github.com/smsplus/smsplus/host/internal/seal"
	"github.com/smsplus/smsplus/host/internal/storage"
)

var (
	_ biometrics.Verifier       = (*Engine)(nil)
	_ biometrics.StrictVerifier = (*Engine)(nil)
)

// Options configure the engine.
type Options struct {
	EnrollSamples int              // samples before verification starts; 0 = DefaultEnrollSamples
	Now           func() time.Time // nil = time.Now
	// Sealer seals profiles at rest: typing timings are biometric data. nil stores
	// them as plain JSON; a Sealer without a key does the same in its own framing.
	Sealer *seal.Sealer
	// Prior holds the detector's population tables; nil = DefaultPrior().
	Prior *Prior
}

// DefaultEnrollSamples: on the CMU benchmark (`smsplus biometrics eval`), 5
// enrollment samples instead of 3 refuse more genuine first typings at the same
// thresholds and accept about as many impostors over a run of logins with
// profile updates (docs/page.md has the figures). Two more typings at sign-up buy
// little.
const DefaultEnrollSamples = 3

// Profile bounds.
const (
	// maxTexts caps how many phrases a profile keeps samples for; the oldest goes
	// first. A user has one phrase at a time, a reset gives a new one.
	maxTexts = 4
	// MaxRecent caps the confident successes kept per phrase. The model is fitted
	// on the enrollment samples plus these; the enrollment samples are never
	// replaced, so updates can follow a user's drift but not carry the profile
	// away from the person who enrolled.
	MaxRecent = 10
	// maxPassed caps the successful verifications whose timings are kept per
	// phrase, to refuse replays of them. Only successes push them out, so an
	// attacker's refused attempts cannot flush a captured pattern from it.
	maxPassed = 32
	// maxFailed caps the refused attempts kept per phrase, for the same reason.
	maxFailed = 16
)

// Engine is the local biometrics engine. It is safe for concurrent use.
type Engine struct {
	store    storage.Store
	required int
	now      func() time.Time
	sealer   *seal.Sealer
	prior    *Prior

	// Submissions for one user are serialized in this process, so that two
	// enrollment samples posted at once are both kept. Replicas sharing a store can
	// still race; the loser's sample is lost and the user types once more.
	seed  maphash.Seed
	locks [64]sync.Mutex
}

// New returns an engine that keeps profiles in store.
func New(store storage.Store, opts Options) *Engine {
	e := &Engine{store: store, required: opts.EnrollSamples, now: opts.Now, sealer: opts.Sealer, prior: opts.Prior, seed: maphash.MakeSeed()}
	if e.required <= 0 {
		e.required = DefaultEnrollSamples
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.prior == nil {
		e.prior = DefaultPrior()
	}
	return e
}

// Name is "local".
func (e *Engine) Name() string { return "local" }

// profile is what the store holds for a user, as JSON, sealed when the engine has
// a Sealer.
type profile struct {
	V     int                     `json:"v"`
	Texts map[string]*textProfile `json:"texts"`
}

// textProfile holds the samples of one phrase. Samples are timings (see
// Pattern.timings): n holds, then n-1 down-down latencies, in ms.
type textProfile struct {
	N       int       `json:"n"`                // characters in the phrase
	Samples [][]int32 `json:"samples"`          // enrollment samples, never replaced
	Recent  [][]int32 `json:"recent,omitempty"` // confident successes, oldest first
	Passed  [][]int32 `json:"passed,omitempty"` // successful verifications, oldest first
	Failed  [][]int32 `json:"failed,omitempty"` // refused verification attempts, oldest first
	// Seen: version 2's fingerprints of recent attempts, oldest first; read and
	// checked, never added to (see replay.go).
	Seen    []fingerprint `json:"seen,omitempty"`
	Updated int64         `json:"updated"` // unix seconds of the last change
}

// profileVersion 2 added Recent and Seen; version 3 keeps the timings of recent
// attempts (Passed, Failed) instead of Seen's fingerprints, for the replay
// distance. Versions 1 and 2 read as version 3. A binary that knows an older
// version fails closed on a newer profile, with the version in the error.
const profileVersion = 3

// sealContext binds a sealed profile to its user, so that a profile copied to
// another user's record does not open.
func sealContext(userID string) string { return "biometrics-profile:" + userID }

func (e *Engine) load(ctx context.Context, userID string) (*profile, error) {
	raw, err := e.store.Get(ctx, storage.Profiles, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return &profile{V: profileVersion, Texts: map[string]*textProfile{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: load profile: %w", biometrics.ErrUnavailable, err)
	}
	// A profile written before sealing was turned on is plain JSON; it is sealed
	// at its next write. Anything else must open: an unreadable profile (corrupt,
	// sealed with another key, or written by a newer version) fails closed, since
	// treating it as empty would let the next typist enroll in the user's place.
	if len(raw) == 0 || raw[0] != '{' {
		if e.sealer == nil {
			return nil, fmt.Errorf("%w: profile is sealed and no data key is configured", biometrics.ErrUnavailable)
		}
		if raw, err = e.sealer.Open(raw, sealContext(userID)); err != nil {
			return nil, fmt.Errorf("%w: open profile: %w", biometrics.ErrUnavailable, err)
		}
	}
	var p profile
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%w: decode profile: %w", biometrics.ErrUnavailable, err)
	}
	if p.V < 1 || p.V > profileVersion {
		return nil, fmt.Errorf("%w: profile version %d, want %d", biometrics.ErrUnavailable, p.V, profileVersion)
	}
	p.V = profileVersion
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
	if e.sealer != nil {
		raw = e.sealer.Seal(raw, sealContext(userID))
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
// enrolling, and verifies it afterwards at the Standard operating point.
//
// A pattern that repeats (within the replay limit, replay.go) an enrollment
// sample, a stored success or one of the last refused attempts never verifies;
// during enrollment it is refused with ErrBadPattern. Every verification attempt
// is kept for that check. A success well inside the threshold, which the
// enrollment samples alone also accept, is kept to follow the user's drift (at
// most MaxRecent of them, the oldest dropped first).
func (e *Engine) Submit(ctx context.Context, userID, textID, text, pattern string) (biometrics.Result, error) {
	return e.submit(ctx, userID, textID, text, pattern, Standard)
}

// SubmitStrict verifies the pattern of an enrolled user at the Strict operating
// point (see DefaultStrictFRR), otherwise as Submit does. It never enrolls: for
// a user still enrolling it returns ErrBadPattern.
func (e *Engine) SubmitStrict(ctx context.Context, userID, textID, text, pattern string) (biometrics.Result, error) {
	return e.submit(ctx, userID, textID, text, pattern, Strict)
}

func (e *Engine) submit(ctx context.Context, userID, textID, text, pattern string, op OperatingPoint) (biometrics.Result, error) {
	t, err := checkedTimings(textID, text, pattern)
	if err != nil {
		return biometrics.Result{}, err
	}
	defer e.lock(userID)()
	p, err := e.load(ctx, userID)
	if err != nil {
		return biometrics.Result{}, err
	}
	tp := p.Texts[textID]
	if tp != nil && tp.N != len(t)/2+1 {
		// Another phrase with the same text id; its samples are of no use here.
		tp = nil
	}

	if tp != nil && len(tp.Samples) >= e.required {
		return e.verify(ctx, userID, p, tp, t, op)
	}
	if op == Strict {
		return biometrics.Result{}, badPattern("the user is still enrolling; a strict verification needs a profile")
	}
	if tp != nil && tp.replaysWithin(t, ReplayFloorMS) {
		return biometrics.Result{}, badPattern("pattern repeats an enrolled sample")
	}
	if tp == nil {
		tp = &textProfile{N: len(t)/2 + 1}
		p.Texts[textID] = tp
	}
	tp.Samples = append(tp.Samples, t)
	tp.Updated = e.now().Unix()
	trimTexts(p, textID)
	if err := e.save(ctx, userID, p); err != nil {
		return biometrics.Result{}, err
	}
	return biometrics.Result{Action: biometrics.ActionEnroll, Match: true, Enrollment: e.enrollment(tp)}, nil
}

// checkedTimings parses the pattern, checks it belongs to the phrase and is
// humanly possible, and returns its timings.
func checkedTimings(textID, text, pattern string) ([]int32, error) {
	pat, err := ParsePattern(pattern)
	if err != nil {
		return nil, err
	}
	if pat.TextID != textID {
		return nil, badPattern("pattern is for text %s, not %s", pat.TextID, textID)
	}
	if n := utf8.RuneCountInString(text); len(pat.Keys) != n {
		return nil, badPattern("pattern has %d keys, the phrase %d characters", len(pat.Keys), n)
	}
	if err := pat.Check(); err != nil {
		return nil, err
	}
	return pat.timings(), nil
}

func (e *Engine) verify(ctx context.Context, userID string, p *profile, tp *textProfile, t []int32, op OperatingPoint) (biometrics.Result, error) {
	res := biometrics.Result{Action: biometrics.ActionVerify, Enrollment: e.enrollment(tp)}
	v := tp.judge(e.prior).decide(t, op)
	res.Match = v.Match
	if !v.Replay {
		res.Score = similarity(v.Score, v.Threshold)
	}
	tp.record(t, v)
	tp.Updated = e.now().Unix()
	if err := e.save(ctx, userID, p); err != nil {
		return biometrics.Result{}, err
	}
	return res, nil
}

// Verdict is the engine's decision on one verification attempt.
type Verdict struct {
	Match bool
	// Replay: the attempt repeats a pattern on file (replay.go); it was not
	// scored.
	Replay bool
	// Score and Threshold: the detector's score and the threshold at the
	// operating point (Match is Score <= Threshold, unless Replay).
	Score, Threshold float64
	// Keep: the attempt joins the samples the model is fitted on.
	Keep bool
}

// judge is what verifying against a profile needs, computed once per state of
// the profile: the model, the replay limit.
type judge struct {
	tp     *textProfile
	models models
	limit  int32
}

func (tp *textProfile) judge(prior *Prior) *judge {
	return &judge{tp: tp, models: prior.models(featureRows(tp.Samples), featureRows(tp.Recent)), limit: tp.replayLimit()}
}

// decide is the engine's verification of timings t against the profile, which
// it does not change.
func (j *judge) decide(t []int32, op OperatingPoint) Verdict {
	if j.tp.replaysWithin(t, j.limit) {
		return Verdict{Replay: true, Score: math.Inf(1)}
	}
	d := j.models.decide(Features(t), op)
	return Verdict{Match: d.Match, Score: d.Score, Threshold: d.Accept, Keep: d.Keep}
}

// record keeps the attempt's timings for the replay check and, when the verdict
// says so, for the model. A replay is on file already. Each new attempt drops
// one version 2 fingerprint, so they age out as they used to.
func (tp *textProfile) record(t []int32, v Verdict) {
	if v.Replay {
		return
	}
	if len(tp.Seen) > 0 {
		tp.Seen = tp.Seen[1:]
	}
	if !v.Match {
		tp.Failed = appendBounded(tp.Failed, t, maxFailed)
		return
	}
	tp.Passed = appendBounded(tp.Passed, t, maxPassed)
	if v.Keep {
		tp.Recent = appendBounded(tp.Recent, t, MaxRecent)
	}
}

func featureRows(ts [][]int32) [][]float64 {
	out := make([][]float64, len(ts))
	for i, t := range ts {
		out[i] = Features(t)
	}
	return out
}

func appendBounded[T any](xs []T, x T, limit int) []T {
	xs = append(xs, x)
	if len(xs) > limit {
		xs = append(xs[:0:0], xs[len(xs)-limit:]...)
	}
	return xs
}

// similarity maps a score to Result.Score (higher is more similar): exp(accept -
// score), so a match scores 1 or more, rounded to 3 decimals and capped at 100.
// accept is the threshold of the operating point the attempt was held to.
func similarity(score, accept float64) float64 {
	return math.Min(100, math.Round(math.Exp(accept-score)*1000)/1000)
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

// Delete removes the user's profile, every phrase, sample and fingerprint
// included.
func (e *Engine) Delete(ctx context.Context, userID string) error {
	defer e.lock(userID)()
	if err := e.store.Delete(ctx, storage.Profiles, userID); err != nil {
		return fmt.Errorf("%w: delete profile: %w", biometrics.ErrUnavailable, err)
	}
	return nil
}
