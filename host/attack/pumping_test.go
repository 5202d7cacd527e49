package attack_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// SMS pumping (toll fraud): the attacker drives sign-ups or sign-ins at the IAM
// with phone numbers whose termination fees they share (premium rate, satellite,
// international networks, unassigned ranges that a complicit carrier routes),
// and every text SMS+ sends for them is paid by the operator.

// refusedDestination checks that an Okta hook for phone was not answered as sent
// and that nothing was texted to it; it returns what went wrong.
func refusedDestination(t *testing.T, s *e2e.Server, phone string) string {
	t.Helper()
	a := s.Hook(t, "okta", phone, e2e.RandomOTP(8))
	texted := len(s.SMSTo(phone))
	if a.OktaStatus() == "" && texted == 0 {
		return ""
	}
	return fmt.Sprintf("%s: Okta told %s, %d text(s) sent", phone, brief("okta", a), texted)
}

// TestAttackPumpingPremiumAndUnassignedNumbers.
//
// Attacker: an SMS pumping ring, through the IAM's sign-in or sign-up.
//
// Path: POST /hooks/okta -> challenge.Start -> SMS. Any number in E.164 shape was
// texted: +1 900 and +44 909 premium rate, +979 international premium, +881 and
// +870 satellite, +882 international networks, and the unassigned +1 999; with
// ALLOWED_COUNTRIES=US, +1 900 and +1 999 still went out.
//
// Defence proved: with the default REFUSED_NUMBER_TYPES, numbers libphonenumber
// calls invalid or unassigned and premium-rate, shared-cost, UAN, satellite,
// international-network and personal-number destinations are refused in the
// vendor's failure format (no SUCCESSFUL for Okta) and nothing is texted, also
// within an allowed country. A valid number (+1 201 555 0140) still is.
func TestAttackPumpingPremiumAndUnassignedNumbers(t *testing.T) {
	skipShort(t)
	t.Parallel()
	bin := e2e.Shipped(t)
	cases := []struct {
		name, env string
		phones    []string
	}{
		{"default settings", "ALLOWED_COUNTRIES=", []string{
			"+19005550123",  // +1 900: premium rate
			"+449098790123", // +44 909: premium rate
			"+979123456789", // +979: international premium rate
			"+881612345678", // +881: satellite (Iridium)
			"+870773111632", // +870: satellite (Inmarsat)
			"+882123456789", // +882: international networks (not a valid number)
			"+19995550123",  // +1 999: unassigned
		}},
		{"ALLOWED_COUNTRIES=US", "ALLOWED_COUNTRIES=US", []string{"+19005550123", "+19995550123"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := bin.Start(t, tc.env)
			var sent []string
			for _, phone := range tc.phones {
				if got := refusedDestination(t, s, phone); got != "" {
					sent = append(sent, got)
				}
			}
			if len(sent) > 0 {
				t.Errorf("%d of %d pumping destinations were texted:\n  %s", len(sent), len(tc.phones), strings.Join(sent, "\n  "))
			}
			// Control: a valid US number is still served.
			if c := s.Hook(t, "okta", "+12015550140", e2e.RandomOTP(8)); c.OktaStatus() != "SUCCESSFUL" {
				t.Errorf("a valid number: Okta told %s", brief("okta", c))
			}
		})
	}
}

// TestAttackPumpingOneRange.
//
// Attacker: a pumping ring holding a block of numbers in one range: the per-phone
// cap (MAX_SMS_PER_PHONE_PER_HOUR) never bites when each number gets one text.
//
// Path: POST /hooks/okta with +1 201 555 0150 .. 0153, one hook each.
//
// Defence proved: MAX_SMS_PER_RANGE_PER_HOUR caps texts per destination range
// (the number without its last 3 digits); with 3, the 4th distinct number of the
// range is refused, not texted, and counted (refused_range_cap).
func TestAttackPumpingOneRange(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t, "MAX_SMS_PER_RANGE_PER_HOUR=3")
	for i := range 3 {
		phone := fmt.Sprintf("+120155501%02d", 50+i)
		if a := s.Hook(t, "okta", phone, e2e.RandomOTP(8)); a.OktaStatus() != "SUCCESSFUL" {
			t.Fatalf("number %d of the range (%s): Okta told %s, want SUCCESSFUL", i+1, phone, brief("okta", a))
		}
	}
	if got := refusedDestination(t, s, "+12015550153"); got != "" {
		t.Errorf("MAX_SMS_PER_RANGE_PER_HOUR=3, the 4th distinct number of range +1 201 555 0xxx was served: %s", got)
	}
	if n := s.Metrics(t).Value("smsplus_challenge_events_total", "event", "refused_range_cap"); n != 1 {
		t.Errorf("smsplus_challenge_events_total{event=\"refused_range_cap\"} = %v, want 1", n)
	}
}

// TestAttackPumpingManyRanges.
//
// Attacker: a pumping ring spreading over many ranges, so that neither the
// per-phone nor the per-range cap bites.
//
// Path: POST /hooks/okta for 6 numbers in 6 ranges.
//
// Defence proved: MAX_SMS_PER_HOUR is a global hourly budget (all replicas); with
// 5, the 6th hook is refused, not texted, and counted (refused_global_budget).
func TestAttackPumpingManyRanges(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t, "MAX_SMS_PER_HOUR=5")
	phones := []string{"+12015550160", "+14155550142", "+12125550101", "+13125550101", "+16175550101"}
	for _, phone := range phones {
		if a := s.Hook(t, "okta", phone, e2e.RandomOTP(8)); a.OktaStatus() != "SUCCESSFUL" {
			t.Fatalf("%s: Okta told %s, want SUCCESSFUL", phone, brief("okta", a))
		}
	}
	if got := refusedDestination(t, s, "+13035550101"); got != "" {
		t.Errorf("MAX_SMS_PER_HOUR=5, the 6th text of the hour was sent: %s", got)
	}
	if n := s.Metrics(t).Value("smsplus_challenge_events_total", "event", "refused_global_budget"); n != 1 {
		t.Errorf("smsplus_challenge_events_total{event=\"refused_global_budget\"} = %v, want 1", n)
	}
}
