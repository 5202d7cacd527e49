package host_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smsplus/smsplus/configs"
	"github.com/smsplus/smsplus/host/internal/biometrics/local"
	"github.com/smsplus/smsplus/host/internal/e2e"
)

// The end-to-end test builds the real binaries, starts `smsplus serve` on laptop
// defaults with the Okta bridge, and walks one user through the whole flow the way
// Okta and a phone would.

const (
	e2eSecret = "e2e-okta-secret-0123456789"
	e2ePhone  = "+12015550100"
)

type server struct {
	t       testing.TB
	base    string
	cmd     *exec.Cmd
	mu      sync.Mutex
	stdout  bytes.Buffer
	stderr  bytes.Buffer
	smsSeen chan string
}

func buildBinaries(t testing.TB) string {
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

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServer starts `smsplus serve` on laptop defaults plus extraEnv (later
// settings win).
func startServer(t testing.TB, binDir string, extraEnv ...string) *server {
	t.Helper()
	port := freePort(t)
	s := &server{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), smsSeen: make(chan string, 16)}
	s.cmd = exec.Command(filepath.Join(binDir, "smsplus"), "serve")
	s.cmd.Dir = t.TempDir() // no .env, no ./bin/plugins: plugins are found next to the binary
	s.cmd.Env = append(os.Environ(),
		fmt.Sprintf("PORT=%d", port), "BASE_URL="+s.base, "HASH_SALT=e2e-salt",
		"DATA_DIR="+filepath.Join(t.TempDir(), "data"), "ENABLED_BRIDGES=okta", "OKTA_SHARED_SECRET="+e2eSecret,
		"LOCAL_ENROLL_SAMPLES=3", "LOG_LEVEL=debug", "LOG_REQUESTS=true", "PLUGIN_DIR=", "SHUTDOWN_DRAIN_MS=0",
	)
	s.cmd.Env = append(s.cmd.Env, extraEnv...)
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
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stdout.WriteString(line + "\n")
			s.mu.Unlock()
			if body, ok := strings.CutPrefix(line, "sms body: "); ok {
				s.smsSeen <- body
			}
		}
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("server stdout:\n%s\nserver stderr:\n%s", s.stdout.String(), s.stderr.String())
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

func (s *server) hook(body []byte, auth string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.base+"/hooks/okta", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return s.send(req)
}

func (s *server) send(req *http.Request) (int, map[string]any) {
	s.t.Helper()
	resp, err := phone.Client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		s.t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

// verify posts a pattern from the test's phone, as its page would: with the
// proof that the phrase was typed (the harness reads the phrase from the
// page's spelled-out view) and the browser's device cookie and signature.
func (s *server) verify(cid, textID, tp string) (int, map[string]any) {
	s.t.Helper()
	body := phone.VerifyBody(cid, textID, tp, phrases.Lookup(phone.Client, s.base, cid, textID))
	req, _ := http.NewRequest(http.MethodPost, s.base+"/verify-otp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return s.send(req)
}

// The phones of these tests are one browser (each test uses its own numbers,
// so their device cookies never meet), which keeps the device cookies SMS+
// sets; phrases are read once per text id.
var (
	phone   = e2e.NewDevice(true)
	phrases e2e.PhraseBook
)

func (s *server) post(path string, fields map[string]string) (int, map[string]any) {
	s.t.Helper()
	body, _ := json.Marshal(fields)
	req, _ := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return s.send(req)
}

func (s *server) nextSMS() string {
	s.t.Helper()
	select {
	case body := <-s.smsSeen:
		return body
	case <-time.After(5 * time.Second):
		s.t.Fatal("no SMS printed by the console sender")
		return ""
	}
}

func (s *server) noSMS() {
	s.t.Helper()
	select {
	case body := <-s.smsSeen:
		s.t.Fatalf("unexpected SMS: %q", body)
	case <-time.After(200 * time.Millisecond):
	}
}

func oktaPayload(t testing.TB, phone, otp string) []byte {
	t.Helper()
	tmpl, err := configs.Sample("okta")
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("{{PHONE}}", phone, "{{OTP}}", otp, "{{EVENT_ID}}", "evt-e2e",
		"{{NOW}}", time.Now().UTC().Format(time.RFC3339), "{{EXPIRES}}", time.Now().Add(5*time.Minute).UTC().Format(time.RFC3339))
	return []byte(r.Replace(string(tmpl)))
}

var linkRE = regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/([A-Za-z0-9_-]{22})\b`)

// page fetches the challenge page and reads what the recorder reads from it.
func (s *server) page(link string) (textID string, length int) {
	s.t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	html, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'nonce-") ||
		resp.Header.Get("Cache-Control") != "no-store" {
		s.t.Fatalf("page: %d %v", resp.StatusCode, resp.Header)
	}
	if !bytes.Contains(html, []byte(`src="data:image/png;base64,`)) {
		s.t.Fatal("the page does not show the phrase as an image")
	}
	m := regexp.MustCompile(`data-text-id="(\d+)"`).FindSubmatch(html)
	n := regexp.MustCompile(`data-length="(\d+)"`).FindSubmatch(html)
	if m == nil || n == nil {
		s.t.Fatalf("page lacks the recorder's data attributes:\n%s", html)
	}
	fmt.Sscan(string(n[1]), &length)
	return string(m[1]), length
}

// typist types a phrase of the given length with a fixed timing profile. The test
// cannot read the phrase (it is an image), so it types a stand-in of the same
// length; the recorder sends only timings, never characters.
func typist(p local.TimingProfile, seed uint64) func(textID string, n int) string {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func(textID string, n int) string {
		pat := local.SynthesizePattern(strings.Repeat("e", n), p, rng)
		parts := strings.SplitN(pat, ":", 3)
		return parts[0] + ":" + textID + ":" + parts[2]
	}
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := buildBinaries(t)
	s := startServer(t, bin)
	owner := typist(local.TimingProfile{HoldMS: 95, FlightMS: 160, Rhythm: 1}, 7)
	stranger := typist(local.TimingProfile{HoldMS: 170, FlightMS: 330, Rhythm: 99}, 8)

	// 1. Okta calls the hook; SMS+ answers SUCCESSFUL and texts a link with the code
	// (the user is enrolling).
	status, answer := s.hook(oktaPayload(t, e2ePhone, "012345"), "Bearer "+e2eSecret)
	cmds, _ := answer["commands"].([]any)
	if status != 200 || len(cmds) != 1 || !strings.Contains(fmt.Sprint(cmds[0]), "SUCCESSFUL") {
		t.Fatalf("hook answer %d %v", status, answer)
	}
	body := s.nextSMS()
	link := linkRE.FindStringSubmatch(body)
	if link == nil || !strings.Contains(body, "012345") {
		t.Fatalf("enrolling SMS %q lacks the link or the code", body)
	}
	if strings.Contains(fmt.Sprint(answer), link[2]) || strings.Contains(fmt.Sprint(answer), "012345") {
		t.Fatal("the answer to Okta leaks the challenge id or the code")
	}
	cid := link[2]

	// 2. The page; enrollment samples until enrolled; then the code, once.
	textID, n := s.page(link[0])
	for i := 1; i <= 3; i++ {
		status, res := s.verify(cid, textID, owner(textID, n))
		enr, _ := res["enrollment"].(map[string]any)
		if status != 200 || res["action"] != "enroll" || enr["samples"] != float64(i) || res["otp"] != nil {
			t.Fatalf("enrollment %d: %d %v", i, status, res)
		}
	}
	status, res := s.verify(cid, textID, owner(textID, n))
	if status != 200 || res["result"] != float64(1) || res["otp"] != "012345" {
		t.Fatalf("verify: %d %v", status, res)
	}
	status, res = s.verify(cid, textID, owner(textID, n))
	if status != 404 || res["code"] != float64(101) {
		t.Fatalf("second reveal: %d %v", status, res)
	}

	// 3. Enrolled now: the next SMS carries only the link; a stranger is refused.
	s.hook(oktaPayload(t, e2ePhone, "777888"), "Bearer "+e2eSecret)
	body = s.nextSMS()
	if strings.Contains(body, "777888") {
		t.Fatalf("an enrolled user's SMS carries the code: %q", body)
	}
	link = linkRE.FindStringSubmatch(body)
	textID2, _ := s.page(link[0])
	if textID2 != textID {
		t.Fatalf("the user's phrase changed between challenges")
	}
	status, res = s.verify(link[2], textID, stranger(textID, n))
	if status != 200 || res["result"] != float64(0) || res["otp"] != nil {
		t.Fatalf("stranger: %d %v", status, res)
	}
	status, res = s.verify(link[2], textID, owner(textID, n))
	if status != 200 || res["otp"] != "777888" {
		t.Fatalf("owner after a stranger's try: %d %v", status, res)
	}

	// Opting out with the disable token wipes the profile: the next code starts a
	// new enrollment, so its SMS carries the code again.
	disableTid, _ := res["disableTid"].(string)
	status, res = s.post("/disable-account", map[string]string{"disableTid": disableTid, "phone": e2ePhone})
	if status != 200 || res["action"] != "disabled" {
		t.Fatalf("disable: %d %v", status, res)
	}
	s.hook(oktaPayload(t, e2ePhone, "909090"), "Bearer "+e2eSecret)
	if body = s.nextSMS(); !strings.Contains(body, "909090") {
		t.Fatalf("after disable the user enrolls again: %q", body)
	}

	// 4. Bad input, each answered without a challenge being made.
	t.Run("bad input", func(t *testing.T) {
		s.t = t
		status, res := s.hook(oktaPayload(t, e2ePhone, "111222"), "Bearer wrong-secret-0123456789")
		if status != 401 || !strings.Contains(fmt.Sprint(res["error"]), "errorSummary") {
			t.Fatalf("wrong secret: %d %v", status, res)
		}
		status, res = s.hook([]byte(`{"data":`), "Bearer "+e2eSecret)
		if status != 400 || !strings.Contains(fmt.Sprint(res), "MALFORMED_REQUEST") {
			t.Fatalf("malformed JSON: %d %v", status, res)
		}
		status, _ = s.hook(bytes.Repeat([]byte(" "), 65<<10), "Bearer "+e2eSecret)
		if status != 413 {
			t.Fatalf("oversized body: %d", status)
		}
		req, _ := http.NewRequest(http.MethodPost, s.base+"/hooks/nope", strings.NewReader("{}"))
		status, res = s.send(req)
		if status != 404 || res["code"] != "unknown_bridge" {
			t.Fatalf("unknown bridge: %d %v", status, res)
		}
		s.noSMS()
	})

	// 5. The plugin process holds none of the host's secrets in its environment:
	// a bridge gets its own settings through Configure only.
	pids, _ := exec.Command("pgrep", "-P", fmt.Sprint(s.cmd.Process.Pid)).Output()
	for _, pid := range strings.Fields(string(pids)) {
		environ, err := os.ReadFile("/proc/" + pid + "/environ")
		if err != nil {
			continue
		}
		if bytes.Contains(environ, []byte(e2eSecret)) || bytes.Contains(environ, []byte("e2e-salt")) {
			t.Fatalf("plugin %s inherited the host's secrets", pid)
		}
		if !bytes.Contains(environ, []byte("SMSPLUS_BRIDGE_PLUGIN=")) {
			t.Fatalf("process %s is not the plugin", pid)
		}
	}
	if len(strings.Fields(string(pids))) == 0 {
		t.Fatal("no plugin process found under the server")
	}

	// 6. SIGTERM stops the server and its plugin.
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	out, _ := exec.Command("pgrep", "-f", filepath.Join(bin, "plugins", "smsplus-bridge-okta")).Output()
	if len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("plugin still running after shutdown: pids %s", out)
	}
	for _, secret := range []string{e2eSecret, "012345", "777888", "909090", e2ePhone} {
		if strings.Contains(s.stderr.String(), secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
}

// runCommand runs smsplus with the e2e settings plus extraEnv and returns its
// combined output.
func runCommand(binDir string, extraEnv []string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(binDir, "smsplus"), args...)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "HASH_SALT=e2e-salt", "ENABLED_BRIDGES=okta", "OKTA_SHARED_SECRET="+e2eSecret, "PLUGIN_DIR=")
	cmd.Env = append(cmd.Env, extraEnv...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
