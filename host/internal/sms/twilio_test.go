package sms_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
)

const (
	fromNumber = "+15005550001"
	serviceSID = "MG0123456789abcdef0123456789abcdef"
	body       = "Open https://sms.example.com/Zq3_x-9KpL0aBcDeFgHiJk and type the phrase shown to get your sign-in code."
)

// sender returns a Twilio sender pointed at fake with API key credentials and a
// From number, adjusted by mod.
func sender(t *testing.T, fake *twiliofake.Server, mod func(*sms.TwilioConfig)) *sms.Twilio {
	t.Helper()
	cfg := sms.TwilioConfig{
		AccountSID: fake.AccountSID,
		APIKey:     fake.APIKey,
		APISecret:  fake.APISecret,
		FromNumber: fromNumber,
		BaseURL:    fake.URL,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := sms.NewTwilio(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTwilioSends(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	tests := map[string]struct {
		mod                   func(*sms.TwilioConfig)
		to, body              string
		from, service, status string
		authUser              string
		callback              string
	}{
		"from number, api key": {
			to: "+15005550006", body: body,
			from: fromNumber, status: "queued", authUser: fake.APIKey,
		},
		"messaging service, auth token": {
			mod: func(c *sms.TwilioConfig) {
				c.APIKey, c.APISecret, c.AuthToken = "", "", fake.AuthToken
				c.FromNumber, c.MessagingServiceSID = "", serviceSID
			},
			to: "+447700900123", body: body,
			service: serviceSID, status: "accepted", authUser: fake.AccountSID,
		},
		"number within a messaging service": {
			mod: func(c *sms.TwilioConfig) { c.MessagingServiceSID = serviceSID },
			to:  "+33612345678", body: body,
			from: fromNumber, service: serviceSID, status: "accepted", authUser: fake.APIKey,
		},
		"alphanumeric sender, status callback, non-GSM body": {
			mod: func(c *sms.TwilioConfig) {
				c.FromNumber, c.StatusCallback = "SMS Plus", "https://smsplus.example.com/twilio/status"
				c.AuthToken = fake.AuthToken // verifies the callbacks; the API key still sends
			},
			to: "+5511987654321", body: "Código: 1234 ✓",
			from: "SMS Plus", status: "queued", authUser: fake.APIKey, callback: "https://smsplus.example.com/twilio/status",
		},
		"base URL with a trailing slash": {
			mod: func(c *sms.TwilioConfig) { c.BaseURL = fake.URL + "/" },
			to:  "+15005550009", body: body,
			from: fromNumber, status: "queued", authUser: fake.APIKey,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := sender(t, fake, tt.mod).Send(context.Background(), sms.Message{To: tt.to, Body: tt.body})
			if err != nil {
				t.Fatal(err)
			}
			var got *twiliofake.Message
			for _, m := range fake.Messages() {
				if m.SID == r.ID {
					got = &m
				}
			}
			if got == nil {
				t.Fatalf("receipt %q names no message the fake created", r.ID)
			}
			want := twiliofake.Message{
				SID: r.ID, AccountSID: fake.AccountSID, To: tt.to, From: tt.from, MessagingServiceSID: tt.service,
				Body: tt.body, StatusCallback: tt.callback, Status: tt.status, AuthUser: tt.authUser,
				UserAgent: got.UserAgent, Created: got.Created,
			}
			if *got != want {
				t.Errorf("created\n%+v\nwant\n%+v", *got, want)
			}
			if !strings.HasPrefix(got.UserAgent, "twilio-go/") || !strings.Contains(got.UserAgent, "smsplus") {
				t.Errorf("user agent %q: not twilio-go", got.UserAgent)
			}
		})
	}
}

func TestTwilioErrors(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	s := sender(t, fake, nil)
	tests := map[string]struct {
		outcome  twiliofake.Outcome
		code     int
		status   int
		rejected bool // else unavailable
		cause    string
	}{
		"invalid To":            {twiliofake.Fail(21211), 21211, 400, true, "not a valid phone number"},
		"region not enabled":    {twiliofake.Fail(21408), 21408, 400, true, "Geo Permissions"},
		"unsubscribed":          {twiliofake.Fail(21610), 21610, 400, true, "replying STOP"},
		"not mobile":            {twiliofake.Fail(21614), 21614, 400, true, "not a mobile number"},
		"landline":              {twiliofake.Fail(21635), 21635, 400, true, "landline"},
		"to/from combination":   {twiliofake.Fail(21612), 21612, 400, true, "cannot be reached from this sender"},
		"from not allowed":      {twiliofake.Fail(21606), 21606, 400, true, "'From' number is not an SMS-capable"},
		"from not twilio":       {twiliofake.Fail(21659), 21659, 400, true, "not a Twilio number"},
		"invalid service":       {twiliofake.Fail(21705), 21705, 400, true, "Messaging Service"},
		"trial unverified":      {twiliofake.Fail(21608), 21608, 400, true, "trial account"},
		"handset unreachable":   {twiliofake.Fail(30003), 30003, 400, true, "unreachable"},
		"blocked":               {twiliofake.Fail(30004), 30004, 400, true, "blocked"},
		"unknown handset":       {twiliofake.Fail(30005), 30005, 400, true, "unknown to its carrier"},
		"carrier landline":      {twiliofake.Fail(30006), 30006, 400, true, "landline"},
		"carrier filter":        {twiliofake.Fail(30007), 30007, 400, true, "filtered"},
		"delivery unknown":      {twiliofake.Fail(30008), 30008, 400, false, "unknown reason"},
		"authentication":        {twiliofake.Fail(20003), 20003, 401, false, "authentication failed"},
		"concurrency limit":     {twiliofake.Fail(20429), 20429, 429, false, "rate limited"},
		"pair rate limit":       {twiliofake.Fail(14107), 14107, 400, false, "rate limited"},
		"twilio 500 with code":  {twiliofake.Fail(20500), 20500, 500, false, "Twilio internal error"},
		"unknown code, 4xx":     {twiliofake.Fail(29999), 29999, 400, true, "Twilio refused the message"},
		"unknown code, 503":     {twiliofake.Outcome{Code: 29998, Status: 503}, 29998, 503, false, "Twilio server error"},
		"unknown code, 403":     {twiliofake.Outcome{Code: 29997, Status: 403}, 29997, 403, false, "refused the credentials"},
		"known code, slow":      {twiliofake.Fail(21610).After(30 * time.Millisecond), 21610, 400, true, "STOP"},
		"status code from JSON": {twiliofake.Outcome{Code: 21211, Status: 422}, 21211, 422, true, "not a valid phone number"},
	}
	i := 0
	for name, tt := range tests {
		i++
		to := fmt.Sprintf("+1500555%04d", i)
		fake.SetOutcomeFor(to, tt.outcome)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := s.Send(context.Background(), sms.Message{To: to, Body: body})
			var te *sms.TwilioError
			if !errors.As(err, &te) {
				t.Fatalf("err %v (receipt %+v), want *TwilioError", err, r)
			}
			if te.Code != tt.code || te.Status != tt.status || !strings.Contains(te.Cause, tt.cause) {
				t.Errorf("got %+v, want code %d, status %d, cause ~%q", te, tt.code, tt.status, tt.cause)
			}
			if errors.Is(err, sms.ErrRejected) != tt.rejected || errors.Is(err, sms.ErrUnavailable) == tt.rejected {
				t.Errorf("Is(ErrRejected) %v, Is(ErrUnavailable) %v, want rejected=%v",
					errors.Is(err, sms.ErrRejected), errors.Is(err, sms.ErrUnavailable), tt.rejected)
			}
			checkNoLeak(t, err, to)
		})
	}
}

