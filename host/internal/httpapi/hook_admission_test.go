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

	"github.com/smsplus/smsplus/host/internal/admission"
	"github.com/smsplus/smsplus/host/internal/hookflow"
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
		o.Flow = hookflow.New(o.Service, hookflow.Options{Admission: admission.Options{Max: 1}})
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
	waitReading(t, s, 1) // the server is reading the slow body

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

// waitReading waits until the server reads n hook bodies at once.
func waitReading(t *testing.T, s *Server, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		s.clients.mu.Lock()
		reading := 0
		for _, k := range s.clients.n {
			reading += k
		}
		s.clients.mu.Unlock()
		if reading >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server reads %d hook bodies, want %d", reading, n)
		}
	}
}

// One client address may be sending only HookMaxPerClient hook bodies at once;
// more are refused before a byte of their body is read, and another client is
// not affected. A hook whose body has arrived is not counted: a vendor's burst
// from one address while the SMS provider is slow must not be refused.
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
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	s, _ := newTestServer(t, map[string]*fakeHook{"b": blocking}, func(o *Options) {
		o.HookMaxPerClient = 2
		o.HookBodyTimeout = 10 * time.Second
		o.TrustedProxies = []*net.IPNet{loopback}
	})
	srv := httptest.NewServer(s)
	defer srv.Close()
	var conns []net.Conn
	defer func() { // before srv.Close, which waits for their handlers
		for _, c := range conns {
			c.Close()
		}
	}()
	// trickle opens a connection whose hook body never completes.
	trickle := func(client string) net.Conn {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		_, err = fmt.Fprintf(conn, "POST /hooks/b HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", client)
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	post := func(client string) map[string]any {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/hooks/b", strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", client)
		resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
		if err != nil {
			t.Error(err)
			return nil
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	trickle("198.51.100.7")
	trickle("198.51.100.7")
	waitReading(t, s, 2)
	third := trickle("198.51.100.7")
	// Refused before its body is read: the answer comes long before the body
	// deadline would have passed.
	_ = third.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, m := answerOf(t, third); m["code"] != "overloaded" {
		t.Fatalf("third body from one client: %v, want overloaded", m)
	}
	// Another client goes through, and so does a burst of whole hooks.
	done := make(chan map[string]any, 4)
	go func() { done <- post("198.51.100.8") }()
	for range 3 {
		go func() { done <- post("198.51.100.9") }()
	}
	for range 4 {
		<-entered
	}
	close(release)
	for range 4 {
		if m := <-done; m["kind"] != "test_ok" {
			t.Fatalf("hook of a client not sending a slow body: %v, want test_ok", m)
		}
	}
}
