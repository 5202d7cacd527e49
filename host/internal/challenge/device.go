package challenge

// Device binding and the proofs a verification carries (docs/security.md,
// "Device binding"; docs/page.md, "Device binding and proofs").
//
// A user's first enrollment binds the browser it happens in: the answer sets a
// cookie holding a random 128-bit token (HttpOnly, SameSite=Strict, __Host- and
// Secure on https; host/internal/httpapi), and the user's device list keeps only
// the token's SHA-256. Later verifications from that browser are "known
// device"; a request from another browser, when the user has one bound, is an
// unknown device, and UNKNOWN_DEVICE_POLICY decides (refuse, or a much stricter
// typing match through biometrics.StrictVerifier, then bind).
//
// Each pass rotates the token: the captured cookie of a request that passed is
// worth nothing afterwards, unless it comes with a valid signature by the
// device's registered key (the one case a rotation can strand a genuine
// browser: the answer that carried the new cookie was lost).
//
// Where the browser has WebCrypto and IndexedDB, the page also signs each
// request with a non-extractable ECDSA P-256 key created when the device was
// bound: a signature over ProofMessage (challenge id, phrase proof, pattern), so
// a captured request cannot be moved to another link. Script-written storage is
// wiped by Safari after 7 days of use without a visit, so the key is a bonus
// on top of the cookie, never a requirement: a known device whose key is gone
// passes on its cookie alone and registers its new key after the pass.
//
// Every request also carries PhraseProof: HMAC-SHA256 keyed by the challenge id
// of the text typed, so the host knows the phrase shown was typed, without the
// text ever being sent.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/storage"
)

// Policies for a verification from a device the user has not bound
// (UNKNOWN_DEVICE_POLICY).
const (
	// DevicePolicyRefuse refuses it: the owner of a new phone resets the
	// typing profile (which waits, so that a SIM holder cannot do it quietly).
	DevicePolicyRefuse = "refuse"
	// DevicePolicyStrict holds it to the engine's strict operating point
	// (biometrics.StrictVerifier) and binds the device after a pass. An engine
	// without that capability refuses.
	DevicePolicyStrict = "strict"
)

// Defaults of the device settings.
const (
	DefaultMaxDevices = 3
	// DefaultDeviceTTL is how long a binding lasts without a pass: 400 days,
	// the longest life Chrome and the cookie standard (RFC 6265bis) give a cookie.
	DefaultDeviceTTL = 400 * 24 * time.Hour
)

var (
	// ErrPhraseProofMissing: the request does not say which text was typed.
	ErrPhraseProofMissing = errors.New("challenge: no proof of the typed phrase")
	// ErrPhraseMismatch: an enrollment sample typed another text than the
	// phrase shown. (Once enrolled, another text is a failed attempt.)
	ErrPhraseMismatch = errors.New("challenge: another text than the phrase was typed")
)

// UnknownDeviceError: the attempt came from a device the user has not bound and
// the policy refused it (or the proof of a bound device was forged). It counted
// as a failed attempt.
type UnknownDeviceError struct {
	AttemptsLeft int
}

func (e *UnknownDeviceError) Error() string { return "challenge: unknown device" }

// Failure reasons of a verification (Result.Reason).
const (
	ReasonTyping = ""       // the typing did not match
	ReasonPhrase = "phrase" // another text than the phrase was typed
)

// DeviceEvidence is what a verification request says about its browser.
type DeviceEvidence struct {
	// Tokens are the request's device cookies, by tag (DeviceTag): one per user
	// bound in this browser (a dual-SIM phone has two).
	Tokens map[string]string
	// Key is the browser's ECDSA P-256 public key (base64url of its SPKI
	// encoding) and Proof its signature (base64url, IEEE P1363 r||s) over
	// ProofMessage; both empty where the browser has no WebCrypto or IndexedDB.
	Key, Proof string
}

// DeviceCookie is a device token to store in the browser, under the user's tag.
type DeviceCookie struct {
	Tag    string
	Token  string
	MaxAge time.Duration
}

// DeviceTag names a user's device cookie: 12 hex digits of a hash of the user
// id (itself a salted hash of the phone), so that one browser can be bound to
// several users and the name says nothing about the phone.
func DeviceTag(userID string) string {
	sum := sha256.Sum256([]byte("smsplus-device-cookie\x00" + userID))
	return hex.EncodeToString(sum[:6])
}

// DeviceTag returns the device cookie tag of the user with this phone number.
func (s *Service) DeviceTag(phone string) string {
	return DeviceTag(UserID(strings.TrimSpace(phone), s.set.HashSalt))
}

// NormalizePhrase is a text as the phrase proof sees it: words separated by
// single spaces, lower case, no spaces around.
func NormalizePhrase(text string) string {
	return strings.ToLower(strings.Join(strings.Fields(text), " "))
}

