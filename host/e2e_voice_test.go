package host_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// voiceCall is a vendor's request to speak a code, in the vendor's own words.
type voiceCall struct {
	vendor, phone, otp string
	body               []byte
}

// voiceCalls are the voice requests of the four bridges whose vendors have a
// voice channel; the last one carries no code a bridge can read (FusionAuth
// 1.65 to 1.66 speak it spelled out).
var voiceCalls = []voiceCall{
	{"okta", "+4915123456789", "318842", []byte(`{"eventType":"com.okta.telephony.provider","data":{"messageProfile":` +
		`{"phoneNumber":"+4915123456789","deliveryChannel":"voice call","otpCode":"318842"}}}`)},
	{"auth0", "+447911123456", "271845", []byte(`{"recipient":"+447911123456","message":"Your verification code is 271845",` +
		`"code":"271845","message_type":"otp_verify","delivery_method":"voice"}`)},
	{"pingone", "+447911123457", "391602", []byte(`{"recipient":"+447911123457","body":"<Say>3</Say><Say>9</Say>","otp":"391602","channel":"voice"}`)},
	{"fusionauth", "+61412345678", "381220", []byte(`{"code":"381220","phoneNumber":"+61412345678",` +
		`"message":"Your verification code is 3 8 1 2 2 0","type":"Voice"}`)},
}

// spelledOut is a voice request without a readable code.
var spelledOut = voiceCall{"fusionauth", "+61412345679", "", []byte(`{"phoneNumber":"+61412345679",` +
	`"message":"Your verification code is 4 4 0 1 9 7","type":"Voice"}`)}

