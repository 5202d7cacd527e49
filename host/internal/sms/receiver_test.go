package sms_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/smsplus/smsplus/host/internal/sms"
)

// receiver is SMS+'s receipts route reduced to what a provider needs: a real
// HTTP server that hands each callback to a ReceiptReader, with the URL the
// provider was told to call, and answers 204 or 403 as the route would.
type receiver struct {
	URL string

	mu      sync.Mutex
	got     []sms.Delivery
	refused []error
}

func newReceiver(t *testing.T, rr sms.ReceiptReader) *receiver {
	t.Helper()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			http.Error(w, "too big", http.StatusRequestEntityTooLarge)
			return
		}
		ds, err := rr.ReadReceipt(r, body, rc.URL+r.URL.RequestURI())
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err != nil {
			rc.refused = append(rc.refused, err)
			http.Error(w, "refused", http.StatusForbidden)
			return
		}
		rc.got = append(rc.got, ds...)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

func (rc *receiver) deliveries() []sms.Delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]sms.Delivery(nil), rc.got...)
}

func (rc *receiver) lastRefusal() error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.refused) == 0 {
		return nil
	}
	return rc.refused[len(rc.refused)-1]
}

// post sends a raw callback to the receiver and returns its status.
func (rc *receiver) post(t *testing.T, method, pathQuery, contentType, body string, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, rc.URL+pathQuery, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// wantRefused checks that the last callback was refused with ErrBadReceipt and
// the reason.
func wantRefused(t *testing.T, rc *receiver, status int, reason string) {
	t.Helper()
	err := rc.lastRefusal()
	if status != http.StatusForbidden || !errors.Is(err, sms.ErrBadReceipt) {
		t.Fatalf("status %d, err %v: want refused with ErrBadReceipt", status, err)
	}
	if got := sms.ReceiptRefusal(err); got != reason {
		t.Errorf("reason %q, want %q (%v)", got, reason, err)
	}
}