// PhraseProof is what the page sends for the text typed on challenge cid:
// base64url(HMAC-SHA256(key = cid, message = NormalizePhrase(typed))).
func PhraseProof(cid, typed string) string {
	return base64.RawURLEncoding.EncodeToString(phraseDigest(cid, typed))
}

func phraseDigest(cid, text string) []byte {
	mac := hmac.New(sha256.New, []byte(cid))
	mac.Write([]byte(NormalizePhrase(text)))
	return mac.Sum(nil)
}

// ProofMessage is what a device signs for one request: the challenge id, the
// phrase proof and the pattern, so that the signature is worth nothing on
// another link, with another text or another typing.
func ProofMessage(cid, phraseProof, pattern string) []byte {
	return []byte("smsplus-device-proof-v1\n" + cid + "\n" + phraseProof + "\n" + pattern)
}

// maxKeyLen bounds the public key's encoding: a P-256 SPKI is 91 bytes, 122
// base64url characters.
const maxKeyLen = 200

// verifyDeviceProof reports whether proof is key's signature over msg.
func verifyDeviceProof(key, proof string, msg []byte) bool {
	if key == "" || proof == "" || len(key) > maxKeyLen || len(proof) > 100 {
		return false
	}
	der, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil {
		return false
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return false
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(proof)
	if err != nil || len(sig) != 64 {
		return false
	}
	digest := sha256.Sum256(msg)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(ec, digest[:], r, s)
}

// device is one bound browser.
type device struct {
	ID string `json:"id"` // random, for the audit trail; says nothing about the token
	// Hash is the SHA-256 of the current token (base64url); PrevHash that of
	// the token before the last rotation, accepted only with a valid signature
	// by Key.
	Hash     string    `json:"hash"`
	PrevHash string    `json:"prev,omitempty"`
	Key      string    `json:"key,omitempty"` // base64url SPKI of the browser's P-256 key
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used"`
}

type deviceList struct {
	Devices []device `json:"devices"`
	// stale: the user had bound devices, all unused for DeviceTTL. They count
	// as bound: an expired binding is no fresh start for whoever comes next.
	stale bool
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// validToken: device tokens are 128 random bits, 22 URL-safe characters.
func validToken(t string) bool { return cidShape.MatchString(t) }

// loadDevices returns the user's live bindings (those used within DeviceTTL)
// and whether a record exists at all. The record itself never expires (only a
// reset or disable deletes it), so that a user whose bindings all expired is
// not taken for one who never bound a browser.
func (s *Service) loadDevices(ctx context.Context, uid string) (deviceList, bool, error) {
	val, err := s.Store.Get(ctx, storage.Devices, uid)
	if errors.Is(err, storage.ErrNotFound) {
		return deviceList{}, false, nil
	}
	if err != nil {
		return deviceList{}, false, fmt.Errorf("get devices: %w", err)
	}
	var l deviceList
	if err := json.Unmarshal(val, &l); err != nil {
		return deviceList{}, false, fmt.Errorf("decode devices: %w", err)
	}
	now := s.Now()
	had := len(l.Devices) > 0
	l.Devices = slices.DeleteFunc(l.Devices, func(d device) bool { return now.Sub(d.LastUsed) > s.set.DeviceTTL })
	l.stale = had && len(l.Devices) == 0
	return l, true, nil
}

// saveDevices writes the list. create: only if the user has no record yet
// (the first binding), so that of two browsers enrolling at once one wins.
func (s *Service) saveDevices(ctx context.Context, uid string, l deviceList, create bool) error {
	val, _ := json.Marshal(l)
	var err error
	if create {
		err = s.Store.Create(ctx, storage.Devices, uid, val, 0)
	} else {
		err = s.Store.Put(ctx, storage.Devices, uid, val, 0)
	}
	if err != nil {
		return fmt.Errorf("store devices: %w", err)
	}
	return nil
}

// proofState is what the request's signature says about a bound device.
type proofState int

const (
	proofNone    proofState = iota // no signature by the device's registered key (none registered, or the key is gone)
	proofValid                     // signed by the device's registered key, over this request
	proofInvalid                   // the registered key, but the signature is not over this request: moved or forged
)

// deviceCheck is the device side of one attempt.
type deviceCheck struct {
	list    deviceList
	exists  bool // the user has a device record (maybe empty)
	index   int  // the bound device the request came from; -1 if none
	proof   proofState
	viaPrev bool // matched on the token before the last rotation
	// newKey is the request's public key when its signature over this request
	// is valid and it is not the device's registered key: registered after a pass.
	newKey string
}

func (d deviceCheck) bound() bool { return len(d.list.Devices) > 0 || d.list.stale }
func (d deviceCheck) known() bool { return d.index >= 0 }

// checkDevice matches the request against the user's bound devices. Token
// hashes are compared in constant time, against every device.
func (s *Service) checkDevice(ctx context.Context, uid string, a Attempt) (deviceCheck, error) {
	l, exists, err := s.loadDevices(ctx, uid)
	if err != nil {
		return deviceCheck{}, err
	}
	dc := deviceCheck{list: l, exists: exists, index: -1}
	selfSigned := verifyDeviceProof(a.Device.Key, a.Device.Proof, ProofMessage(a.CID, a.PhraseProof, a.Pattern))
	token := a.Device.Tokens[DeviceTag(uid)]
	if !validToken(token) {
		token = ""
	}
	h := []byte(tokenHash(token))
	cur, prev := -1, -1
	for i, d := range l.Devices {
		if subtle.ConstantTimeCompare(h, []byte(d.Hash)) == 1 && token != "" {
			cur = i
		}
		if d.PrevHash != "" && subtle.ConstantTimeCompare(h, []byte(d.PrevHash)) == 1 && token != "" {
			prev = i
		}
	}
	idx := cur
	if idx < 0 {
		idx = prev
	}
	if idx >= 0 {
		d := l.Devices[idx]
		switch {
		case d.Key != "" && a.Device.Key == d.Key && selfSigned:
			dc.proof = proofValid
		case d.Key != "" && a.Device.Key == d.Key:
			dc.proof = proofInvalid
		case selfSigned:
			dc.newKey = a.Device.Key
		}
		// A rotated-out token is the cookie of a request that already passed:
		// only the device's key can vouch for it.
		if cur >= 0 || dc.proof == proofValid {
			dc.index, dc.viaPrev = idx, cur < 0
		}
	} else if selfSigned {
		dc.newKey = a.Device.Key
	}
	return dc, nil
}

// newDevice returns a new binding and the token for its cookie.
func (s *Service) newDevice(key string) (device, string) {
	token := newID()
	var id [8]byte
	_, _ = rand.Read(id[:])
	now := s.Now()
	return device{ID: hex.EncodeToString(id[:]), Hash: tokenHash(token), Key: key, Created: now, LastUsed: now}, token
}

func (s *Service) cookie(uid, token string) *DeviceCookie {
	return &DeviceCookie{Tag: DeviceTag(uid), Token: token, MaxAge: s.set.DeviceTTL}
}

// bind adds a new device to the user's list, evicting the least recently used
// beyond MaxDevices, and returns its cookie. how says why (audit).
func (s *Service) bind(ctx context.Context, uid string, dc deviceCheck, how string) (*DeviceCookie, error) {
	d, token := s.newDevice(dc.newKey)
	l := dc.list
	// Most recently used first, the new one ahead of all: the tail goes.
	slices.SortStableFunc(l.Devices, func(a, b device) int { return b.LastUsed.Compare(a.LastUsed) })
	l.Devices = append([]device{d}, l.Devices...)
	var evicted []device
	if len(l.Devices) > s.set.MaxDevices {
		evicted = l.Devices[s.set.MaxDevices:]
		l.Devices = l.Devices[:s.set.MaxDevices]
	}
	if err := s.saveDevices(ctx, uid, l, !dc.exists); err != nil {
		return nil, err
	}
	s.audit("device_bound", uid, map[string]any{"device": d.ID, "how": how, "key": d.Key != "", "devices": len(l.Devices)})
	for _, e := range evicted {
		s.audit("device_evicted", uid, map[string]any{"device": e.ID})
	}
	return s.cookie(uid, token), nil
}

// afterPass rotates the passing device's token and registers its new key, if
// it brought one; it returns the new cookie.
func (s *Service) afterPass(ctx context.Context, uid string, dc deviceCheck, presented string) (*DeviceCookie, error) {
	l := dc.list
	d := &l.Devices[dc.index]
	token := newID()
	d.PrevHash, d.Hash, d.LastUsed = tokenHash(presented), tokenHash(token), s.Now()
	if dc.newKey != "" {
		s.audit("device_key_registered", uid, map[string]any{"device": d.ID, "replaced": d.Key != ""})
		d.Key = dc.newKey
	}
	if err := s.saveDevices(ctx, uid, l, false); err != nil {
		return nil, err
	}
	return s.cookie(uid, token), nil
}

// StrictMatch reports whether the engine can hold a verification to the strict
// standard (biometrics.StrictVerifier), which DevicePolicyStrict needs.
func (s *Service) StrictMatch() bool {
	_, ok := s.Verifier.(biometrics.StrictVerifier)
	return ok
}

// strictVerifier is the engine's strict operating point, if it has one and the
// policy asks for it.
func (s *Service) strictVerifier() (biometrics.StrictVerifier, bool) {
	if s.set.DevicePolicy != DevicePolicyStrict {
		return nil, false
	}
	sv, ok := s.Verifier.(biometrics.StrictVerifier)
	return sv, ok
}