// TestVoicePolicyEndToEnd calls each bridge's hook with its vendor's voice
// request under each VOICE_POLICY, and checks what the vendor would see and
// what the phone gets.
func TestVoicePolicyEndToEnd(t *testing.T) {
	skipShort(t)
	bin := e2e.Shipped(t)
	start := func(t *testing.T, policy string) *e2e.Server {
		t.Helper()
		env := []string{"ENABLED_BRIDGES=okta,auth0,pingone,fusionauth"}
		if policy != "" {
			env = append(env, "VOICE_POLICY="+policy)
		} else {
			policy = "refuse"
		}
		s := bin.Start(t, env...)
		// The operator sees the policy in force when the server starts.
		entries, _ := s.Logs()
		i := slices.IndexFunc(entries, func(e e2e.LogEntry) bool { return e.Msg == "smsplus listening" })
		if i < 0 || entries[i].Fields["voice_policy"] != policy {
			t.Errorf("no start line with voice_policy %s", policy)
		}
		return s
	}
	post := func(t *testing.T, s *e2e.Server, c voiceCall) e2e.Answer {
		t.Helper()
		return s.PostHook(t, c.vendor, e2e.AuthHeaders(c.vendor), c.body)
	}
	noSecretsInLogs := func(t *testing.T, s *e2e.Server) {
		t.Helper()
		logs := s.Stderr()
		for _, c := range append(voiceCalls, spelledOut) {
			if (c.otp != "" && strings.Contains(logs, c.otp)) || strings.Contains(logs, c.phone[3:]) {
				t.Errorf("the logs hold %s's code or phone", c.vendor)
			}
		}
	}

	// Today's answer: the vendor's failure, nothing texted.
	t.Run("refuse (the default)", func(t *testing.T) {
		s := start(t, "")
		for _, c := range append(voiceCalls, spelledOut) {
			want := 422
			if c.vendor == "okta" {
				want = 200 // Okta wants business failures as its error object with 200
			}
			failure(t, c.vendor, post(t, s, c), want, "unsupported_channel")
		}
		if n := len(s.SMS()); n != 0 {
			t.Errorf("%d texts sent for voice requests", n)
		}
		m := s.Metrics(t)
		if got := m.Value("smsplus_challenge_events_total", "event", "voice_refused"); got != 5 {
			t.Errorf("voice_refused audited %v times, want 5", got)
		}
		noSecretsInLogs(t, s)
	})

	// The vendor's success, on purpose, and nothing sent: Okta neither retries
	// nor speaks the code through its own providers.
	t.Run("fail_closed", func(t *testing.T) {
		s := start(t, "fail_closed")
		for _, c := range append(voiceCalls, spelledOut) {
			a := post(t, s, c)
			if c.vendor == "okta" {
				if a.Status != 200 || a.OktaStatus() != "SUCCESSFUL" || !strings.Contains(string(a.Body), "path=withheld") {
					t.Errorf("okta: %s, want SUCCESSFUL (withheld)", a)
				}
				continue
			}
			st, _ := a.JSON()["status"].(string)
			tx, _ := a.JSON()["transactionId"].(string)
			if a.Status != 200 || st != "withheld" || !strings.HasPrefix(tx, "sp_") {
				t.Errorf("%s: %s, want 200 withheld with SMS+'s transaction id", c.vendor, a)
			}
			if c.otp != "" && strings.Contains(string(a.Body), c.otp) {
				t.Errorf("%s answer reveals the code: %s", c.vendor, a)
			}
		}
		if n := len(s.SMS()); n != 0 {
			t.Errorf("%d texts sent for withheld voice requests", n)
		}
		m := s.Metrics(t)
		if got := m.Value("smsplus_challenge_events_total", "event", "voice_withheld"); got != 5 {
			t.Errorf("voice_withheld audited %v times, want 5", got)
		}
		if got := m.Sum("smsplus_hooks_total", "outcome", "withheld"); got != 5 {
			t.Errorf("%v hooks counted as withheld, want 5", got)
		}
		noSecretsInLogs(t, s)
	})

	// The link, texted to the same number, as for an SMS request.
	t.Run("sms_link", func(t *testing.T) {
		s := start(t, "sms_link")
		for _, c := range voiceCalls {
			success(t, c.vendor, post(t, s, c))
			if _, cid := s.NextSMS(t, c.phone).Link(); cid == "" {
				t.Errorf("%s: the text to the voice number has no link", c.vendor)
			}
		}
		// Without a code there is nothing to put behind a link: refused as
		// under refuse, never texted.
		failure(t, "fusionauth", post(t, s, spelledOut), 422, "unsupported_channel")
		if n := len(s.SMSTo(spelledOut.phone)); n != 0 {
			t.Errorf("%d texts for a voice request without a code", n)
		}
		if n := len(s.SMS()); n != len(voiceCalls) {
			t.Errorf("%d texts, want %d", n, len(voiceCalls))
		}
		noSecretsInLogs(t, s)
	})
}

