package challenge

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/storage"
)

// browser is one browser on one phone: the device cookies SMS+ set in it, and,
// where it has WebCrypto and IndexedDB, its non-extractable key (here: a key
// the test never exports).
type browser struct {
	mu     sync.Mutex
	tokens map[string]string
	key    *ecdsa.PrivateKey
}

func newBrowser(t testing.TB, withKey bool) *browser {
	b := &browser{tokens: map[string]string{}}
	if withKey {
		b.newKey(t)
	}
	return b
}

// newKey replaces the browser's key, as a browser does after its storage was
// wiped.
func (b *browser) newKey(t testing.TB) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.key = k
	b.mu.Unlock()
}

func (b *browser) publicKey() string {
	der, err := x509.MarshalPKIXPublicKey(&b.key.PublicKey)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(der)
}

// sign signs msg as WebCrypto's ECDSA does: SHA-256, r||s.
func (b *browser) sign(msg []byte) string {
	sum := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, b.key, sum[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return base64.RawURLEncoding.EncodeToString(sig)
}

// attempt builds the request the page sends when typed was typed.
func (b *browser) attempt(cid, textID, pattern, typed string) Attempt {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := Attempt{CID: cid, TextID: textID, Pattern: pattern, PhraseProof: PhraseProof(cid, typed),
		Device: DeviceEvidence{Tokens: maps.Clone(b.tokens)}}
	if b.key != nil {
		a.Device.Key = b.publicKey()
		a.Device.Proof = b.sign(ProofMessage(cid, a.PhraseProof, pattern))
	}
	return a
}

// keep stores the cookie an answer sets.
func (b *browser) keep(res Result) {
	if res.DeviceCookie == nil {
		return
	}
	b.mu.Lock()
	b.tokens[res.DeviceCookie.Tag] = res.DeviceCookie.Token
	b.mu.Unlock()
}

// phones holds each fixture's default browser: the owner's.
var phones sync.Map // *fixture -> *browser

func (f *fixture) phone(t testing.TB) *browser {
	b, _ := phones.LoadOrStore(f, newBrowser(t, true))
	return b.(*browser)
}

// verify sends pattern from the owner's browser, with the phrase typed right.
func (f *fixture) verify(ctx context.Context, cid, textID, pattern string) (Result, error) {
	return f.verifyFrom(ctx, f.phone(nil), cid, textID, pattern, "")
}

// verifyFrom sends pattern from browser b; typed "" types the phrase right.
func (f *fixture) verifyFrom(ctx context.Context, b *browser, cid, textID, pattern, typed string) (Result, error) {
	if typed == "" {
		typed = "unknown"
		if p, err := f.svc.Page(ctx, cid); err == nil {
			typed = p.Phrase
		}
	}
	res, err := f.svc.Verify(ctx, b.attempt(cid, textID, pattern, typed))
	b.keep(res)
	return res, err
}

// strictVerifier is the fake engine with a strict operating point: it takes
// only "strict-genuine" there.
type strictVerifier struct{ *fakeVerifier }

func (s strictVerifier) SubmitStrict(ctx context.Context, uid, textID, _, pattern string) (biometrics.Result, error) {
	enr, _ := s.Enrollment(ctx, uid, textID)
	if !enr.Enrolled {
		return biometrics.Result{}, biometrics.ErrBadPattern
	}
	return biometrics.Result{Action: biometrics.ActionVerify, Match: pattern == "strict-genuine", Enrollment: enr}, nil
}

// enrollFrom enrolls the user through the first challenge, from b, and returns
// the challenge id (still live: the code is not revealed).
func (f *fixture) enrollFrom(t *testing.T, b *browser) (cid, textID string) {
	t.Helper()
	ctx := context.Background()
	cid = f.start(t, "123456")
	textID = biometrics.TextID("blue river")
	for i := range f.ver.required {
		res, err := f.verifyFrom(ctx, b, cid, textID, "genuine", "")
		if err != nil || res.Action != biometrics.ActionEnroll {
			t.Fatalf("enrollment sample %d: %+v, %v", i+1, res, err)
		}
	}
	return cid, textID
}

func TestFirstEnrollmentBindsTheBrowser(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	owner := newBrowser(t, true)
	cid := f.start(t, "123456")
	textID := biometrics.TextID("blue river")

	res, err := f.verifyFrom(ctx, owner, cid, textID, "genuine", "")
	if err != nil {
		t.Fatal(err)
	}
	uid := UserID(phone, "salt")
	c := res.DeviceCookie
	if c == nil || c.Tag != DeviceTag(uid) || !validToken(c.Token) || c.MaxAge != DefaultDeviceTTL {
		t.Fatalf("first enrollment sample: device cookie %+v, want a 128-bit token under the user's tag for %v", c, DefaultDeviceTTL)
	}
	if f.audit.last("device_bound")["key"] != true {
		t.Errorf("device_bound audit %v: the browser's key was not registered", f.audit.last("device_bound"))
	}
	res, err = f.verifyFrom(ctx, owner, cid, textID, "genuine", "")
	if err != nil || res.DeviceCookie != nil {
		t.Fatalf("second sample from the bound browser: %+v, %v; want no new cookie", res, err)
	}
	// Only the token's hash is kept.
	raw, err := f.store.Get(ctx, storage.Devices, uid)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(c.Token)) || !bytes.Contains(raw, []byte(tokenHash(c.Token))) {
		t.Errorf("device record %s: want the token's hash, not the token", raw)
	}

	// The pass rotates the token: the old cookie alone is worth nothing now.
	res, err = f.verifyFrom(ctx, owner, cid, textID, "genuine", "")
	if err != nil || res.OTP != "123456" {
		t.Fatalf("pass from the bound browser: %+v, %v", res, err)
	}
	if res.DeviceCookie == nil || res.DeviceCookie.Token == c.Token {
		t.Fatalf("pass: cookie %+v, want a new token", res.DeviceCookie)
	}
	keyless := &browser{tokens: map[string]string{c.Tag: c.Token}}
	cid2 := f.start(t, "222222")
	if _, err := f.verifyFrom(ctx, keyless, cid2, textID, "genuine", ""); !errors.As(err, new(*UnknownDeviceError)) {
		t.Fatalf("the rotated-out token without the device's key: %v, want an unknown device", err)
	}
	if res, err := f.verifyFrom(ctx, owner, cid2, textID, "genuine", ""); err != nil || res.OTP != "222222" {
		t.Fatalf("the owner after that: %+v, %v", res, err)
	}
}

func TestUnknownDeviceRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	owner, thief := newBrowser(t, true), newBrowser(t, true)
	_, textID := f.enrollFrom(t, owner)

	cid := f.start(t, "333333")
	for i := 1; i <= 2; i++ {
		_, err := f.verifyFrom(ctx, thief, cid, textID, "genuine", "")
		var ud *UnknownDeviceError
		if !errors.As(err, &ud) || ud.AttemptsLeft != 3-i {
			t.Fatalf("attempt %d from another browser with the owner's exact typing: %v; want an unknown device, %d left", i, err, 3-i)
		}
	}
	if got := f.audit.last("unknown_device"); got["policy"] != DevicePolicyRefuse || got["outcome"] != "refused" {
		t.Errorf("audit %v", got)
	}
	// Unknown-device attempts count: the third locks the link, for the owner too.
	if _, err := f.verifyFrom(ctx, thief, cid, textID, "genuine", ""); !errors.Is(err, ErrChallengeLocked) {
		t.Fatalf("third attempt: %v, want the link locked", err)
	}
	if _, err := f.verifyFrom(ctx, owner, cid, textID, "genuine", ""); !errors.Is(err, ErrChallengeLocked) {
		t.Fatalf("the owner on the locked link: %v", err)
	}
	if res, err := f.verifyFrom(ctx, owner, f.start(t, "444444"), textID, "genuine", ""); err != nil || res.OTP != "444444" {
		t.Fatalf("the owner on a new link: %+v, %v", res, err)
	}
}

