package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/smsplus/smsplus/host/internal/receipt"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
)

// fakeReceipts answers with err and records what it was given.
type fakeReceipts struct {
	err error

	mu       sync.Mutex
	provider string
	body     string
	public   string
}

func (f *fakeReceipts) Handle(_ context.Context, provider string, _ *http.Request, body []byte, public string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.provider, f.body, f.public = provider, string(body), public
	return f.err
}

func TestReceiptRoute(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		method, path, body string
		err                error
		wantStatus         int
		wantCode           string
	}{
		"accepted":          {method: "POST", path: "/sms/receipts/twilio?ref=a.b", body: "MessageSid=SM1", wantStatus: 200, wantCode: "ok"},
		"accepted by GET":   {method: "GET", path: "/sms/receipts/vonage?messageId=1", wantStatus: 200, wantCode: "ok"},
		"forged":            {method: "POST", path: "/sms/receipts/twilio", err: fmt.Errorf("x: %w", sms.ErrBadReceipt), wantStatus: 403, wantCode: "receipt_refused"},
		"forged reference":  {method: "POST", path: "/sms/receipts/twilio", err: receipt.ErrForged, wantStatus: 403, wantCode: "receipt_refused"},
		"unreadable":        {method: "POST", path: "/sms/receipts/twilio", err: receipt.ErrUnreadable, wantStatus: 400, wantCode: "receipt_unreadable"},
		"unknown provider":  {method: "POST", path: "/sms/receipts/pigeon", err: receipt.ErrUnknownProvider, wantStatus: 404, wantCode: "unknown_provider"},
		"bad provider name": {method: "POST", path: "/sms/receipts/Bad_Name", wantStatus: 404, wantCode: "unknown_provider"},
		"store down":        {method: "POST", path: "/sms/receipts/twilio", err: fmt.Errorf("get: %w", storage.ErrUnavailable), wantStatus: 503, wantCode: "unavailable"},
		"anything else":     {method: "POST", path: "/sms/receipts/twilio", err: fmt.Errorf("boom"), wantStatus: 503, wantCode: "unavailable"},
		"too large":         {method: "POST", path: "/sms/receipts/twilio", body: strings.Repeat("x", 1025), wantStatus: 413, wantCode: "body_too_large"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fr := &fakeReceipts{err: tc.err}
			s, _ := newTestServer(t, nil, func(o *Options) { o.Receipts, o.PublicBaseURL = fr, "https://sms.example" })
			rec := do(s, tc.method, tc.path, "application/x-www-form-urlencoded", tc.body)
			if rec.Code != tc.wantStatus || decode(t, rec)["code"] != tc.wantCode {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, tc.wantStatus, tc.wantCode)
			}
			if tc.wantCode == "ok" {
				fr.mu.Lock()
				defer fr.mu.Unlock()
				if fr.public != "https://sms.example"+tc.path || fr.body != tc.body || !strings.HasPrefix(tc.path, "/sms/receipts/"+fr.provider) {
					t.Fatalf("handler got provider %q, body %q, public URL %q", fr.provider, fr.body, fr.public)
				}
			}
		})
	}
}

func TestReceiptRouteOff(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, nil, nil)
	if rec := do(s, "POST", "/sms/receipts/twilio", "", "x"); rec.Code != 404 || decode(t, rec)["code"] != "unknown_provider" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
