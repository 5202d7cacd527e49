package host

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// healthServer answers /healthz 200 and /readyz with ready, and counts requests.
func healthServer(t *testing.T, ready int) (port string, requests *atomic.Int32) {
	t.Helper()
	requests = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		switch r.URL.Path {
		case "/healthz":
			w.WriteHeader(http.StatusOK)
		case "/readyz":
			w.WriteHeader(ready)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port, requests
}

// healthcheck runs `smsplus healthcheck` in an empty directory (no ./.env).
func healthcheck(t *testing.T, environ []string, args ...string) (int, string) {
	t.Helper()
	envFile := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code := Main(t.Context(), append([]string{"healthcheck", "--env-file", envFile}, args...), environ, &out, &out)
	return code, out.String()
}

// The health check finds the server where serve listens: PORT read from the same
// sources with the same checks. A configuration serve refuses runs no server,
// so the check fails at once and says why, without asking anything.
func TestHealthcheckReadsTheConfigurationAsServeDoes(t *testing.T) {
	t.Parallel()
	port, requests := healthServer(t, http.StatusServiceUnavailable)

	code, out := healthcheck(t, []string{"HASH_SALT=pepper", "PORT=" + port})
	if code != ExitOK || !strings.Contains(out, "ok: GET http://127.0.0.1:"+port+"/healthz: 200") {
		t.Errorf("healthy server: exit %d\n%s", code, out)
	}
	if code, out := healthcheck(t, []string{"HASH_SALT=pepper", "PORT=" + port}, "--ready"); code != ExitFailed || !strings.Contains(out, "503") {
		t.Errorf("unready server: exit %d\n%s", code, out)
	}

	// PORT from the .env file, as serve reads it.
	envFile := filepath.Join(t.TempDir(), "smsplus.env")
	if err := os.WriteFile(envFile, []byte("HASH_SALT=pepper\nPORT="+port+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if code := Main(t.Context(), []string{"healthcheck", "--env-file", envFile}, nil, &buf, &buf); code != ExitOK {
		t.Errorf("PORT from the env file: exit %d\n%s", code, buf.String())
	}

	before := requests.Load()
	for name, tc := range map[string]struct {
		environ []string
		want    string
	}{
		"no HASH_SALT":       {[]string{"PORT=" + port}, "HASH_SALT: is required"},
		"a bad PORT":         {[]string{"HASH_SALT=pepper", "PORT=http"}, "PORT: must be a whole number"},
		"another bad value":  {[]string{"HASH_SALT=pepper", "PORT=" + port, "LOG_LEVEL=loud"}, "LOG_LEVEL: must be one of"},
		"a placeholder salt": {[]string{"HASH_SALT=replace-me", "PORT=" + port}, "HASH_SALT"},
	} {
		code, out := healthcheck(t, tc.environ)
		if code != ExitFailed || !strings.Contains(out, tc.want) || !strings.Contains(out, "no server runs with this configuration") {
			t.Errorf("%s: exit %d, want %d naming %q\n%s", name, code, ExitFailed, tc.want, out)
		}
	}
	if n := requests.Load() - before; n != 0 {
		t.Errorf("%d requests with a configuration serve refuses", n)
	}

	// --url needs no configuration at all.
	if code, out := healthcheck(t, nil, "--url", "http://127.0.0.1:"+port); code != ExitOK {
		t.Errorf("--url: exit %d\n%s", code, out)
	}
}

func TestHealthcheckFailures(t *testing.T) {
	t.Parallel()
	// Nothing listens on a port just closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	if code, out := healthcheck(t, nil, "--url", "http://127.0.0.1:"+closed, "--timeout", "1s"); code != ExitFailed {
		t.Errorf("nothing listening: exit %d, want %d\n%s", code, ExitFailed, out)
	}
	for _, args := range [][]string{{"extra"}, {"--timeout", "0s"}, {"--url", "http://[::1"}} {
		if code, out := healthcheck(t, nil, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, ExitUsage, out)
		}
	}
}