func TestUnknownDeviceCannotJoinAnEnrollment(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(_ *Settings, d *Deps) {})
	f.ver.required = 3
	ctx := context.Background()
	owner, other := newBrowser(t, false), newBrowser(t, false)
	cid := f.start(t, "555555")
	textID := biometrics.TextID("blue river")
	if _, err := f.verifyFrom(ctx, owner, cid, textID, "genuine", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.verifyFrom(ctx, other, cid, textID, "genuine", ""); !errors.As(err, new(*UnknownDeviceError)) {
		t.Fatalf("a sample from another browser during the enrollment: %v, want an unknown device", err)
	}
	if n := f.ver.samples[UserID(phone, "salt")]; n != 1 {
		t.Fatalf("%d samples stored, want only the owner's", n)
	}
}

func TestStrictPolicyBindsAfterAStrictMatch(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(s *Settings, d *Deps) {
		s.DevicePolicy = DevicePolicyStrict
		s.MaxDevices = 2
		d.Verifier = strictVerifier{d.Verifier.(*fakeVerifier)}
	})
	ctx := context.Background()
	owner, second, third := newBrowser(t, true), newBrowser(t, false), newBrowser(t, true)
	_, textID := f.enrollFrom(t, owner)

	cid := f.start(t, "666666")
	res, err := f.verifyFrom(ctx, second, cid, textID, "genuine", "")
	if err != nil || res.Match || !res.NewDevice || res.AttemptsLeft != 2 {
		t.Fatalf("ordinary genuine typing from a new browser: %+v, %v; want a strict mismatch, 2 left", res, err)
	}
	res, err = f.verifyFrom(ctx, second, cid, textID, "strict-genuine", "")
	if err != nil || res.OTP != "666666" || res.DeviceCookie == nil {
		t.Fatalf("a strict match from the new browser: %+v, %v; want the code and a binding", res, err)
	}
	if got := f.audit.last("unknown_device"); got["outcome"] != "strict_passed" {
		t.Errorf("audit %v", got)
	}
	if res, err := f.verifyFrom(ctx, second, f.start(t, "777777"), textID, "genuine", ""); err != nil || res.OTP != "777777" {
		t.Fatalf("the new browser, bound: %+v, %v", res, err)
	}
	// A third device evicts the least recently used: the owner's first browser.
	f.clock.advance(time.Minute)
	if res, err := f.verifyFrom(ctx, third, f.start(t, "888888"), textID, "strict-genuine", ""); err != nil || res.OTP != "888888" {
		t.Fatalf("a third browser: %+v, %v", res, err)
	}
	if !f.audit.has("device_evicted") {
		t.Error("no device_evicted audit")
	}
	if res, _ := f.verifyFrom(ctx, owner, f.start(t, "999999"), textID, "genuine", ""); !res.NewDevice {
		t.Errorf("the evicted browser: %+v, want it treated as new", res)
	}
}

func TestStrictPolicyWithoutStrictEngineRefuses(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) { s.DevicePolicy = DevicePolicyStrict })
	ctx := context.Background()
	_, textID := f.enrollFrom(t, newBrowser(t, true))
	_, err := f.verifyFrom(ctx, newBrowser(t, true), f.start(t, "101010"), textID, "genuine", "")
	if !errors.As(err, new(*UnknownDeviceError)) || f.audit.last("unknown_device")["outcome"] != "strict_unavailable" {
		t.Fatalf("strict policy, engine without a strict match: %v, audit %v; want refused", err, f.audit.last("unknown_device"))
	}
}

