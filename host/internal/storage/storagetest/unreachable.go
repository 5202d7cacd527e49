package storagetest

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
)

// Unreachable checks a store whose server is down or does not answer: every method
// returns an error wrapping storage.ErrUnavailable within the caller's deadline
// (plus scheduling slack), and none panics or hangs. The methods run concurrently,
// each with its own deadline and its own verdict.
func Unreachable(t *testing.T, s storage.Store, deadline time.Duration) {
	t.Helper()
	// Slack covers goroutine scheduling and a driver's last read returning after
	// the deadline fired; a hang would take far longer.
	const slack = 750 * time.Millisecond
	calls := map[string]func(ctx context.Context) error{
		"Ping": func(ctx context.Context) error { return s.Ping(ctx) },
		"Create": func(ctx context.Context) error {
			return s.Create(ctx, storage.Challenges, "c", []byte("v"), time.Minute)
		},
		"Put":    func(ctx context.Context) error { return s.Put(ctx, storage.Users, "u", []byte("v"), 0) },
		"Get":    func(ctx context.Context) error { _, err := s.Get(ctx, storage.Users, "u"); return err },
		"Take":   func(ctx context.Context) error { _, err := s.Take(ctx, storage.Challenges, "c"); return err },
		"Delete": func(ctx context.Context) error { return s.Delete(ctx, storage.Users, "u") },
		"Incr": func(ctx context.Context) error {
			_, err := s.Incr(ctx, storage.UserFailures, "u", time.Minute)
			return err
		},
		"Count": func(ctx context.Context) error { _, err := s.Count(ctx, storage.UserFailures, "u"); return err },
	}
	var wg sync.WaitGroup
	for name, call := range calls {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			start := time.Now()
			err := noPanic(t, name, func() error { return call(ctx) })
			elapsed := time.Since(start)
			if elapsed > deadline+slack {
				t.Errorf("%s against an unreachable server returned after %s, past the caller's %s deadline", name, elapsed.Round(time.Millisecond), deadline)
			}
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("%s against an unreachable server = %v, want an error wrapping storage.ErrUnavailable", name, err)
			}
		})
	}
	wg.Wait()
}

// Proxy is a TCP proxy in front of a real server, so that a test can make the
// server vanish (Down) or stop answering (Blackhole) under an open store.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  proxyMode
	conns map[net.Conn]bool // open connections; true for the server side
	wg    sync.WaitGroup
}

type proxyMode int

const (
	forwarding proxyMode = iota
	blackholed
	down
)

// NewProxy listens on a free loopback port and forwards each connection to target.
// It is closed when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.Down)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Blackhole keeps every client connection open, and accepts new ones, but forwards
// nothing more either way: requests go unanswered, as behind a dead route.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode != forwarding {
		return
	}
	p.mode = blackholed
	for c, server := range p.conns {
		if server {
			c.Close()
		}
	}
}

// Down closes the listener and every connection, so that clients see resets and
// new connections are refused. It waits for the proxy's goroutines.
func (p *Proxy) Down() {
	p.mu.Lock()
	if p.mode != down {
		p.mode = down
		p.ln.Close()
		for c := range p.conns {
			c.Close()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// track registers c unless the proxy is down, in which case it closes c.
func (p *Proxy) track(c net.Conn, server bool) (proxyMode, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == down {
		c.Close()
		return down, false
	}
	p.conns[c] = server
	return p.mode, true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) current() proxyMode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

func (p *Proxy) serve(client net.Conn) {
	mode, ok := p.track(client, false)
	if !ok {
		return
	}
	defer p.untrack(client)
	if mode == blackholed {
		_, _ = io.Copy(io.Discard, client)
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	if _, ok := p.track(server, true); !ok {
		return
	}
	defer p.untrack(server)

	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = io.Copy(client, server)
		if p.current() != blackholed {
			client.Close() // the server hung up: so does the proxy
		}
	})
	_, _ = io.Copy(server, client)
	if p.current() == blackholed {
		// Keep reading so that the client's writes succeed and it waits for an answer.
		_, _ = io.Copy(io.Discard, client)
	}
	server.Close()
	wg.Wait()
}

// ClosedAddr returns a loopback host:port where nothing listens: connections are refused.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// SilentAddr returns a loopback host:port that accepts connections and never
// answers, like a server that hangs. Everything is closed when the test ends.
func SilentAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}