// checkNoLeak fails when an error text carries the number or the body.
func checkNoLeak(t *testing.T, err error, to string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if strings.Contains(msg, to[1:]) || strings.Contains(msg, "sms.example.com") {
		t.Errorf("error text carries the number or the body: %q", msg)
	}
}

func TestTwilioRealAuthFailures(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	tests := map[string]struct {
		mod  func(*sms.TwilioConfig)
		code int
	}{
		"wrong secret":       {func(c *sms.TwilioConfig) { c.APISecret = "wrong0secret" }, 20003},
		"token of no one":    {func(c *sms.TwilioConfig) { c.APIKey, c.APISecret, c.AuthToken = "", "", "0123456789abcdef" }, 20003},
		"another account":    {func(c *sms.TwilioConfig) { c.AccountSID = "AC" + strings.Repeat("1", 32) }, 20404},
		"key of other owner": {func(c *sms.TwilioConfig) { c.APIKey = "SK" + strings.Repeat("2", 32) }, 20003},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := sender(t, fake, tt.mod).Send(context.Background(), sms.Message{To: "+15005550006", Body: body})
			var te *sms.TwilioError
			if !errors.As(err, &te) || te.Code != tt.code || !errors.Is(err, sms.ErrUnavailable) || errors.Is(err, sms.ErrRejected) {
				t.Errorf("err %v, want unavailable Twilio error %d", err, tt.code)
			}
		})
	}
	if n := len(fake.Messages()); n != 0 {
		t.Errorf("%d messages created with bad credentials", n)
	}
}

