package sms_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/sms/snsfake"
)

func snsSender(t *testing.T, fake *snsfake.Server, mod func(*sms.SNSConfig)) *sms.SNS {
	t.Helper()
	cfg := sms.SNSConfig{
		Region:          "eu-west-1",
		AccessKeyID:     fake.AccessKeyID,
		SecretAccessKey: fake.SecretAccessKey,
		Endpoint:        fake.URL,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := sms.NewSNS(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func findSNS(fake *snsfake.Server, id string) snsfake.Message {
	for _, m := range fake.Messages() {
		if m.ID == id {
			return m
		}
	}
	return snsfake.Message{}
}

func TestSNSSends(t *testing.T) {
	t.Parallel()
	fake := snsfake.New(t)
	tests := map[string]struct {
		mod   func(*sms.SNSConfig)
		msg   sms.Message
		attrs map[string]string
	}{
		"transactional, no sender": {
			msg:   sms.Message{To: "+447700900123", Body: body},
			attrs: map[string]string{"AWS.SNS.SMS.SMSType": "String:Transactional"},
		},
		"default sender id and price": {
			mod: func(c *sms.SNSConfig) { c.SenderID, c.MaxPrice = "SMSPlus", "0.50" },
			msg: sms.Message{To: "+33612345678", Body: "Code : 1234 ✓ \"quoted\"\nline"},
			attrs: map[string]string{"AWS.SNS.SMS.SMSType": "String:Transactional", "AWS.SNS.SMS.SenderID": "String:SMSPlus",
				"AWS.SNS.SMS.MaxPrice": "Number:0.50"},
		},
		"per-message origination number replaces the sender id": {
			mod: func(c *sms.SNSConfig) { c.SenderID = "SMSPlus" },
			msg: sms.Message{To: "+15005550006", Body: body, From: "+15550001111"},
			attrs: map[string]string{"AWS.SNS.SMS.SMSType": "String:Transactional",
				"AWS.MM.SMS.OriginationNumber": "String:+15550001111"},
		},
		"per-message sender id replaces the number": {
			mod: func(c *sms.SNSConfig) { c.OriginationNumber, c.SMSType = "+15550001111", "Promotional" },
			msg: sms.Message{To: "+4915112345678", Body: body, From: "ACME"},
			attrs: map[string]string{"AWS.SNS.SMS.SMSType": "String:Promotional",
				"AWS.SNS.SMS.SenderID": "String:ACME"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := snsSender(t, fake, tt.mod).Send(context.Background(), tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			got := findSNS(fake, r.ID)
			want := snsfake.Message{ID: r.ID, PhoneNumber: tt.msg.To, Text: tt.msg.Body, Attributes: tt.attrs,
				AccessKeyID: fake.AccessKeyID, Region: "eu-west-1"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("published\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestSNSErrors(t *testing.T) {
	t.Parallel()
	fake := snsfake.New(t)
	s := snsSender(t, fake, nil)
	tests := map[string]struct {
		outcome  snsfake.Outcome
		rejected bool
		code     string
	}{
		"invalid parameter":   {snsfake.Fail("InvalidParameter", 400), true, "InvalidParameter"},
		"invalid value":       {snsfake.Fail("InvalidParameterValue", 400), true, "InvalidParameterValue"},
		"throttled":           {snsfake.Fail("Throttled", 429), false, "Throttled"},
		"authorization":       {snsfake.Fail("AuthorizationError", 403), false, "AuthorizationError"},
		"spend limit reached": {snsfake.Fail("KMSThrottling", 400), false, "KMSThrottling"},
		"internal error":      {snsfake.Fail("InternalError", 500), false, "InternalError"},
		"proxy 502":           {snsfake.Page(502), false, ""},
	}
	i := 0
	for name, tt := range tests {
		i++
		to := fmt.Sprintf("+4477009%05d", i)
		fake.SetOutcomeFor(to, tt.outcome)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Send(context.Background(), sms.Message{To: to, Body: body})
			if err == nil {
				t.Fatal("sent")
			}
			if errors.Is(err, sms.ErrRejected) != tt.rejected || errors.Is(err, sms.ErrUnavailable) == tt.rejected {
				t.Errorf("err %v: rejected %v, want %v", err, errors.Is(err, sms.ErrRejected), tt.rejected)
			}
			var se *sms.SNSError
			if tt.code != "" && (!errors.As(err, &se) || se.Code != tt.code) {
				t.Errorf("err %#v, want SNSError %s", err, tt.code)
			}
			checkNoSecrets(t, err.Error(), to, fake.SecretAccessKey)
		})
	}
	// One request per send: the SDK's retries are off (Publish is not
	// idempotent). Cleanup runs after the parallel subtests.
	t.Cleanup(func() {
		if got := fake.Requests(); got != len(tests) {
			t.Errorf("%d requests for %d sends", got, len(tests))
		}
	})
}

func TestSNSWrongCredentials(t *testing.T) {
	t.Parallel()
	fake := snsfake.New(t)
	tests := map[string]struct {
		mod  func(*sms.SNSConfig)
		code string
	}{
		"wrong secret":     {func(c *sms.SNSConfig) { c.SecretAccessKey = "wrong-secret-access-key-0000" }, "SignatureDoesNotMatch"},
		"unknown key id":   {func(c *sms.SNSConfig) { c.AccessKeyID = "AKIAUNKNOWN000000000" }, "InvalidClientTokenId"},
		"session token on": {func(c *sms.SNSConfig) { c.SessionToken = "tok" }, ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			s := snsSender(t, fake, func(c *sms.SNSConfig) {
				tt.mod(c)
				c.Log = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})
			_, err := s.Send(context.Background(), sms.Message{To: "+447700900123", Body: body})
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				checkNoSecrets(t, buf.String(), "+447700900123", fake.SecretAccessKey, "tok")
				return
			}
			var se *sms.SNSError
			if !errors.As(err, &se) || se.Code != tt.code || !errors.Is(err, sms.ErrUnavailable) {
				t.Errorf("err %v, want unavailable %s", err, tt.code)
			}
			checkNoSecrets(t, err.Error(), "+447700900123", "wrong-secret-access-key-0000", fake.SecretAccessKey)
		})
	}
}

func TestSNSHonoursDeadline(t *testing.T) {
	t.Parallel()
	fake := snsfake.New(t)
	fake.SetOutcome(snsfake.Slow(providerDelay))
	checkGivesUpInTime(t, func(t *testing.T, ownTimeout bool) sms.Sender {
		return snsSender(t, fake, func(c *sms.SNSConfig) {
			if ownTimeout {
				c.Timeout = 200 * time.Millisecond
			}
		})
	})
}

func TestSNSServerDown(t *testing.T) {
	t.Parallel()
	fake := snsfake.New(t)
	s := snsSender(t, fake, nil)
	fake.Close()
	_, err := s.Send(context.Background(), sms.Message{To: "+447700900123", Body: body})
	if !errors.Is(err, sms.ErrUnavailable) {
		t.Fatalf("err %v", err)
	}
	checkNoSecrets(t, err.Error(), "+447700900123", fake.SecretAccessKey)
}

func TestSNSRefusesBeforeCalling(t *testing.T) {
	t.Parallel()
	fake := snsfake.New(t)
	s := snsSender(t, fake, nil)
	for name, m := range map[string]sms.Message{
		"national number": {To: "07700900123", Body: body},
		"empty body":      {To: "+447700900123"},
		"bad sender":      {To: "+447700900123", Body: body, From: "bad sender!"},
	} {
		if _, err := s.Send(context.Background(), m); err == nil {
			t.Errorf("%s: sent", name)
		}
	}
	if fake.Requests() != 0 {
		t.Errorf("%d requests", fake.Requests())
	}
}

func TestNewSNSValidates(t *testing.T) {
	t.Parallel()
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	valid := sms.SNSConfig{Region: "us-east-1", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: secret}
	tests := map[string]struct {
		mod  func(*sms.SNSConfig)
		want []string
	}{
		"static keys":    {},
		"default chain":  {mod: func(c *sms.SNSConfig) { c.AccessKeyID, c.SecretAccessKey = "", "" }},
		"vpc endpoint":   {mod: func(c *sms.SNSConfig) { c.Endpoint = "https://vpce-1.sns.us-east-1.vpce.amazonaws.com" }},
		"no region":      {mod: func(c *sms.SNSConfig) { c.Region = "" }, want: []string{"sns: region: must be"}},
		"secret, no key": {mod: func(c *sms.SNSConfig) { c.AccessKeyID = "" }, want: []string{"access_key_id: must be"}},
		"key, no secret": {mod: func(c *sms.SNSConfig) { c.SecretAccessKey = "" }, want: []string{"secret_access_key: is required"}},
		"sms type":       {mod: func(c *sms.SNSConfig) { c.SMSType = "transactional" }, want: []string{"sms_type: must be"}},
		"sender id":      {mod: func(c *sms.SNSConfig) { c.SenderID = "SMS-PLUS" }, want: []string{"sender_id: must be"}},
		"origination":    {mod: func(c *sms.SNSConfig) { c.OriginationNumber = "5550001111" }, want: []string{"origination_number: must be"}},
		"plain http":     {mod: func(c *sms.SNSConfig) { c.Endpoint = "http://sns.example.com" }, want: []string{"endpoint: must be https"}},
		"every problem at once": {mod: func(c *sms.SNSConfig) {
			*c = sms.SNSConfig{SecretAccessKey: secret, SMSType: "x", MaxPrice: "lots", Timeout: -1}
		}, want: []string{"region", "access_key_id", "sms_type", "max_price", "timeout"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			if tt.mod != nil {
				tt.mod(&cfg)
			}
			_, err := sms.NewSNS(cfg)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
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
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error repeats the secret: %v", err)
			}
		})
	}
}
