package challenge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestNotifyTextsAsIs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	text := "Your account has been blocked after too many attempts."
	sent, err := f.svc.Notify(context.Background(), Notice{Bridge: "auth0", Phone: phone, Message: "  " + text + "\n",
		Kind: "blocked_account", VendorTransaction: "corr-7"})
	if err != nil {
		t.Fatal(err)
	}
	m := f.out.last(t)
	if m.To != phone || m.Body != text || m.From != "" {
		t.Fatalf("sent %+v, want the text as is from SMS+'s own sender", m)
	}
	if !strings.HasPrefix(sent.TransactionID, "sp_") || sent.VendorSender {
		t.Errorf("sent %+v", sent)
	}
	fields := f.audit.last("notice_sent")
	if fields == nil || fields["kind"] != "blocked_account" || fields["transaction"] != sent.TransactionID ||
		fields["vendor_transaction"] != "corr-7" || fields["bridge"] != "auth0" {
		t.Fatalf("notice_sent audited as %v", fields)
	}
	for k, v := range fields {
		if s := fmt.Sprint(v); strings.Contains(s, "5555550100") || strings.Contains(s, "blocked after") {
			t.Errorf("audit field %s holds the phone or the text: %v", k, v)
		}
	}
	// Not a challenge: no link, and no user record to type against.
	if f.audit.has("challenge_created") {
		t.Error("a notice created a challenge")
	}
}

func TestNotifySender(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		allowed []string
		sender  string
		want    string
	}{
		"no allow-list: SMS+'s own": {nil, "+15550100", ""},
		"on the list":               {[]string{"ACME", "+15550100"}, "+15550100", "+15550100"},
		"not on the list":           {[]string{"ACME"}, "+15550199", ""},
		"case matters":              {[]string{"ACME"}, "acme", ""},
		"none given":                {[]string{"ACME"}, "", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) { s.NoticeSenders = tc.allowed })
			sent, err := f.svc.Notify(context.Background(), Notice{Phone: phone, Message: "Your password was changed.", Sender: tc.sender})
			if err != nil {
				t.Fatal(err)
			}
			if got := f.out.last(t).From; got != tc.want || sent.VendorSender != (tc.want != "") {
				t.Errorf("from %q (vendor sender %v), want %q", got, sent.VendorSender, tc.want)
			}
		})
	}
}

func TestNotifyRefusals(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		phone, text string
		want        error
		event       string
	}{
		"a code":                   {phone, "Your code is 482913", ErrNoticeMayHoldCode, "notice_refused_code"},
		"a year-like code":         {phone, "Blocked. Unblock with 2024", ErrNoticeMayHoldCode, "notice_refused_code"},
		"two codes":                {phone, "Use 1234 or 5678", ErrNoticeMayHoldCode, "notice_refused_code"},
		"digits of another script": {phone, "رمزك ٤٨٢٩١٣", ErrNoticeMayHoldCode, "notice_refused_code"},
		"full-width digits":        {phone, "Code ４８２９１３", ErrNoticeMayHoldCode, "notice_refused_code"},
		"superscript digits":       {phone, "Code ⁴⁸²⁹¹³", ErrNoticeMayHoldCode, "notice_refused_code"},
		"circled digits":           {phone, "Code ④⑧②⑨①③", ErrNoticeMayHoldCode, "notice_refused_code"},
		"empty":                    {phone, " \n ", ErrNoticeEmpty, ""},
		"too long":                 {phone, strings.Repeat("a", 1531), ErrNoticeTooLong, ""},
		// 700 characters outside GSM-7: 11 segments of 67 (UCS-2), though
		// fewer characters than ten GSM-7 segments hold.
		"too many segments (UCS-2)":     {phone, strings.Repeat("Zażółć ", 100), ErrNoticeTooLong, ""},
		"invalid phone":                 {"5550100", "Your account is blocked.", ErrInvalidPhone, ""},
		"country not allowed":           {"+447700900321", "Your account is blocked.", ErrCountryNotAllowed, "refused_country"},
		"refused type (premium, UK 09)": {"+449098790000", "Your account is blocked.", ErrDestinationRefused, "refused_number_type"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) {
				if tc.want == ErrCountryNotAllowed {
					s.AllowedCountries = []string{"US"}
				}
				s.RefusedNumberTypes = []string{"premium_rate"}
			})
			if _, err := f.svc.Notify(context.Background(), Notice{Bridge: "auth0", Phone: tc.phone, Message: tc.text, Kind: "blocked_account"}); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if len(f.out.msgs) != 0 {
				t.Fatalf("%d texts sent", len(f.out.msgs))
			}
			if tc.event != "" && f.audit.last(tc.event) == nil {
				t.Errorf("no %s audited: %v", tc.event, f.audit.events)
			}
		})
	}
}

// A notice is a text an attacker could use to pump: it spends the same hourly
// caps as a challenge text.
func TestNotifyCountsAgainstTheCaps(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) { s.MaxSMSPerPhonePerHour = 2 })
	if _, err := f.svc.Start(context.Background(), Event{Bridge: "auth0", Phone: phone, OTP: "482913"}); err != nil {
		t.Fatal(err)
	}
	n := Notice{Bridge: "auth0", Phone: phone, Message: "Your account is blocked.", Kind: "blocked_account"}
	if _, err := f.svc.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Notify(context.Background(), n); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("third text in the hour: %v", err)
	}
	if len(f.out.msgs) != 2 || !f.audit.has("refused_rate") {
		t.Fatalf("%d texts, audit %v", len(f.out.msgs), f.audit.events)
	}
}

func TestNotifyFailedSend(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.out.fail.Store(true)
	if _, err := f.svc.Notify(context.Background(), Notice{Phone: phone, Message: "Your account is blocked."}); !errors.Is(err, ErrSMS) {
		t.Fatalf("err = %v, want ErrSMS", err)
	}
	if !f.audit.has("notice_failed") || f.audit.has("notice_sent") {
		t.Fatalf("audit %v", f.audit.events)
	}
}

func TestNoticeKindLabel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"blocked_account": "blocked_account", "non_mfa": "non_mfa", "": "other",
		"Blocked": "other", "a b": "other", strings.Repeat("k", 65): "other"} {
		if got := kindLabel(in); got != want {
			t.Errorf("kindLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
