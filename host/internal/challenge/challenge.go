// Package challenge is the SMS+ domain: it turns an OTP event into a challenge and
// a text message with a link, serves the page model, and verifies typing patterns
// before revealing the OTP exactly once.
//
// It knows the Store, Sender and Verifier only as interfaces, never a backend.
package challenge

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/i18n"
	"github.com/smsplus/smsplus/host/internal/seal"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
	sdkphone "github.com/smsplus/smsplus/sdk/phone"
)

// Errors callers map to answers. Their texts are for logs, not for users.
var (
	ErrInvalidPhone       = errors.New("challenge: phone number is not E.164")
	ErrInvalidOTP         = errors.New("challenge: otp must be 4 to 10 digits")
	ErrUnsupportedChannel = errors.New("challenge: voice delivery cannot carry a link")
	// ErrOTPExpired: the vendor's code expires before a user could open the link
	// and type the phrase (see MinLinkLife). Retrying the same code cannot help.
	ErrOTPExpired        = errors.New("challenge: the code expires too soon to be delivered")
	ErrSMS               = errors.New("challenge: sms not sent")
	ErrNotFound          = errors.New("challenge: unknown, expired or already used")
	ErrTextMismatch      = errors.New("challenge: text id does not match the user's phrase")
	ErrChallengeLocked   = errors.New("challenge: too many failed attempts on this challenge")
	ErrBadPattern        = errors.New("challenge: bad typing pattern")
	ErrRateLimited       = errors.New("challenge: hourly cap on texts reached (phone, range or total)")
	ErrCountryNotAllowed = errors.New("challenge: destination country not allowed")
	// ErrDestinationRefused: the number is of a type REFUSED_NUMBER_TYPES names
	// (premium rate, unassigned, satellite...). Retrying cannot help.
	ErrDestinationRefused = errors.New("challenge: destination type refused")
	ErrBiometricsDown     = errors.New("challenge: biometrics engine unavailable and policy fails closed")
	ErrWrongPosition      = errors.New("challenge: typing position refused")
	ErrWrongPositionRetry = errors.New("challenge: typing position refused, one more try")
)

// UserLockedError: the user failed too often and must wait.
type UserLockedError struct {
	Until time.Time
	Now   time.Time
}

func (e *UserLockedError) Error() string { return "challenge: user locked out" }

// Minutes is the wait, rounded up, as the page shows it.
func (e *UserLockedError) Minutes() int {
	return int((e.Until.Sub(e.Now) + time.Minute - 1) / time.Minute)
}

// Phrase is a text to type with its text id.
type Phrase struct {
	Text   string
	TextID string
}

// Settings are the policy values the service needs from the configuration.
type Settings struct {
	BaseURL                       string
	HashSalt                      string
	DefaultLanguage               string
	ChallengeTTL                  time.Duration
	PerChallengeMaxFailedAttempts int
	MaxFailedAttempts             int
	LockoutDuration               time.Duration

	// TokenTTL is the life of disable and reset-now tokens (the seed's 10 minutes).
	TokenTTL time.Duration
	// A scheduled reset waits ResetDelayShort for users with fewer than
	// ResetFewPatterns accepted patterns (enrollment samples and successful
	// verifications), else ResetDelayLong (seed: 1 h, 24 h, 7).
	ResetDelayShort  time.Duration
	ResetDelayLong   time.Duration
	ResetFewPatterns int
	// BiometricsFailurePolicy: PolicyFallback texts the vendor's original message
	// when the engine is unreachable (the seed's behaviour); PolicyFailClosed
	// answers the vendor's failure instead.
	BiometricsFailurePolicy string
	// MaxSMSPerPhonePerHour caps challenge texts per phone (0 = no cap), against
	// SMS pumping through the hook.
	MaxSMSPerPhonePerHour int
	// AllowedCountries lists ISO 3166 region codes texts may go to (empty = all).
	AllowedCountries []string
	// RefusedNumberTypes are destination types never texted (config.NumberTypes).
	RefusedNumberTypes []string
	// MaxSMSPerRangePerHour caps texts to one destination range (the number
	// without its last 3 digits); MaxSMSPerHour caps all texts (0 = no cap).
	MaxSMSPerRangePerHour int
	MaxSMSPerHour         int
	// MaxInvalidPositionAttempts is how many wrong typing positions get a retry.
	MaxInvalidPositionAttempts int
	// RequiredPosition is the posture engines must report (TypingDNA: 3).
	RequiredPosition int
	// SMSTimeout bounds a send that continues after the hook answered PENDING.
	SMSTimeout time.Duration

	// DevicePolicy decides a verification from a device the user has not
	// bound: DevicePolicyRefuse (the default) or DevicePolicyStrict (device.go).
	DevicePolicy string
	// MaxDevices bounds a user's bound devices (the least recently used goes);
	// DeviceTTL is how long a binding lasts without a pass, and its cookie's
	// life. An expired binding still counts as bound (device.go).
	MaxDevices int
	DeviceTTL  time.Duration

	// VoicePolicy decides a voice request: VoiceRefuse (the default),
	// VoiceFailClosed or VoiceSMSLink (voice.go).
	VoicePolicy string
	// NoticeSenders are the vendor senders a notice may be texted from
	// (NOTICE_SENDERS); a notice from any other goes from SMS+'s own sender
	// (notice.go).
	NoticeSenders []string
}