func TestTwilioServerTrouble(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	s := sender(t, fake, nil)
	for _, status := range []int{500, 502, 503, 504} {
		to := fmt.Sprintf("+1500555%04d", status)
		fake.SetOutcomeFor(to, twiliofake.Page(status))
		_, err := s.Send(context.Background(), sms.Message{To: to, Body: body})
		var te *sms.TwilioError
		if !errors.Is(err, sms.ErrUnavailable) || errors.Is(err, sms.ErrRejected) || errors.As(err, &te) {
			t.Errorf("HTML %d page: err %v, want ErrUnavailable without a Twilio code", status, err)
		} else if !strings.Contains(err.Error(), fmt.Sprint(status)) {
			t.Errorf("HTML %d page: the error does not say the status: %v", status, err)
		}
	}

	gone := twiliofake.Start()
	down := sender(t, gone, nil)
	gone.Close()
	_, err := down.Send(context.Background(), sms.Message{To: "+15005550006", Body: body})
	if !errors.Is(err, sms.ErrUnavailable) || errors.Is(err, sms.ErrRejected) {
		t.Errorf("server down: err %v, want ErrUnavailable", err)
	}
}

// providerDelay is how long the fake Twilio takes to answer, far past every
// deadline below: a sender that ignored its deadline would return only then.
// Returning before ignoredAfter, a quarter of it, is what the deadline promises,
// whatever the machine's load.
const (
	providerDelay = 20 * time.Second
	ignoredAfter  = providerDelay / 4
)

// checkGivesUpInTime sends through a sender whose provider answers only after
// providerDelay, once under a caller's deadline and once under the sender's own
// timeout (newSender(true)), and checks that each send gave up as unavailable
// with the deadline exceeded, long before the provider would have answered.
func checkGivesUpInTime(t *testing.T, newSender func(t *testing.T, ownTimeout bool) sms.Sender) {
	t.Helper()
	for name, ownTimeout := range map[string]bool{"caller's deadline": false, "sender's timeout": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSender(t, ownTimeout)
			ctx := context.Background()
			if !ownTimeout {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
				defer cancel()
			}
			start := time.Now()
			_, err := s.Send(ctx, sms.Message{To: "+447700900123", Body: body})
			if took := time.Since(start); took >= ignoredAfter {
				t.Errorf("returned after %v: it waited for the provider past its deadline", took)
			}
			if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, sms.ErrUnavailable) {
				t.Errorf("err %v, want unavailable, deadline exceeded", err)
			}
		})
	}
}

