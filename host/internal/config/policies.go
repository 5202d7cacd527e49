package config

import (
	"slices"
	"strings"
	"time"
)

// Policies holds the limits and policies of the challenge flow.
type Policies struct {
	ChallengeTTL            time.Duration
	BiometricsFailurePolicy string   // fallback | fail_closed
	MaxSMSPerPhonePerHour   int      // 0 = no cap
	AllowedCountries        []string // ISO 3166 regions; empty = all
	// RefusedNumberTypes are the destination types never texted (premium rate,
	// satellite, unassigned numbers...): the currency of SMS pumping.
	RefusedNumberTypes []string
	// MaxSMSPerRangePerHour caps texts to one destination range (the number
	// without its last 3 digits); MaxSMSPerHour caps all texts. 0 = no cap.
	MaxSMSPerRangePerHour int
	MaxSMSPerHour         int
	// A scheduled profile reset waits ResetDelayNewUser while the user has fewer
	// than ResetEstablishedPatterns accepted patterns, else ResetDelay.
	ResetDelay                    time.Duration
	ResetDelayNewUser             time.Duration
	ResetEstablishedPatterns      int
	MaxFailedAttempts             int
	LockoutDuration               time.Duration
	PerChallengeMaxFailedAttempts int
}

func (r *reader) policies() Policies {
	return Policies{
		ChallengeTTL:                  time.Duration(r.int("challenge_ttl_minutes", 1, 60)) * time.Minute,
		BiometricsFailurePolicy:       r.oneOf("biometrics_failure_policy", "fallback", "fail_closed"),
		MaxSMSPerPhonePerHour:         r.int("max_sms_per_phone_per_hour", 0, 1000),
		AllowedCountries:              r.regions("allowed_countries"),
		RefusedNumberTypes:            r.numberTypes("refused_number_types"),
		MaxSMSPerRangePerHour:         r.int("max_sms_per_range_per_hour", 0, 1000000),
		MaxSMSPerHour:                 r.int("max_sms_per_hour", 0, 100000000),
		ResetDelay:                    time.Duration(r.int("reset_delay_hours", 1, 24*30)) * time.Hour,
		ResetDelayNewUser:             time.Duration(r.int("reset_delay_new_user_minutes", 1, 24*60*30)) * time.Minute,
		ResetEstablishedPatterns:      r.int("reset_established_patterns", 1, 1000),
		MaxFailedAttempts:             r.int("max_failed_attempts", 1, 100),
		LockoutDuration:               time.Duration(r.int("lockout_duration_minutes", 1, 24*60)) * time.Minute,
		PerChallengeMaxFailedAttempts: r.int("per_challenge_max_failed_attempts", 1, 20),
	}
}

// regions reads comma-separated ISO 3166 two-letter region codes, in any case.
func (r *reader) regions(key string) []string {
	var out []string
	for _, cc := range r.list(key) {
		cc = strings.ToUpper(cc)
		if len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' {
			r.problem("%s: %q is not an ISO 3166 two-letter region code (e.g. US,CA,GB)", envName(key), cc)
			continue
		}
		out = append(out, cc)
	}
	return out
}

// NumberTypes are the destination types REFUSED_NUMBER_TYPES may name.
var NumberTypes = []string{"invalid", "premium_rate", "shared_cost", "uan", "satellite", "international_network",
	"personal_number", "voip", "pager", "voicemail", "toll_free", "fixed_line", "unknown"}

// numberTypes reads a comma-separated list of NumberTypes; "none" refuses none.
func (r *reader) numberTypes(key string) []string {
	var out []string
	for _, t := range r.list(key) {
		t = strings.ToLower(t)
		if t == "none" || slices.Contains(out, t) {
			continue
		}
		if !slices.Contains(NumberTypes, t) {
			r.problem("%s: %q is not a number type; use none or some of %s", envName(key), t, strings.Join(NumberTypes, ", "))
			continue
		}
		out = append(out, t)
	}
	return out
}
