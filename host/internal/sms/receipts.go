package sms

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// HTTPReceipts says how a generic HTTP provider's delivery receipts are
// authenticated and read. SMS+ refuses every receipt it cannot authenticate,
// so a provider whose callbacks are not signed reads none.
type HTTPReceipts struct {
	// Kind is the receipt format: "vonage" (SMS API delivery receipts,
	// signed with the account's signature secret) or "telnyx" (messaging
	// webhooks, signed with Ed25519); empty: none read.
	Kind string
	// SignatureSecret is Vonage's signature secret (Dashboard, API settings)
	// and SignatureMethod the algorithm chosen there: md5hash (Vonage's
	// default), md5, sha1, sha256 or sha512 (HMACs). Vonage signs delivery
	// receipts only once its support has enabled signed webhooks.
	SignatureSecret string
	SignatureMethod string
	// PublicKey is Telnyx's webhook public key, base64, as Mission Control
	// shows it (Keys & Credentials, Public Key).
	PublicKey string
	// MaxAge is how far a receipt's signed timestamp may be from now, either
	// way, before it is refused as stale; 0: DefaultReceiptMaxAge.
	MaxAge time.Duration
	// Now is the clock; nil: time.Now. Tests set it.
	Now func() time.Time
}

// receiptVerifier authenticates and reads one provider's receipts.
type receiptVerifier interface {
	read(r *http.Request, body []byte, publicURL string) ([]Delivery, error)
}

// newReceiptVerifier checks cfg; nil, nil when no receipts are configured.
func newReceiptVerifier(provider string, cfg HTTPReceipts) (receiptVerifier, error) {
	var problems []error
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("sms provider %s: receipts: "+format, append([]any{provider}, args...)...))
	}
	maxAge := cfg.MaxAge
	if maxAge == 0 {
		maxAge = DefaultReceiptMaxAge
	}
	if maxAge < 0 {
		bad("max_age: must be positive, got %v", cfg.MaxAge)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	var v receiptVerifier
	switch cfg.Kind {
	case "":
		if cfg.SignatureSecret != "" || cfg.PublicKey != "" {
			bad("kind: must be vonage or telnyx when a signature secret or public key is set")
		}
	case "vonage":
		hash, ok := vonageMethods[cfg.SignatureMethod]
		if !ok {
			bad("signature_method: must be md5hash, md5, sha1, sha256 or sha512 (as chosen in the Vonage dashboard), got %q", cfg.SignatureMethod)
		}
		if len(cfg.SignatureSecret) < 8 {
			bad("signature_secret: Vonage's signature secret is required to verify its delivery receipts")
		}
		if cfg.PublicKey != "" {
			bad("public_key: is for telnyx receipts")
		}
		v = &vonageReceipts{provider: provider, secret: cfg.SignatureSecret, method: cfg.SignatureMethod, hash: hash,
			maxAge: maxAge, now: now, replays: newReplayGuard(2 * maxAge)}
	case "telnyx":
		key, err := base64.StdEncoding.DecodeString(cfg.PublicKey)
		if err != nil || len(key) != ed25519.PublicKeySize {
			bad("public_key: must be Telnyx's Ed25519 public key, base64 (32 bytes)")
		}
		if cfg.SignatureSecret != "" {
			bad("signature_secret: is for vonage receipts")
		}
		v = &telnyxReceipts{provider: provider, key: ed25519.PublicKey(key), maxAge: maxAge, now: now,
			replays: newReplayGuard(2 * maxAge)}
	default:
		bad("kind: must be vonage, telnyx or empty, got %q", cfg.Kind)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return v, nil
}

// fresh reports whether the signed time at is within maxAge of now, either way.
func fresh(at, now time.Time, maxAge time.Duration) bool {
	d := now.Sub(at)
	return d <= maxAge && d >= -maxAge
}