func TestTwilioHonoursDeadline(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	fake.SetOutcome(twiliofake.Slow(providerDelay))
	fake.SetOutcomeFor("+15005550050", twiliofake.Slow(100*time.Millisecond))

	tests := map[string]struct {
		mod      func(*sms.TwilioConfig)
		to       string
		deadline time.Duration // 0: context.Background
		cancelAt time.Duration // > 0: cancel the context then
		want     error         // nil: sent
	}{
		"slower than the hook's deadline": {to: "+15005550006", deadline: 300 * time.Millisecond, want: context.DeadlineExceeded},
		"slower than the sender's timeout": {
			mod: func(c *sms.TwilioConfig) { c.Timeout = 300 * time.Millisecond },
			to:  "+15005550007", want: context.DeadlineExceeded,
		},
		"deadline shorter than timeout": {
			mod: func(c *sms.TwilioConfig) { c.Timeout = time.Minute },
			to:  "+15005550008", deadline: 200 * time.Millisecond, want: context.DeadlineExceeded,
		},
		"cancelled while waiting": {to: "+15005550009", cancelAt: 150 * time.Millisecond, want: context.Canceled},
		"slow but in time":        {to: "+15005550050", deadline: 5 * time.Second},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := sender(t, fake, tt.mod)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.deadline > 0 {
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			if tt.cancelAt > 0 {
				time.AfterFunc(tt.cancelAt, cancel)
			}
			start := time.Now()
			r, err := s.Send(ctx, sms.Message{To: tt.to, Body: body})
			if took := time.Since(start); took >= ignoredAfter {
				t.Errorf("returned after %v: it waited for the provider past its deadline", took)
			}
			if tt.want == nil {
				if err != nil || !strings.HasPrefix(r.ID, "SM") {
					t.Errorf("receipt %+v, err %v", r, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, sms.ErrUnavailable) || errors.Is(err, sms.ErrRejected) {
				t.Errorf("err %v, want ErrUnavailable and %v", err, tt.want)
			}
			checkNoLeak(t, err, tt.to)
		})
	}
}

func TestTwilioRefusesBeforeCalling(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	s := sender(t, fake, nil)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	tests := map[string]struct {
		ctx  context.Context
		msg  sms.Message
		want []error
	}{
		"no plus":          {context.Background(), sms.Message{To: "15005550006", Body: body}, []error{sms.ErrInvalidNumber, sms.ErrRejected}},
		"national format":  {context.Background(), sms.Message{To: "(500) 555-0006", Body: body}, []error{sms.ErrInvalidNumber}},
		"spaces":           {context.Background(), sms.Message{To: "+1 500 555 0006", Body: body}, []error{sms.ErrInvalidNumber}},
		"leading zero":     {context.Background(), sms.Message{To: "+0500555000", Body: body}, []error{sms.ErrInvalidNumber}},
		"too short":        {context.Background(), sms.Message{To: "+123456", Body: body}, []error{sms.ErrInvalidNumber}},
		"too long":         {context.Background(), sms.Message{To: "+1234567890123456", Body: body}, []error{sms.ErrInvalidNumber}},
		"empty":            {context.Background(), sms.Message{To: "", Body: body}, []error{sms.ErrInvalidNumber}},
		"channel address":  {context.Background(), sms.Message{To: "whatsapp:+15005550006", Body: body}, []error{sms.ErrInvalidNumber}},
		"trailing newline": {context.Background(), sms.Message{To: "+15005550006\n", Body: body}, []error{sms.ErrInvalidNumber}},
		"empty body":       {context.Background(), sms.Message{To: "+15005550006"}, []error{sms.ErrRejected}},
		"body over 1600":   {context.Background(), sms.Message{To: "+15005550006", Body: strings.Repeat("é", 1601)}, []error{sms.ErrRejected}},
		"context done":     {done, sms.Message{To: "+15005550006", Body: body}, []error{sms.ErrUnavailable, context.Canceled}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Send(tt.ctx, tt.msg)
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("err %v, want %v", err, w)
				}
			}
		})
	}
	if n := fake.Requests(); n != 0 {
		t.Errorf("Twilio was called %d times", n)
	}
}

func TestTwilioConcurrentSends(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	s := sender(t, fake, nil)
	const n = 24
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := s.Send(context.Background(), sms.Message{To: fmt.Sprintf("+1500555%04d", i), Body: body})
			if err != nil {
				t.Error(err)
			}
			ids[i] = r.ID
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	if len(seen) != n || len(fake.Messages()) != n || fake.Requests() != n {
		t.Errorf("%d distinct receipts, %d messages, %d requests; want %d each", len(seen), len(fake.Messages()), fake.Requests(), n)
	}
}

