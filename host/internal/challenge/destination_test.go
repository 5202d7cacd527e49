package challenge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/config"
)

// defaultRefused is REFUSED_NUMBER_TYPES's default, read from the config package
// so that these tests follow it.
func defaultRefused(t *testing.T) []string {
	t.Helper()
	cfg, err := config.Load(config.Sources{Environ: []string{"HASH_SALT=s"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.RefusedNumberTypes) == 0 {
		t.Fatal("no number type is refused by default")
	}
	return cfg.RefusedNumberTypes
}

func TestDestinationTypes(t *testing.T) {
	t.Parallel()
	refused := defaultRefused(t)
	tests := []struct {
		phone   string
		types   []string
		refused bool
	}{
		{"+12015550123", []string{"fixed_line_or_mobile"}, false},
		{"+14155550142", []string{"fixed_line_or_mobile"}, false},
		{"+447911123456", []string{"mobile"}, false},
		{"+4915123456789", []string{"mobile"}, false},
		{"+4930123456", []string{"fixed_line"}, false},
		{"+18002345678", []string{"toll_free"}, false},
		{"+445612345678", []string{"voip"}, false},
		{"+4916412345", []string{"pager"}, false},
		{"+49177991234567", []string{"voicemail"}, false},
		// Unassigned or impossible: area code 555 and 999 are not in service.
		{"+15555550100", []string{"invalid"}, true},
		{"+19995550100", []string{"invalid"}, true},
		{"+447700900321", []string{"invalid"}, true},
		{"+19002345678", []string{"premium_rate"}, true},
		{"+449091234567", []string{"premium_rate"}, true},
		{"+979123456789", []string{"premium_rate"}, true},
		{"+80812345678", []string{"shared_cost"}, true},
		{"+4918012345", []string{"shared_cost"}, true},
		{"+445512345678", []string{"uan"}, true},
		{"+15002345678", []string{"personal_number"}, true},
		{"+447012345678", []string{"personal_number"}, true},
		// libphonenumber calls satellite phones mobile: the calling code tells.
		{"+881612345678", []string{"satellite", "mobile"}, true},
		{"+870301234567", []string{"satellite", "mobile"}, true},
		{"+8816123", []string{"satellite", "invalid"}, true},
		{"+8823421234", []string{"international_network", "mobile"}, true},
		{"+883510012345", []string{"international_network", "voip"}, true},
		{"+882123456789", []string{"international_network", "invalid"}, true},
	}
	for _, tc := range tests {
		got := destinationTypes(tc.phone)
		if !slices.Equal(got, tc.types) {
			t.Errorf("destinationTypes(%s) = %v, want %v", tc.phone, got, tc.types)
		}
		typ, refuse := refusedType(tc.phone, refused)
		if refuse != tc.refused {
			t.Errorf("%s (%v): refused = %v (%q), want %v", tc.phone, got, refuse, typ, tc.refused)
		}
		if refuse && !slices.Contains(refused, typ) {
			t.Errorf("%s: refused for %q, which is not in %v", tc.phone, typ, refused)
		}
		for _, typ := range got {
			if !slices.Contains(config.NumberTypes, typ) && typ != "mobile" && typ != "fixed_line_or_mobile" {
				t.Errorf("%s: type %q is not one REFUSED_NUMBER_TYPES can name", tc.phone, typ)
			}
		}
	}
	// The other class of a satellite number counts too: refusing invalid alone
	// still refuses an unassigned satellite number.
	if typ, refuse := refusedType("+8816123", []string{"invalid"}); !refuse || typ != "invalid" {
		t.Errorf("invalid satellite number with only invalid refused: %q %v", typ, refuse)
	}
	if _, refuse := refusedType("+19002345678", nil); refuse {
		t.Error("no refused types refuses a number")
	}
}

func TestRefusedDestinationTypesSendNothing(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) {
		s.RefusedNumberTypes = defaultRefused(t)
		s.MaxSMSPerHour = 1
	})
	for _, p := range []string{"+19002345678", "+449091234567", "+979123456789", "+881612345678", "+8823421234",
		"+870301234567", "+19995550100", "+15002345678"} {
		_, err := f.svc.Start(context.Background(), Event{Bridge: "okta", Phone: p, OTP: "123456"})
		if !errors.Is(err, ErrDestinationRefused) {
			t.Errorf("%s: err = %v, want ErrDestinationRefused", p, err)
		}
		fields := f.audit.last("refused_number_type")
		if fields == nil {
			t.Fatalf("%s: not audited; audit %v", p, f.audit.events)
		}
		for k, v := range fields {
			if s := fmt.Sprint(v); strings.Contains(s, strings.TrimPrefix(p, "+")[2:]) {
				t.Errorf("%s: audit field %s=%q holds the number", p, k, s)
			}
		}
		if typ := fmt.Sprint(fields["type"]); !slices.Contains(config.NumberTypes, typ) {
			t.Errorf("%s: audited type %q", p, typ)
		}
	}
	if len(f.out.msgs) != 0 {
		t.Fatalf("%d SMS sent to refused destinations", len(f.out.msgs))
	}
	// Refused destinations used none of the hourly budget (1 text).
	if _, err := f.svc.Start(context.Background(), Event{Bridge: "okta", Phone: "+12015550123", OTP: "123456"}); err != nil {
		t.Fatalf("a valid number after the refusals: %v", err)
	}
}