// Failure policies for an unreachable biometrics engine.
const (
	PolicyFallback   = "fallback"
	PolicyFailClosed = "fail_closed"
)

func (s *Settings) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&s.TokenTTL, 10*time.Minute)
	def(&s.ResetDelayShort, time.Hour)
	def(&s.ResetDelayLong, 24*time.Hour)
	def(&s.SMSTimeout, 30*time.Second)
	if s.ResetFewPatterns <= 0 {
		s.ResetFewPatterns = 7
	}
	if s.BiometricsFailurePolicy == "" {
		s.BiometricsFailurePolicy = PolicyFallback
	}
	if s.MaxInvalidPositionAttempts <= 0 {
		s.MaxInvalidPositionAttempts = 1
	}
	if s.RequiredPosition == 0 {
		s.RequiredPosition = 3
	}
	if s.VoicePolicy == "" {
		s.VoicePolicy = VoiceRefuse
	}
	if s.DevicePolicy == "" {
		s.DevicePolicy = DevicePolicyRefuse
	}
	if s.MaxDevices <= 0 {
		s.MaxDevices = DefaultMaxDevices
	}
	def(&s.DeviceTTL, DefaultDeviceTTL)
}

// PostureChecker is an engine that can tell how the phone was held while typing
// (TypingDNA's position-only verify). The local engine has no such signal.
type PostureChecker interface {
	Positions(ctx context.Context, userID, pattern string) ([]int, error)
}

// Deps are the service's collaborators.
type Deps struct {
	Store     storage.Store
	Sender    sms.Sender
	Verifier  biometrics.Verifier
	Sealer    *seal.Sealer
	NewPhrase func(lang string) (Phrase, error)
	Texts     Texts            // the SMS texts in each language
	Audit     Auditor          // nil = no audit trail
	Now       func() time.Time // nil = time.Now
	Log       *slog.Logger
}

// Texts builds the localized SMS texts (i18n.Catalog).
type Texts interface {
	// Match picks the best supported language for a vendor locale.
	Match(prefs ...string) string
	LinkSMS(lang, link string) string
	EnrollSMS(lang, code, link string) string
}

// Auditor records audit entries without blocking (audit.Log).
type Auditor interface {
	Record(event, user string, fields map[string]any)
}

type noAudit struct{}

func (noAudit) Record(string, string, map[string]any) {}

// Service runs the challenge flow.
type Service struct {
	Deps
	set    Settings
	dedupe Deduper
	// background tracks sends that outlived their hook (answered PENDING).
	background sync.WaitGroup
}

// Wait blocks until every send still running in the background has finished,
// or ctx ends. Call it on shutdown.
func (s *Service) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.background.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// New returns a Service.
func New(set Settings, d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Audit == nil {
		d.Audit = noAudit{}
	}
	if d.Texts == nil {
		d.Texts = i18n.Builtin()
	}
	set.defaults()
	return &Service{Deps: d, set: set, dedupe: Deduper{Store: d.Store, Salt: set.HashSalt, TTL: set.ChallengeTTL, Log: d.Log}}
}

// user is the stored user record. Its id is SHA-256(phone + HASH_SALT), the Node
// SMS+ user id, so existing TypingDNA profiles keep working.
type user struct {
	Phrase    string    `json:"phrase"`
	TextID    string    `json:"text_id"`
	Language  string    `json:"lang,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// record is the stored challenge. The OTP is sealed and bound to the challenge id.
type record struct {
	UserID    string    `json:"user_id"`
	Bridge    string    `json:"bridge"`
	SealedOTP []byte    `json:"otp"`
	Language  string    `json:"lang,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// UserID returns the user id for a phone number: hex SHA-256 of phone + salt.
func UserID(phone, salt string) string {
	sum := sha256.Sum256([]byte(phone + salt))
	return hex.EncodeToString(sum[:])
}

var cidShape = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// validPhone applies the one E.164 rule of SMS+, the SDK's (sdk/phone): the
// bridges normalize to it, the host checks it, the fakes enforce it. The shape
// of a code is the SDK's too (sdk/otp).
func validPhone(p string) bool { return sdkphone.IsE164(strings.TrimSpace(p)) }

// newID returns 128 bits from crypto/rand as 22 URL-safe characters: short enough
// to keep the link SMS in one segment, far too many to guess or to collide.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewID returns a new challenge id, for a caller that needs it before Start
// (Event.ChallengeID).
func NewID() string { return newID() }

// TransactionID is the public name of a challenge: a one-way function of its id.
// Vendors log it where their admins can read it, so it must not open the page:
// it is not shaped like a challenge id, and the id cannot be computed from it.
func TransactionID(cid string) string {
	sum := sha256.Sum256([]byte("smsplus-transaction:" + cid))
	return "sp_" + hex.EncodeToString(sum[:9])
}

// ValidID reports whether s has the shape of a challenge id, so that junk never
// reaches the store.
func ValidID(s string) bool { return cidShape.MatchString(s) }

func sealContext(cid string) string { return "challenge:" + cid }

// MaskPhone keeps the country prefix and the last two digits, for logs.
func MaskPhone(p string) string {
	if len(p) < 6 {
		return "•••"
	}
	return p[:3] + "•••" + p[len(p)-2:]
}
