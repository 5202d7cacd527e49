//go:build browser

package browsertest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/configs"
)

// The SMS+ side of the tests: the real binaries, started as a user would start
// them, with the console SMS sender whose messages the tests read.

const oktaSecret = "browser-okta-secret-0123456789"

// buildBinaries builds smsplus and the Okta bridge into a temporary directory.
func buildBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range []struct{ out, pkg string }{
		{filepath.Join(dir, "smsplus"), "github.com/smsplus/smsplus/cmd/smsplus"},
		{filepath.Join(dir, "plugins", "smsplus-bridge-okta"), "github.com/smsplus/smsplus/plugins/okta"},
	} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return dir
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// server is one running `smsplus serve`.
type server struct {
	base   string
	cmd    *exec.Cmd
	stderr bytes.Buffer

	mu     sync.Mutex
	stdout bytes.Buffer
	sms    map[string]chan string // phone -> bodies printed by the console sender
}

func (s *server) inbox(phone string) chan string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.sms[phone]
	if !ok {
		ch = make(chan string, 16)
		s.sms[phone] = ch
	}
	return ch
}

// startServer starts smsplus on a free loopback port with laptop defaults, the
// Okta bridge and env, and waits until it is ready.
func startServer(t *testing.T, binDir string, env ...string) *server {
	t.Helper()
	port := freePort(t)
	s := &server{base: fmt.Sprintf("http://127.0.0.1:%d", port), sms: map[string]chan string{}}
	s.cmd = exec.Command(filepath.Join(binDir, "smsplus"), "serve")
	s.cmd.Dir = t.TempDir()
	s.cmd.Env = append(os.Environ(),
		fmt.Sprintf("PORT=%d", port), "BASE_URL="+s.base, "HASH_SALT=browser-salt",
		"DATA_DIR="+filepath.Join(t.TempDir(), "data"), "ENABLED_BRIDGES=okta", "OKTA_SHARED_SECRET="+oktaSecret,
		"LOG_LEVEL=info", "LOG_REQUESTS=true", "PLUGIN_DIR=",
	)
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stderr = &s.stderr
	pipe, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		to := ""
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stdout.WriteString(line + "\n")
			s.mu.Unlock()
			if v, ok := strings.CutPrefix(line, "sms to: "); ok {
				to = v
			}
			if body, ok := strings.CutPrefix(line, "sms body: "); ok {
				s.inbox(to) <- body
			}
		}
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		if t.Failed() {
			s.mu.Lock()
			t.Logf("server %s stdout:\n%s\nstderr:\n%s", s.base, s.stdout.String(), s.stderr.String())
			s.mu.Unlock()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var linkRE = regexp.MustCompile(`(http://127\.0\.0\.1:\d+/([A-Za-z0-9_-]{22}))\b`)

// challenge has Okta ask for a code to be sent to phone, with the IAM locale
// given, and returns the link and the text message that carries it.
func (s *server) challenge(t *testing.T, phone, otp, locale string) (link, cid, body string) {
	t.Helper()
	tmpl, err := configs.Sample("okta")
	if err != nil {
		t.Fatal(err)
	}
	payload := strings.NewReplacer("{{PHONE}}", phone, "{{OTP}}", otp, "{{EVENT_ID}}", "evt-"+otp,
		"{{NOW}}", time.Now().UTC().Format(time.RFC3339), "{{EXPIRES}}", time.Now().Add(5*time.Minute).UTC().Format(time.RFC3339),
		`"locale": "EN-US"`, `"locale": "`+locale+`"`).Replace(string(tmpl))
	req, _ := http.NewRequest(http.MethodPost, s.base+"/hooks/okta", strings.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+oktaSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(answer, []byte("SUCCESSFUL")) {
		t.Fatalf("hook: %d %s", resp.StatusCode, answer)
	}
	select {
	case body = <-s.inbox(phone):
	case <-time.After(10 * time.Second):
		t.Fatalf("no SMS to %s", phone)
	}
	m := linkRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("SMS without a link: %q", body)
	}
	return m[1], m[2], body
}

// post sends a JSON body to the page API, as the page would.
func (s *server) post(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(s.base+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: not JSON (%d): %q", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}