// TestNoticesEndToEnd: Auth0's code-free notices (and PingOne's and
// FusionAuth's messages without a code) are texted as is when the operator
// enables them, and refused explicitly otherwise; a notice that may hold a
// code is refused by the host whatever the bridge says.
func TestNoticesEndToEnd(t *testing.T) {
	skipShort(t)
	bin := e2e.Shipped(t)
	forger := e2e.BuildPlugin(t, "testdata/forger", "")
	blocked := []byte(`{"recipient":"+14155550142","message":"Your account has been blocked after several failed logins.",` +
		`"message_type":"blocked_account","delivery_method":"text","from":"+15550100"}`)

	t.Run("refused by default", func(t *testing.T) {
		s := bin.Start(t, "ENABLED_BRIDGES=auth0")
		failure(t, "auth0", s.PostHook(t, "auth0", e2e.AuthHeaders("auth0"), blocked), 422, "not_an_otp")
		if n := len(s.SMS()); n != 0 {
			t.Errorf("%d texts", n)
		}
	})

	t.Run("delivered with AUTH0_NOTICES=deliver", func(t *testing.T) {
		s := bin.Start(t, "ENABLED_BRIDGES=auth0,pingone,fusionauth,forger", "AUTH0_NOTICES=deliver",
			"PINGONE_NON_OTP=deliver", "FUSIONAUTH_NON_MFA=deliver",
			"PLUGIN_DIR="+bin.PluginDirWith(t, []string{"auth0", "pingone", "fusionauth"}, map[string]string{"forger": forger}))
		notices := map[string]string{
			"+14155550142": "Your account has been blocked after several failed logins.",
			"+14155550143": "We detected your password in a data breach. Please change it.",
			"+14155550146": "Your PingOne account was unlocked.",
			"+13035551213": "Your verification code is K7Q2ZP",
		}
		// PingOne and FusionAuth messages without a digit code, with their
		// operators' deliver settings (FusionAuth 1.59+ phone verification codes
		// are alphanumeric: texted in clear, as docs/security.md says).
		success(t, "pingone", s.PostHook(t, "pingone", e2e.AuthHeaders("pingone"),
			[]byte(`{"recipient":"+14155550146","body":"Your PingOne account was unlocked.","otp":"${otp}"}`)))
		success(t, "fusionauth", s.PostHook(t, "fusionauth", e2e.AuthHeaders("fusionauth"),
			[]byte(`{"phoneNumber":"+13035551213","textMessage":"Your verification code is K7Q2ZP","type":"SMS"}`)))
		a := s.PostHook(t, "auth0", e2e.AuthHeaders("auth0"), blocked)
		success(t, "auth0", a)
		breach := []byte(`{"recipient":"+14155550143","message":"We detected your password in a data breach. Please change it.",` +
			`"message_type":"password_breach","delivery_method":"text"}`)
		success(t, "auth0", s.PostHook(t, "auth0", e2e.AuthHeaders("auth0"), breach))
		for phone, text := range notices {
			m := s.NextSMS(t, phone)
			if m.Body != text {
				t.Errorf("texted %q, want the notice as is: %q", m.Body, text)
			}
			if link, _ := m.Link(); link != "" {
				t.Errorf("a notice carries a link: %q", m.Body)
			}
		}

		// A bridge that hands the host a notice holding a code: refused in
		// the vendor's failure format, never texted. The same bridge's
		// code-free notice goes out: the refusal is the host's.
		forged := s.PostHook(t, "forger", nil, []byte(`{"phone":"+14155550144","text":"Your code is 482913"}`))
		if st, _ := forged.JSON()["error"].(string); forged.Status != 400 || st != "malformed_request" {
			t.Errorf("forged notice: %s, want 400 malformed_request", forged)
		}
		if n := len(s.SMSTo("+14155550144")); n != 0 {
			t.Errorf("%d texts for a notice holding a code", n)
		}
		clean := s.PostHook(t, "forger", nil, []byte(`{"phone":"+14155550145","text":"Your phone number was changed."}`))
		if st, _ := clean.JSON()["status"].(string); clean.Status != 200 || st != "delivered" {
			t.Errorf("forger's clean notice: %s", clean)
		}
		if m := s.NextSMS(t, "+14155550145"); m.Body != "Your phone number was changed." {
			t.Errorf("texted %q", m.Body)
		}

		m := s.Metrics(t)
		for event, want := range map[string]float64{"notice_sent": 5, "notice_refused_code": 1} {
			if got := m.Value("smsplus_challenge_events_total", "event", event); got != want {
				t.Errorf("%s audited %v times, want %v", event, got, want)
			}
		}
		if got := m.Sum("smsplus_hooks_total", "outcome", "notice"); got != 5 {
			t.Errorf("%v hooks counted as notices, want 5", got)
		}
		logs := s.Stderr()
		for _, leak := range []string{"4155550142", "4155550143", "4155550144", "482913", "blocked after", "data breach"} {
			if strings.Contains(logs, leak) {
				t.Errorf("the logs hold %q", leak)
			}
		}
	})
}
