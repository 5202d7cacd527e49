package profiling

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		addr     string
		allowAny bool
		notLoop  bool // ErrNotLoopback
		bad      bool // another error
	}{
		"ipv4 loopback":        {addr: "127.0.0.1:6060"},
		"other 127/8":          {addr: "127.0.0.2:6060"},
		"ipv6 loopback":        {addr: "[::1]:6060"},
		"localhost":            {addr: "localhost:6060"},
		"every interface":      {addr: ":6060", notLoop: true},
		"unspecified":          {addr: "0.0.0.0:6060", notLoop: true},
		"private":              {addr: "10.0.0.7:6060", notLoop: true},
		"name":                 {addr: "example.com:6060", notLoop: true},
		"overridden":           {addr: "0.0.0.0:6060", allowAny: true},
		"no port":              {addr: "127.0.0.1", bad: true},
		"empty port":           {addr: "127.0.0.1:", bad: true},
		"overridden, no port":  {addr: "0.0.0.0", allowAny: true, bad: true},
		"ipv6 without bracket": {addr: "::1:6060", bad: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := CheckAddr(tc.addr, tc.allowAny)
			switch {
			case tc.notLoop && !errors.Is(err, ErrNotLoopback):
				t.Errorf("CheckAddr(%q) = %v, want ErrNotLoopback", tc.addr, err)
			case tc.bad && (err == nil || errors.Is(err, ErrNotLoopback)):
				t.Errorf("CheckAddr(%q) = %v, want a format error", tc.addr, err)
			case !tc.notLoop && !tc.bad && err != nil:
				t.Errorf("CheckAddr(%q) = %v, want nil", tc.addr, err)
			}
		})
	}
}

func TestListenRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	if _, err := Listen(":0", false); !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("Listen(:0) = %v, want ErrNotLoopback", err)
	}
	ln, err := Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

func TestHandlerServesProfilesOnly(t *testing.T) {
	t.Parallel()
	h := Handler(true)
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		body, _ := io.ReadAll(rec.Body)
		return rec.Code, string(body)
	}
	if code, body := get("/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("index: %d", code)
	}
	if code, _ := get("/debug/pprof/heap?debug=1"); code != 200 {
		t.Errorf("heap: %d", code)
	}
	if code, _ := get("/"); code != 404 {
		t.Errorf("/: %d, want 404", code)
	}
}

// A web page the operator's browser opens can rebind its own name to
// 127.0.0.1 (DNS rebinding) and then read the profiler on a loopback port,
// say one forwarded to the operator's machine: the browser sends the page's
// name as Host. The loopback-only profiler answers only Host names that are
// loopback addresses or localhost.
func TestLoopbackProfilerRefusesForeignHost(t *testing.T) {
	t.Parallel()
	ln, err := Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: Handler(false)}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	get := func(host string) int {
		req, err := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/debug/pprof/cmdline", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port, "LOCALHOST"} {
		if code := get(host); code != http.StatusOK {
			t.Errorf("Host %q: %d, want 200", host, code)
		}
	}
	for _, host := range []string{"rebound.example:" + port, "rebound.example", "10.0.0.8:" + port, "localhost.rebound.example"} {
		if code := get(host); code != http.StatusMisdirectedRequest {
			t.Errorf("Host %q: %d, want 421", host, code)
		}
	}
}
