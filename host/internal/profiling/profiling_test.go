package profiling

import (
	"errors"
	"io"
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
	h := Handler()
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
