package challenge

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Okta's code lives about 5 minutes, the challenge 15: the link must die with
// the code, so that nobody passes the check and is shown a code Okta refuses.
func TestLinkExpiresWithTheVendorsCode(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil) // ChallengeTTL 15 min
	ctx := context.Background()
	st, err := f.svc.Start(ctx, Event{Bridge: "okta", Phone: phone, OTP: "604913", ExpiresAt: f.clock.now().Add(5 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.audit.last("challenge_created")["link_ttl_s"]; got != 300 {
		t.Errorf("audited link life %v s, want 300", got)
	}
	f.clock.advance(5*time.Minute - time.Second)
	if _, err := f.svc.Page(ctx, st.ChallengeID); err != nil {
		t.Fatalf("page before the code expires: %v", err)
	}
	f.clock.advance(2 * time.Second)
	if _, err := f.svc.Page(ctx, st.ChallengeID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("page after the code expired: %v, want ErrNotFound", err)
	}
	if _, err := f.verify(ctx, st.ChallengeID, "t", "genuine"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("verify after the code expired: %v, want ErrNotFound", err)
	}
}

func TestLinkLife(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		left    time.Duration // the vendor's code's life left; 0: no expiry sent
		wantTTL int           // seconds
		wantErr error
	}{
		"no expiry: the challenge TTL":      {left: 0, wantTTL: 900},
		"expires after the challenge TTL":   {left: time.Hour, wantTTL: 900},
		"expires before it: the code's":     {left: 5 * time.Minute, wantTTL: 300},
		"just long enough to be used":       {left: MinLinkLife, wantTTL: int(MinLinkLife / time.Second)},
		"too soon to be typed: refused":     {left: MinLinkLife - time.Second, wantErr: ErrOTPExpired},
		"already expired: refused":          {left: -time.Minute, wantErr: ErrOTPExpired},
		"expires this very moment: refused": {left: time.Nanosecond, wantErr: ErrOTPExpired},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			ev := Event{Bridge: "okta", Phone: phone, OTP: "604913", VendorTransaction: "evt-1"}
			if tc.left != 0 {
				ev.ExpiresAt = f.clock.now().Add(tc.left)
			}
			_, err := f.svc.Start(context.Background(), ev)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Start = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				// Refused before anything is counted, stored or sent, and audited.
				if len(f.out.msgs) != 0 || f.audit.last("refused_otp_expired")["vendor_transaction"] != "evt-1" {
					t.Fatalf("%d SMS, audit %v", len(f.out.msgs), f.audit.events)
				}
				return
			}
			if got := f.audit.last("challenge_created")["link_ttl_s"]; got != tc.wantTTL {
				t.Fatalf("link life %v s, want %d", got, tc.wantTTL)
			}
		})
	}
}

// The vendor's id of the delivery is in every audit entry about it, so an
// operator can match SMS+'s trail with the vendor's logs; an id that is not a
// short printable token is left out.
func TestVendorTransactionInTheAuditTrail(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) { s.RefusedNumberTypes = []string{"premium_rate"} })
	ctx := context.Background()
	if _, err := f.svc.Start(ctx, Event{Bridge: "okta", Phone: phone, OTP: "604913", VendorTransaction: "3QdDXl7qTgmjRWNbxuC9Kg"}); err != nil {
		t.Fatal(err)
	}
	if got := f.audit.last("challenge_created")["vendor_transaction"]; got != "3QdDXl7qTgmjRWNbxuC9Kg" {
		t.Errorf("challenge_created vendor_transaction = %v", got)
	}
	if _, err := f.svc.Start(ctx, Event{Bridge: "okta", Phone: "+19002345678", OTP: "604913", VendorTransaction: "evt-2"}); !errors.Is(err, ErrDestinationRefused) {
		t.Fatalf("premium number: %v", err)
	}
	if got := f.audit.last("refused_number_type")["vendor_transaction"]; got != "evt-2" {
		t.Errorf("refused_number_type vendor_transaction = %v", got)
	}
	for _, junk := range []string{"", "two words", "line\nbreak", strings.Repeat("a", 129), "caf\u00e9"} {
		if got := vendorTransaction(junk); got != "" {
			t.Errorf("vendorTransaction(%q) = %q, want it left out", junk, got)
		}
	}
	if got := vendorTransaction(strings.Repeat("a", 128)); len(got) != 128 {
		t.Error("a 128-character id is left out")
	}
}