func TestPhraseProof(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	owner := newBrowser(t, true)
	cid := f.start(t, "121212")
	textID := biometrics.TextID("blue river")

	// Enrolling: another text is refused and not learned.
	if _, err := f.verifyFrom(ctx, owner, cid, textID, "genuine", "blue rivet"); !errors.Is(err, ErrPhraseMismatch) {
		t.Fatalf("enrollment sample of another text: %v", err)
	}
	if n := f.ver.samples[UserID(phone, "salt")]; n != 0 {
		t.Fatalf("%d samples stored", n)
	}
	for range 2 {
		if _, err := f.verifyFrom(ctx, owner, cid, textID, "genuine", "  Blue   RIVER "); err != nil {
			t.Fatalf("the phrase with other spaces and case: %v", err)
		}
	}
	// Enrolled: another text is a failed attempt, whatever the typing.
	res, err := f.verifyFrom(ctx, owner, cid, textID, "genuine", "green river")
	if err != nil || res.Match || res.Reason != ReasonPhrase || res.AttemptsLeft != 2 {
		t.Fatalf("the owner's typing of another text: %+v, %v; want a failed attempt (phrase), 2 left", res, err)
	}
	if !f.audit.has("phrase_mismatch") {
		t.Error("no phrase_mismatch audit")
	}
	// No proof at all: refused before anything is counted.
	a := owner.attempt(cid, textID, "genuine", "blue river")
	a.PhraseProof = ""
	if _, err := f.svc.Verify(ctx, a); !errors.Is(err, ErrPhraseProofMissing) {
		t.Fatalf("no phrase proof: %v", err)
	}
	// A proof made for another link does not fit this one.
	a = owner.attempt(cid, textID, "genuine", "blue river")
	a.PhraseProof = PhraseProof(f.start(t, "131313"), "blue river")
	a.Device.Proof = owner.sign(ProofMessage(cid, a.PhraseProof, a.Pattern))
	if res, err := f.svc.Verify(ctx, a); err != nil || res.Reason != ReasonPhrase {
		t.Fatalf("the proof of another link: %+v, %v", res, err)
	}
}

// TestCapturedRequestOnAnotherLink: a verification request captured with its
// cookie (a proxy log, malware on the phone) and sent again on a new link.
func TestCapturedRequestOnAnotherLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	owner := newBrowser(t, true)
	_, textID := f.enrollFrom(t, owner)

	// A failed attempt, captured (its token is not rotated: nothing passed).
	link1 := f.start(t, "141414")
	captured := owner.attempt(link1, textID, "genuine-but-refused", "blue river")
	if res, err := f.svc.Verify(ctx, captured); err != nil || res.Match {
		t.Fatalf("captured attempt: %+v, %v", res, err)
	}
	link2 := f.start(t, "151515")
	moved := captured
	moved.CID, moved.Pattern = link2, "genuine"
	moved.PhraseProof = PhraseProof(link2, "blue river") // the phrase is no secret
	if _, err := f.svc.Verify(ctx, moved); !errors.As(err, new(*UnknownDeviceError)) ||
		f.audit.last("unknown_device")["outcome"] != "proof_invalid" {
		t.Fatalf("the captured request on a new link: %v, audit %v; want refused (proof_invalid)", err, f.audit.last("unknown_device"))
	}

	// A passing request, captured: after the pass its cookie is rotated out,
	// so even without its signature it is an unknown device.
	link3 := f.start(t, "161616")
	pass := owner.attempt(link3, textID, "genuine", "blue river")
	res, err := f.svc.Verify(ctx, pass)
	if err != nil || res.OTP != "161616" {
		t.Fatalf("pass: %+v, %v", res, err)
	}
	owner.keep(res)
	link4 := f.start(t, "171717")
	for name, key := range map[string]string{"as captured": pass.Device.Key, "without its key": ""} {
		replay := pass
		replay.CID, replay.PhraseProof = link4, PhraseProof(link4, "blue river")
		replay.Device.Key = key
		if key == "" {
			replay.Device.Proof = ""
		}
		if _, err := f.svc.Verify(ctx, replay); !errors.As(err, new(*UnknownDeviceError)) {
			t.Errorf("the captured passing request on a new link, %s: %v; want an unknown device", name, err)
		}
	}
}