func TestCountryAllowListAndTypesBothApply(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) {
		s.AllowedCountries = []string{"US"}
		s.RefusedNumberTypes = defaultRefused(t)
	})
	for p, want := range map[string]error{
		"+12015550123":   nil,
		"+19002345678":   ErrDestinationRefused,
		"+19995550100":   ErrDestinationRefused,
		"+447911123456":  ErrCountryNotAllowed,
		"+881612345678":  ErrCountryNotAllowed,
		"+4915123456789": ErrCountryNotAllowed,
	} {
		_, err := f.svc.Start(context.Background(), Event{Phone: p, OTP: "123456"})
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("%s: err = %v, want %v", p, err, want)
		}
	}
	if len(f.out.msgs) != 1 {
		t.Fatalf("%d SMS sent, want 1", len(f.out.msgs))
	}
}

func TestDestinationRange(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]string{"+12015550123": "+12015550", "+447911123456": "+447911123", "+1234567": "+1234"} {
		if got := destinationRange(p); got != want {
			t.Errorf("destinationRange(%s) = %s, want %s", p, got, want)
		}
	}
}

func TestRangeCap(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) { s.MaxSMSPerRangePerHour = 3 })
	start := func(p, otp string) error {
		_, err := f.svc.Start(context.Background(), Event{Bridge: "okta", Phone: p, OTP: otp})
		return err
	}
	for i := range 3 {
		if err := start(fmt.Sprintf("+1201555010%d", i), "123456"); err != nil {
			t.Fatalf("text %d to the range: %v", i+1, err)
		}
	}
	if err := f.svc.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A vendor retry of a delivered code is free: it is not a new text.
	if err := start("+12015550100", "123456"); err != nil {
		t.Fatalf("retry of a delivered code: %v", err)
	}
	if err := start("+12015550103", "123456"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("4th number of the range: %v, want ErrRateLimited", err)
	}
	if fields := f.audit.last("refused_range_cap"); fields == nil {
		t.Fatalf("range cap not audited: %v", f.audit.events)
	}
	if err := start("+14155550142", "123456"); err != nil {
		t.Fatalf("another range is not capped: %v", err)
	}
	if len(f.out.msgs) != 4 {
		t.Fatalf("%d SMS sent, want 4", len(f.out.msgs))
	}
	f.clock.advance(time.Hour + time.Second)
	if err := start("+12015550104", "123456"); err != nil {
		t.Fatalf("after the hour: %v", err)
	}
	// The store holds the range as a salted hash, never the digits.
	if err := f.svc.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.store.Close()
	raw, err := os.ReadFile(f.db)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) == 0 {
		t.Fatal("the store file is empty")
	}
	for _, digits := range []string{"12015550", "2015550", "4155550"} {
		if strings.Contains(string(raw), digits) {
			t.Errorf("the store holds the digits %s of a destination", digits)
		}
	}
}

func TestGlobalBudget(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) { s.MaxSMSPerHour = 3 })
	phones := []string{"+12015550100", "+14155550142", "+13035551212", "+12025550187"}
	for i, p := range phones[:3] {
		if _, err := f.svc.Start(context.Background(), Event{Phone: p, OTP: "123456"}); err != nil {
			t.Fatalf("text %d: %v", i+1, err)
		}
	}
	if _, err := f.svc.Start(context.Background(), Event{Phone: phones[3], OTP: "123456"}); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("4th text of the hour: %v, want ErrRateLimited", err)
	}
	if f.audit.last("refused_global_budget") == nil {
		t.Fatalf("global budget not audited: %v", f.audit.events)
	}
	f.clock.advance(time.Hour + time.Second)
	if _, err := f.svc.Start(context.Background(), Event{Phone: phones[3], OTP: "123456"}); err != nil {
		t.Fatalf("after the hour: %v", err)
	}
}

// A hook refused by a narrower cap must not use up a wider one: a flood towards
// one phone or one range would otherwise spend the global budget and deny
// everyone else.
func TestRefusedTextsDoNotSpendWiderCaps(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) {
		s.MaxSMSPerPhonePerHour = 1
		s.MaxSMSPerRangePerHour = 2
		s.MaxSMSPerHour = 4
	})
	start := func(p, otp string) error {
		_, err := f.svc.Start(context.Background(), Event{Phone: p, OTP: otp})
		return err
	}
	if err := start("+12015550100", "100000"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 { // over the phone cap: spends neither the range nor the budget
		if err := start("+12015550100", fmt.Sprint(100001+i)); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("phone flood %d: %v", i, err)
		}
	}
	if err := start("+12015550101", "100000"); err != nil {
		t.Fatalf("second number of the range: %v", err)
	}
	for i := range 5 { // over the range cap: does not spend the budget
		if err := start(fmt.Sprintf("+1201555011%d", i), "100000"); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("range flood %d: %v", i, err)
		}
	}
	for i, p := range []string{"+14155550142", "+13035551212"} {
		if err := start(p, "100000"); err != nil {
			t.Fatalf("budget text %d after the floods: %v", i+3, err)
		}
	}
	if err := start("+12025550187", "100000"); !errors.Is(err, ErrRateLimited) || f.audit.last("refused_global_budget") == nil {
		t.Fatalf("5th text of the hour: %v", err)
	}
	if len(f.out.msgs) != 4 {
		t.Fatalf("%d SMS sent, want 4", len(f.out.msgs))
	}
}
