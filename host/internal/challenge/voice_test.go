package challenge

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestVoicePolicies(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		policy   string
		otp      string
		phone    string
		want     error
		withheld bool
		texts    int
		event    string // audited
	}{
		"default refuses":              {"", "318842", phone, ErrUnsupportedChannel, false, 0, "voice_refused"},
		"refuse":                       {VoiceRefuse, "318842", phone, ErrUnsupportedChannel, false, 0, "voice_refused"},
		"refuse without a code":        {VoiceRefuse, "", phone, ErrUnsupportedChannel, false, 0, "voice_refused"},
		"fail closed":                  {VoiceFailClosed, "318842", phone, nil, true, 0, "voice_withheld"},
		"fail closed without a code":   {VoiceFailClosed, "", phone, nil, true, 0, "voice_withheld"},
		"fail closed, invalid phone":   {VoiceFailClosed, "318842", "12345", ErrInvalidPhone, false, 0, ""},
		"sms link":                     {VoiceSMSLink, "318842", phone, nil, false, 1, "challenge_created"},
		"sms link without a code":      {VoiceSMSLink, "", phone, ErrUnsupportedChannel, false, 0, "voice_refused"},
		"sms link, bad code":           {VoiceSMSLink, "31a842", phone, ErrInvalidOTP, false, 0, ""},
		"sms link, country not listed": {VoiceSMSLink, "318842", "+447700900321", ErrCountryNotAllowed, false, 0, "refused_country"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) {
				s.VoicePolicy = tc.policy
				s.AllowedCountries = []string{"US"}
			})
			st, err := f.svc.Start(context.Background(), Event{Bridge: "okta", Phone: tc.phone, OTP: tc.otp, Voice: true, VendorTransaction: "evt-1"})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if st.Withheld != tc.withheld {
				t.Errorf("withheld = %v, want %v", st.Withheld, tc.withheld)
			}
			if len(f.out.msgs) != tc.texts {
				t.Fatalf("%d texts, want %d", len(f.out.msgs), tc.texts)
			}
			if tc.event != "" {
				fields := f.audit.last(tc.event)
				if fields == nil {
					t.Fatalf("no %s in the audit trail %v", tc.event, f.audit.events)
				}
				if fields["channel"] != "voice" || fields["vendor_transaction"] != "evt-1" {
					t.Errorf("%s fields %v: want channel voice and the vendor's id", tc.event, fields)
				}
			}
			switch {
			case tc.withheld:
				fields := f.audit.last("voice_withheld")
				if !strings.HasPrefix(st.TransactionID, "sp_") || fields["transaction"] != st.TransactionID {
					t.Errorf("withheld transaction %q, audited %v", st.TransactionID, fields["transaction"])
				}
				if st.ChallengeID != "" {
					t.Error("a challenge was created for a withheld request")
				}
			case tc.texts == 1:
				m := f.out.last(t)
				if m.To != phone || linkID(t, m) != st.ChallengeID {
					t.Errorf("text %+v, challenge %s", m, st.ChallengeID)
				}
			}
		})
	}
}