func TestTwilioLogsMasked(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := sender(t, fake, func(c *sms.TwilioConfig) { c.Log = log })
	r, err := s.Send(context.Background(), sms.Message{To: "+15005550006", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "+15•••06") || !strings.Contains(out, r.ID) {
		t.Errorf("log lacks the masked number or the sid: %s", out)
	}
	if strings.Contains(out, "5005550006") || strings.Contains(out, "sms.example.com") {
		t.Errorf("log carries the number or the body: %s", out)
	}
}

func TestNewTwilioValidates(t *testing.T) {
	t.Parallel()
	const (
		sid    = "AC0123456789abcdef0123456789abcdef"
		key    = "SK0123456789abcdef0123456789abcdef"
		secret = "s3cr3tS3cr3t"
	)
	valid := sms.TwilioConfig{AccountSID: sid, APIKey: key, APISecret: secret, FromNumber: "+15551234567"}
	tests := map[string]struct {
		mod  func(*sms.TwilioConfig)
		want []string // substrings; none: valid
	}{
		"seed settings": {},
		"auth token": {mod: func(c *sms.TwilioConfig) {
			c.APIKey, c.APISecret, c.AuthToken = "", "", "0123456789abcdef0123456789abcdef"
		}},
		"messaging service": {mod: func(c *sms.TwilioConfig) { c.FromNumber, c.MessagingServiceSID = "", serviceSID }},
		"short code":        {mod: func(c *sms.TwilioConfig) { c.FromNumber = "12345" }},
		"alphanumeric":      {mod: func(c *sms.TwilioConfig) { c.FromNumber = "SMSPLUS" }},
		"edge, region, https": {mod: func(c *sms.TwilioConfig) {
			c.Edge, c.Region, c.BaseURL = "dublin", "ie1", "https://relay.example.com/twilio"
		}},
		"loopback http":      {mod: func(c *sms.TwilioConfig) { c.BaseURL = "http://[::1]:8080" }},
		"placeholder sid":    {mod: func(c *sms.TwilioConfig) { c.AccountSID = "ACxxx" }, want: []string{"TWILIO_ACCOUNT_SID: must be"}},
		"no credentials":     {mod: func(c *sms.TwilioConfig) { c.APIKey, c.APISecret = "", "" }, want: []string{"TWILIO_API_KEY: credentials are required"}},
		"key without secret": {mod: func(c *sms.TwilioConfig) { c.APISecret = "" }, want: []string{"TWILIO_API_SECRET: is required"}},
		"secret without key": {mod: func(c *sms.TwilioConfig) { c.APIKey = "" }, want: []string{"TWILIO_API_KEY: must be an API key SID"}},
		"key, and token for callbacks": {mod: func(c *sms.TwilioConfig) {
			c.AuthToken, c.StatusCallback = "0123456789abcdef0123456789abcdef", "https://smsplus.example.com/sms/receipts/twilio"
		}},
		"callback without token": {mod: func(c *sms.TwilioConfig) { c.StatusCallback = "https://smsplus.example.com/sms/receipts/twilio" },
			want: []string{"TWILIO_AUTH_TOKEN: is required with TWILIO_STATUS_CALLBACK"}},
		"token with symbols beside a key": {mod: func(c *sms.TwilioConfig) { c.AuthToken = "to/ken" },
			want: []string{"TWILIO_AUTH_TOKEN: must be letters and digits"}},
		"callback with a fragment": {mod: func(c *sms.TwilioConfig) {
			c.AuthToken, c.StatusCallback = "0123456789abcdef0123456789abcdef", "https://smsplus.example.com/r#x"
		}, want: []string{"TWILIO_STATUS_CALLBACK"}},
		"secret with symbols":  {mod: func(c *sms.TwilioConfig) { c.APISecret = "p@ss/word" }, want: []string{"TWILIO_API_SECRET: is required with TWILIO_API_KEY and must be letters and digits"}},
		"no sender":            {mod: func(c *sms.TwilioConfig) { c.FromNumber = "" }, want: []string{"a sender is required"}},
		"national from":        {mod: func(c *sms.TwilioConfig) { c.FromNumber = "555-123-4567" }, want: []string{"TWILIO_FROM_NUMBER: must be an E.164"}},
		"sender id too long":   {mod: func(c *sms.TwilioConfig) { c.FromNumber = "SMSPLUSALERTS" }, want: []string{"TWILIO_FROM_NUMBER"}},
		"bad service":          {mod: func(c *sms.TwilioConfig) { c.MessagingServiceSID = "MGxxx" }, want: []string{"TWILIO_MESSAGING_SERVICE_SID"}},
		"relative callback":    {mod: func(c *sms.TwilioConfig) { c.StatusCallback = "/status" }, want: []string{"TWILIO_STATUS_CALLBACK"}},
		"negative timeout":     {mod: func(c *sms.TwilioConfig) { c.Timeout = -time.Second }, want: []string{"TWILIO_TIMEOUT_MS"}},
		"edge with a dot":      {mod: func(c *sms.TwilioConfig) { c.Edge = "evil.example.com" }, want: []string{"TWILIO_EDGE"}},
		"plain http elsewhere": {mod: func(c *sms.TwilioConfig) { c.BaseURL = "http://relay.example.com" }, want: []string{"TWILIO_API_BASE_URL: must be https"}},
		"base url with query":  {mod: func(c *sms.TwilioConfig) { c.BaseURL = "https://relay.example.com/?x=1" }, want: []string{"TWILIO_API_BASE_URL: must be an absolute URL"}},
		"every problem at once": {
			mod: func(c *sms.TwilioConfig) {
				*c = sms.TwilioConfig{APIKey: "SKbad", APISecret: secret, MessagingServiceSID: "MG1"}
			},
			want: []string{"TWILIO_ACCOUNT_SID", "TWILIO_API_KEY", "TWILIO_MESSAGING_SERVICE_SID"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			if tt.mod != nil {
				tt.mod(&cfg)
			}
			s, err := sms.NewTwilio(cfg)
			if len(tt.want) == 0 {
				if err != nil || s == nil {
					t.Fatalf("NewTwilio: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, secret := range []string{cfg.APISecret, cfg.AuthToken} {
				if len(secret) > 3 && strings.Contains(err.Error(), secret) {
					t.Errorf("error repeats a secret: %v", err)
				}
			}
		})
	}
}
