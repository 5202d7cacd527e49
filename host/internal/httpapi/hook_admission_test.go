package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// postRaw writes a hook request on conn: the headers and the first part of a
// body of declared length n.
func postRaw(t *testing.T, conn net.Conn, path string, n int, part string) {
	t.Helper()
	_, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, n, part)
	if err != nil {
		t.Fatal(err)
	}
}

func answerOf(t *testing.T, r io.Reader) (int, map[string]any) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(r), nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("answer is not JSON (%d): %v", resp.StatusCode, err)
	}
	return resp.StatusCode, m
}

// A client that sends a hook's headers and trickles its body must not hold an
// admission slot: the body is read, under its own deadline, before the hook
// takes one. With one slot, a legitimate hook still goes through while the slow
// one waits, and the slow one is cut off at its body deadline.
func TestHookSlowBodyHoldsNoSlot(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, map[string]*fakeHook{"acme": {parse: otpEvent("+12015550123")}}, func(o *Options) {
		o.MaxInFlightHooks = 1
		o.HookBodyTimeout = 300 * time.Millisecond
	})
	srv := httptest.NewServer(s)
	defer srv.Close()

	slow, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	postRaw(t, slow, "/hooks/acme", 100, `{"a":`)
	time.Sleep(50 * time.Millisecond) // let the server take the slow request in

	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Post(srv.URL+"/hooks/acme", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if m["kind"] != "delivered" {
		t.Fatalf("legitimate hook while a body trickles: %v, want delivered", m)
	}

	// The slow client is answered by its body deadline, in the vendor's format.
	_ = slow.SetReadDeadline(time.Now().Add(2 * time.Second))
	status, m := answerOf(t, slow)
	if status != http.StatusRequestTimeout || m["kind"] != "rejected" {
		t.Fatalf("slow body: %d %v, want 408 rejected", status, m)
	}
}

// One client address cannot hold more than HookMaxPerClient hooks at once;
// another client is not affected.
func TestHookPerClientCap(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	blocking := &fakeHook{parse: func(ctx context.Context, _ *bridge.Request) (*bridge.ParseResult, error) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return &bridge.ParseResult{TestPing: &bridge.TestPing{}}, nil
	}}
	_, lb, _ := net.ParseCIDR("192.0.2.0/24")
	s, _ := newTestServer(t, map[string]*fakeHook{"b": blocking}, func(o *Options) {
		o.HookMaxPerClient = 2
		o.TrustedProxies = []*net.IPNet{lb}
	})
	post := func(client string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/hooks/b", strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "192.0.2.10:4321"
		req.Header.Set("X-Forwarded-For", client)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	done := make(chan *httptest.ResponseRecorder, 2)
	for range 2 {
		go func() { done <- post("198.51.100.7") }()
		<-entered
	}
	if m := decode(t, post("198.51.100.7")); m["code"] != bridge.CodeOverloaded {
		t.Fatalf("third hook of one client: %v, want overloaded", m)
	}
	other := make(chan *httptest.ResponseRecorder, 1)
	go func() { other <- post("198.51.100.8") }()
	<-entered
	close(release)
	if m := decode(t, <-other); m["kind"] != "test_ok" {
		t.Fatalf("another client's hook: %v, want test_ok", m)
	}
	for range 2 {
		if m := decode(t, <-done); m["kind"] != "test_ok" {
			t.Fatalf("first hooks: %v", m)
		}
	}
	// The slots are given back.
	go func() { done <- post("198.51.100.7") }()
	<-entered
	if m := decode(t, <-done); m["kind"] != "test_ok" {
		t.Fatalf("after release: %v", m)
	}
}