// TestKeyWipedCookieKept: Safari wipes script-written storage (the key) after 7
// days without a visit, and keeps the server's cookie. The cookie still
// vouches; the new key is registered after the pass.
func TestKeyWipedCookieKept(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	owner := newBrowser(t, true)
	_, textID := f.enrollFrom(t, owner)
	oldKey := owner.publicKey()
	owner.newKey(t)

	res, err := f.verifyFrom(ctx, owner, f.start(t, "181818"), textID, "genuine", "")
	if err != nil || res.OTP != "181818" {
		t.Fatalf("known cookie, new key: %+v, %v; want the code", res, err)
	}
	if !f.audit.has("device_no_proof") || f.audit.last("device_key_registered")["replaced"] != true {
		t.Errorf("audits: device_no_proof %v, device_key_registered %v", f.audit.has("device_no_proof"), f.audit.last("device_key_registered"))
	}
	// The new key now vouches: a lost answer (the browser kept the rotated-out
	// token) is forgiven when the request is signed by it.
	prev := map[string]string{}
	maps.Copy(prev, owner.tokens)
	res, err = f.verifyFrom(ctx, owner, f.start(t, "191919"), textID, "genuine", "")
	if err != nil || res.OTP != "191919" {
		t.Fatal(res, err)
	}
	owner.mu.Lock()
	owner.tokens = prev // the answer with the new cookie never arrived
	owner.mu.Unlock()
	if res, err := f.verifyFrom(ctx, owner, f.start(t, "202020"), textID, "genuine", ""); err != nil || res.OTP != "202020" {
		t.Fatalf("the rotated-out token with a valid signature: %+v, %v; want the code", res, err)
	}
	raw, _ := f.store.Get(ctx, storage.Devices, UserID(phone, "salt"))
	if bytes.Contains(raw, []byte(oldKey)) {
		t.Error("the wiped key is still registered")
	}
}

func TestResetAndDisableWipeBindings(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"scheduled", "reset now", "disable"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			f := newFixtureWith(t, nil, func(_ *Settings, d *Deps) { d.NewPhrase = numberedPhrases() })
			ctx := context.Background()
			owner, newPhone := newBrowser(t, true), newBrowser(t, true)
			cid := f.start(t, "212121")
			res := f.revealFrom(t, owner, cid)
			uid := UserID(phone, "salt")
			switch how {
			case "scheduled":
				if _, err := f.svc.ScheduleReset(ctx, f.start(t, "232323"), phone); err != nil {
					t.Fatal(err)
				}
				f.clock.advance(2 * f.svc.set.ResetDelayLong)
			case "reset now":
				// A reset-now token needs a pending reset cancelled by a pass.
				if _, err := f.svc.ScheduleReset(ctx, f.start(t, "232323"), phone); err != nil {
					t.Fatal(err)
				}
				res = f.revealFrom(t, owner, f.start(t, "242424"))
				if err := f.svc.ResetNow(ctx, res.ResetToken, phone); err != nil {
					t.Fatal(err)
				}
			case "disable":
				if err := f.svc.Disable(ctx, res.DisableToken, phone); err != nil {
					t.Fatal(err)
				}
			}
			next := f.start(t, "252525") // applies a due scheduled reset
			if _, err := f.store.Get(ctx, storage.Devices, uid); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("after %s the bindings are still stored (%v)", how, err)
			}
			// Whoever enrolls next binds their browser.
			p, err := f.svc.Page(ctx, next)
			if err != nil {
				t.Fatal(err)
			}
			if res, err := f.verifyFrom(ctx, newPhone, next, p.TextID, "genuine", p.Phrase); err != nil || res.DeviceCookie == nil {
				t.Fatalf("enrollment on a new phone after %s: %+v, %v", how, res, err)
			}
		})
	}
}

// revealFrom enrolls (when needed) and passes a challenge from b.
func (f *fixture) revealFrom(t *testing.T, b *browser, cid string) Result {
	t.Helper()
	ctx := context.Background()
	p, err := f.svc.Page(ctx, cid)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		res, err := f.verifyFrom(ctx, b, cid, p.TextID, "genuine", p.Phrase)
		if err != nil {
			t.Fatal(err)
		}
		if res.OTP != "" {
			return res
		}
	}
	t.Fatal("never revealed")
	return Result{}
}

func TestDeviceTokenNeverInTheStoreFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	owner := newBrowser(t, true)
	res := f.revealFrom(t, owner, f.start(t, "262626"))
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(f.db)
	if err != nil {
		t.Fatal(err)
	}
	owner.mu.Lock()
	defer owner.mu.Unlock()
	for _, tok := range append([]string{res.DeviceCookie.Token}, owner.tokens[DeviceTag(UserID(phone, "salt"))]) {
		if bytes.Contains(raw, []byte(tok)) {
			t.Fatalf("the store file holds a device token")
		}
	}
}

// TestExpiredBindingIsNoFreshStart: a binding unused for DeviceTTL expires (the
// browser's cookie is gone by then too), but the user is not taken for one who
// never bound a browser: whoever passes next does not bind theirs; every
// browser is an unknown device, and the owner takes the reset path.
func TestExpiredBindingIsNoFreshStart(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) { s.DeviceTTL = 30 * 24 * time.Hour })
	ctx := context.Background()
	owner := newBrowser(t, true)
	_, textID := f.enrollFrom(t, owner)
	f.clock.advance(31 * 24 * time.Hour)
	for i, b := range []*browser{owner, newBrowser(t, true)} {
		name := []string{"the formerly bound browser", "another browser"}[i]
		if _, err := f.verifyFrom(ctx, b, f.start(t, fmt.Sprintf("27272%d", i)), textID, "genuine", ""); !errors.As(err, new(*UnknownDeviceError)) {
			t.Errorf("%s after the binding expired: %v; want an unknown device", name, err)
		}
	}
}

// TestFirstEnrollmentRace: browsers sending the first enrollment sample at
// once (the owner and someone with the forwarded link): one binds, the others
// are unknown devices, and only the winner's sample is learned.
func TestFirstEnrollmentRace(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(_ *Settings, d *Deps) {
		d.Verifier = slowVerifier{d.Verifier.(*fakeVerifier)} // every request checks the devices before any is bound
	})
	f.ver.required = 3
	ctx := context.Background()
	cid := f.start(t, "282828")
	textID := biometrics.TextID("blue river")
	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	cookies := make([]bool, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.verifyFrom(ctx, newBrowser(t, false), cid, textID, "genuine", "blue river")
			results[i], cookies[i] = err, res.DeviceCookie != nil
		}()
	}
	wg.Wait()
	bound, refused := 0, 0
	for i := range n {
		switch {
		case results[i] == nil && cookies[i]:
			bound++
		case errors.As(results[i], new(*UnknownDeviceError)), errors.Is(results[i], ErrChallengeLocked):
			refused++ // unknown-device attempts count: the link locks after 3
		default:
			t.Errorf("browser %d: %v (cookie %v)", i, results[i], cookies[i])
		}
	}
	if bound != 1 || refused != n-1 || f.ver.samples[UserID(phone, "salt")] != 1 {
		t.Errorf("%d browsers at once: %d bound, %d refused, %d samples learned; want 1, %d, 1", n, bound, refused, f.ver.samples[UserID(phone, "salt")], n-1)
	}
}

// slowVerifier is the fake engine, taking its time over each pattern.
type slowVerifier struct{ *fakeVerifier }

func (s slowVerifier) Submit(ctx context.Context, uid, textID, text, pattern string) (biometrics.Result, error) {
	time.Sleep(30 * time.Millisecond)
	return s.fakeVerifier.Submit(ctx, uid, textID, text, pattern)
}

// TestFailedFirstSampleBindsNothing: a first sample the engine cannot read is
// refused, and leaves no binding behind (the browser got no cookie).
func TestFailedFirstSampleBindsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	owner := newBrowser(t, true)
	cid := f.start(t, "292929")
	textID := biometrics.TextID("blue river")
	if _, err := f.verifyFrom(ctx, owner, cid, textID, "garbage", ""); !errors.Is(err, ErrBadPattern) {
		t.Fatalf("a malformed first sample: %v", err)
	}
	if res, err := f.verifyFrom(ctx, owner, cid, textID, "genuine", ""); err != nil || res.DeviceCookie == nil {
		t.Fatalf("the next, good sample from the same browser: %+v, %v; want it to bind", res, err)
	}
}
