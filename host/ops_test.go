package host_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics/local"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
)

// The operations tests check that binaries built the image's way start on
// environment settings alone, shut down without cutting off a hook, count what
// they did at /metrics and log nothing sensitive. The deployment files
// themselves are checked in deploy/.

const opsRoot = ".." // the repository, from host/

// ---- binaries built the image's way -------------------------------------------

// opsBuffer is a bytes.Buffer safe for a process and the test at once.
type opsBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *opsBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *opsBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// opsProc is `smsplus serve` started with environment settings only.
type opsProc struct {
	t       *testing.T
	base    string
	cmd     *exec.Cmd
	stdout  opsBuffer
	stderr  opsBuffer
	exited  chan struct{}
	waitErr error
}

const opsSecret = "ops-okta-secret-6a0c1f93be2d"

// opsEnv is the least a server needs: no file, no flag, no inherited variable.
func opsEnv(port int, extra ...string) []string {
	return append([]string{
		fmt.Sprintf("PORT=%d", port), fmt.Sprintf("BASE_URL=http://127.0.0.1:%d", port), "HASH_SALT=ops-salt-5b1e7c", "ENABLED_BRIDGES=okta",
		"OKTA_SHARED_SECRET=" + opsSecret, "SHUTDOWN_DRAIN_MS=0",
	}, extra...)
}

func opsStart(t *testing.T, bin string, extra ...string) *opsProc {
	t.Helper()
	port := freePort(t)
	p := &opsProc{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), exited: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(bin, "smsplus"), "serve")
	p.cmd.Dir = t.TempDir() // no .env: the embedded store goes to ./data here
	p.cmd.Env = opsEnv(port, extra...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitErr = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("server stdout:\n%s\nserver stderr:\n%s", p.stdout.String(), p.stderr.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, _ := p.get("/readyz", ""); code == http.StatusOK {
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("serve exited: %v\n%s", p.waitErr, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("server not ready after 20 s")
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (p *opsProc) get(route, token string) (int, []byte) {
	req, _ := http.NewRequest(http.MethodGet, p.base+route, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// opsHookResult is what a vendor got back from one hook.
type opsHookResult struct {
	status    int
	body      []byte
	err       error
	requestID string
	sent, got time.Time
}

func (p *opsProc) hook(body []byte, auth string) opsHookResult {
	req, _ := http.NewRequest(http.MethodPost, p.base+"/hooks/okta", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	r := opsHookResult{sent: time.Now()}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.err = err
		return r
	}
	defer resp.Body.Close()
	r.body, r.err = io.ReadAll(resp.Body)
	r.got, r.status, r.requestID = time.Now(), resp.StatusCode, resp.Header.Get("X-Request-Id")
	return r
}

// opsOktaStatus is the status Okta reads from a complete success answer, or "".
func opsOktaStatus(body []byte) string {
	var a struct {
		Commands []struct {
			Type  string `json:"type"`
			Value []struct {
				Status string `json:"status"`
			} `json:"value"`
		} `json:"commands"`
	}
	if json.Unmarshal(body, &a) != nil || len(a.Commands) != 1 || len(a.Commands[0].Value) != 1 {
		return ""
	}
	return a.Commands[0].Value[0].Status
}

func (p *opsProc) post(route string, fields map[string]string) (int, map[string]any) {
	p.t.Helper()
	body, _ := json.Marshal(fields)
	if route == "/verify-otp" { // as the page sends it: with the phrase proof and the device's signature
		body = phone.VerifyBody(fields["cid"], fields["textId"], fields["tp"], phrases.Lookup(phone.Client, p.base, fields["cid"], fields["textId"]))
	}
	resp, err := phone.Client.Post(p.base+route, "application/json", bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// page reads the recorder's text id and phrase length from a challenge page.
func (p *opsProc) page(link string) (string, int) {
	p.t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	html, _ := io.ReadAll(resp.Body)
	id := regexp.MustCompile(`data-text-id="(\d+)"`).FindSubmatch(html)
	n := regexp.MustCompile(`data-length="(\d+)"`).FindSubmatch(html)
	if resp.StatusCode != 200 || id == nil || n == nil {
		p.t.Fatalf("page %d:\n%s", resp.StatusCode, html)
	}
	length, _ := strconv.Atoi(string(n[1]))
	return string(id[1]), length
}

// stop sends SIGTERM and waits for the exit.
func (p *opsProc) stop() error {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(15 * time.Second):
		p.t.Fatal("serve did not stop within 15 s of SIGTERM")
		return nil
	}
}

// logTime returns the time of the first JSON log line whose msg starts with prefix.
func (p *opsProc) logTime(prefix string) time.Time {
	p.t.Helper()
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	for sc.Scan() {
		var e struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && strings.HasPrefix(e.Msg, prefix) {
			return e.Time
		}
	}
	p.t.Fatalf("no log line %q", prefix)
	return time.Time{}
}

// opsPluginPIDs lists the running processes of a plugin binary.
func opsPluginPIDs(t *testing.T, binary string) []int {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", binary).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// opsScrape reads /metrics into "name{labels}" -> value.
func opsScrape(t *testing.T, p *opsProc, token string) (map[string]float64, string) {
	t.Helper()
	code, body := p.get("/metrics", token)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out, string(body)
}

func TestOperations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the static binaries with make and runs them")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	// The image's command, into a directory laid out as the image is: smsplus
	// with its plugins in plugins/ next to it.
	bin := t.TempDir()
	if out, err := exec.Command("make", "--no-print-directory", "-C", opsRoot, "static", "BIN="+bin).CombinedOutput(); err != nil {
		t.Fatalf("make static: %v\n%s", err, out)
	}

	t.Run("static binaries, environment only, health and readiness", func(t *testing.T) {
		dirs, _ := filepath.Glob(filepath.Join(opsRoot, "plugins", "*", "main.go"))
		binaries := []string{filepath.Join(bin, "smsplus")}
		for _, d := range dirs {
			binaries = append(binaries, filepath.Join(bin, "plugins", "smsplus-bridge-"+filepath.Base(filepath.Dir(d))))
		}
		for _, b := range binaries {
			f, err := elf.Open(b)
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			for _, prog := range f.Progs {
				if prog.Type == elf.PT_INTERP {
					t.Errorf("%s is dynamically linked: it would not run on distroless/static", filepath.Base(b))
				}
			}
			if f.Section(".symtab") != nil {
				t.Errorf("%s keeps its symbol table: not built with -ldflags='-s -w'", filepath.Base(b))
			}
			f.Close()
		}

		p := opsStart(t, bin)
		for _, route := range []string{"/healthz", "/readyz"} {
			code, body := p.get(route, "")
			if code != 200 || !json.Valid(body) {
				t.Errorf("%s: %d %s", route, code, body)
			}
		}
		health := func(args ...string) (string, error) {
			cmd := exec.Command(filepath.Join(bin, "smsplus"), append([]string{"healthcheck"}, args...)...)
			cmd.Dir, cmd.Env = t.TempDir(), p.cmd.Env // the server's own settings, as in its container
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		for _, args := range [][]string{nil, {"--ready"}} {
			if out, err := health(args...); err != nil || !strings.HasPrefix(out, "ok: GET ") {
				t.Errorf("healthcheck %v: %v %s", args, err, out)
			}
		}
		if err := p.stop(); err != nil {
			t.Fatalf("serve exited with %v", err)
		}
		out, err := health()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("healthcheck of a stopped server: %v %s; want exit 1", err, out)
		}

		// Configuration problems stop the start, all named at once.
		cmd := exec.Command(filepath.Join(bin, "smsplus"), "serve")
		cmd.Dir = t.TempDir()
		cmd.Env = []string{"PORT=99999", "ENABLED_BRIDGES=Okta!", "SHUTDOWN_DRAIN_MS=soon", "LOG_LEVEL=loud"}
		msg, err := cmd.CombinedOutput()
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("serve with a bad configuration: %v\n%s", err, msg)
		}
		for _, want := range []string{"PORT:", "HASH_SALT:", "ENABLED_BRIDGES:", "SHUTDOWN_DRAIN_MS:", "LOG_LEVEL:"} {
			if !strings.Contains(string(msg), want) {
				t.Errorf("the start-up report lacks %q:\n%s", want, msg)
			}
		}
		if n := strings.Count(string(msg), "configuration problem(s)"); n != 1 {
			t.Errorf("%d reports, want one listing every problem:\n%s", n, msg)
		}
	})

	t.Run("graceful shutdown under load", func(t *testing.T) {
		tw := twiliofake.New(t)
		tw.SetOutcome(twiliofake.Slow(1000 * time.Millisecond))
		const late = "+12015550299"
		tw.SetOutcomeFor(late, twiliofake.Slow(1300*time.Millisecond)) // outlives the drain
		p := opsStart(t, bin, "SMS_PROVIDER=twilio", "TWILIO_ACCOUNT_SID="+tw.AccountSID, "TWILIO_API_KEY="+tw.APIKey,
			"TWILIO_API_SECRET="+tw.APISecret, "TWILIO_FROM_NUMBER=+15005550006", "TWILIO_API_BASE_URL="+tw.URL,
			"SHUTDOWN_DRAIN_MS=800", "LOG_LEVEL=debug",
			// 25 texts to one range within a second, 25 hooks in flight from one client
			// address: this test is about shutdown, not caps.
			"MAX_SMS_PER_PHONE_PER_HOUR=0", "MAX_SMS_PER_RANGE_PER_HOUR=0")
		plugin := filepath.Join(bin, "plugins", "smsplus-bridge-okta")
		if len(opsPluginPIDs(t, plugin)) == 0 {
			t.Fatal("the okta plugin is not running")
		}

		const n = 24
		results := make(chan opsHookResult, n+1)
		for i := range n {
			go func() {
				results <- p.hook(oktaPayload(t, fmt.Sprintf("+1201555%04d", 200+i), "31415926"), "Bearer "+opsSecret)
			}()
		}
		for deadline := time.Now().Add(10 * time.Second); tw.Requests() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d hooks reached the SMS provider", tw.Requests(), n)
			}
		}
		// Every hook is now in flight, waiting on the SMS provider.
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		sigterm := time.Now()
		for {
			code, body := p.get("/readyz", "")
			if code == http.StatusServiceUnavailable && strings.Contains(string(body), `"draining"`) {
				break
			}
			if time.Since(sigterm) > 700*time.Millisecond {
				t.Fatalf("/readyz still %d %s %v after SIGTERM", code, body, time.Since(sigterm))
			}
			time.Sleep(5 * time.Millisecond)
		}
		// Load balancers take a moment to notice: what still comes is served.
		go func() { results <- p.hook(oktaPayload(t, late, "27182818"), "Bearer "+opsSecret) }()

		var got []opsHookResult
		for range n + 1 {
			select {
			case r := <-results:
				got = append(got, r)
			case <-time.After(10 * time.Second):
				t.Fatalf("%d of %d hooks never got an answer", n+1-len(got), n+1)
			}
		}
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not exit after its hooks finished")
		}
		if p.waitErr != nil {
			t.Fatalf("serve exited with %v", p.waitErr)
		}
		exitAt := time.Now()

		closing := p.logTime("shutting down")
		inFlightAtClose := 0
		for _, r := range got {
			if r.err != nil || r.status != 200 {
				t.Errorf("hook cut off: %v %d %s", r.err, r.status, r.body)
				continue
			}
			if s := opsOktaStatus(r.body); s != "SUCCESSFUL" && s != "PENDING" {
				t.Errorf("incomplete answer for Okta: %s", r.body)
			}
			if took := r.got.Sub(r.sent); took > 3*time.Second {
				t.Errorf("answered after %v, past Okta's 3 s deadline", took)
			}
			if r.got.After(closing) {
				inFlightAtClose++
			}
		}
		if inFlightAtClose == 0 {
			t.Error("no hook was still in flight when the listener closed: the test proves nothing")
		}
		if sent := len(tw.Messages()); sent != n+1 {
			t.Errorf("%d texts sent for %d hooks", sent, n+1)
		}
		if draining := p.logTime("draining"); !draining.Before(closing) {
			t.Errorf("the listener closed (%v) before /readyz turned unready (%v)", closing, draining)
		}
		if pids := opsPluginPIDs(t, plugin); len(pids) > 0 {
			t.Errorf("plugin still running after exit: %v", pids)
		}
		if _, err := http.Get(p.base + "/healthz"); err == nil {
			t.Error("the port still answers after exit")
		}
		t.Logf("%d hooks, %d still in flight when the listener closed; SIGTERM to exit %v",
			n+1, inFlightAtClose, exitAt.Sub(sigterm).Round(time.Millisecond))
	})

	t.Run("metrics count a scripted run; logs keep secrets", func(t *testing.T) {
		const (
			phone     = "+12015550123"
			otp1      = "48291573"
			otp2      = "90617342"
			token     = "ops-metrics-token-1f6b2d9e"
			dataKey   = "q0bnzMHGm2Y4u0Ggyf3wFvkU5D6sR7tLxJ8pC1aE9Ik="
			salt      = "ops-salt-5b1e7c"
			userLogin = "maria.lopez@acme.example"
		)
		p := opsStart(t, bin, "METRICS_TOKEN="+token, "DATA_ENCRYPTION_KEY="+dataKey, "LOCAL_ENROLL_SAMPLES=3",
			"MAX_FAILED_ATTEMPTS=2", "PLUGIN_RESTART_BACKOFF_MS=20", "LOG_LEVEL=debug", "LOG_REQUESTS=true")
		auth := "Bearer " + opsSecret
		owner := typist(local.TimingProfile{HoldMS: 95, FlightMS: 160, Rhythm: 1}, 7)
		stranger := typist(local.TimingProfile{HoldMS: 170, FlightMS: 330, Rhythm: 99}, 8)
		// link waits for the next link texted (the console sender prints it).
		links := 0
		link := func() []string {
			t.Helper()
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if all := linkRE.FindAllStringSubmatch(p.stdout.String(), -1); len(all) > links {
					links = len(all)
					return all[links-1]
				}
			}
			t.Fatal("no link texted")
			return nil
		}

		// 1. A code for a new user: delivered (the user enrolls).
		r := p.hook(oktaPayload(t, phone, otp1), auth)
		if r.status != 200 || opsOktaStatus(r.body) != "SUCCESSFUL" || r.requestID == "" {
			t.Fatalf("hook: %d %s (request id %q)", r.status, r.body, r.requestID)
		}
		firstRID := r.requestID
		l1 := link()
		// 2. Two hooks refused by the bridge.
		if r := p.hook(oktaPayload(t, phone, "11112222"), "Bearer wrong-secret-0123456789"); r.status != 401 {
			t.Fatalf("wrong secret: %d %s", r.status, r.body)
		}
		if r := p.hook([]byte(`{"data":`), auth); r.status != 400 {
			t.Fatalf("malformed: %d %s", r.status, r.body)
		}
		// 3. Three enrollment samples, then the code.
		textID, n := p.page(l1[0])
		for i := range 3 {
			if code, res := p.post("/verify-otp", map[string]string{"cid": l1[2], "textId": textID, "tp": owner(textID, n)}); code != 200 || res["action"] != "enroll" {
				t.Fatalf("sample %d: %d %v", i+1, code, res)
			}
		}
		code, res := p.post("/verify-otp", map[string]string{"cid": l1[2], "textId": textID, "tp": owner(textID, n)})
		if code != 200 || res["otp"] != otp1 {
			t.Fatalf("verify: %d %v", code, res)
		}
		disableTid, _ := res["disableTid"].(string)
		// 4. The next code: a stranger fails twice and locks the user out.
		r = p.hook(oktaPayload(t, phone, otp2), auth)
		if r.status != 200 || opsOktaStatus(r.body) != "SUCCESSFUL" {
			t.Fatalf("second hook: %d %s", r.status, r.body)
		}
		l2 := link()
		if l2[2] == l1[2] {
			t.Fatal("no second link")
		}
		if code, res := p.post("/verify-otp", map[string]string{"cid": l2[2], "textId": textID, "tp": stranger(textID, n)}); code != 200 || res["result"] != float64(0) {
			t.Fatalf("stranger 1: %d %v", code, res)
		}
		if code, res := p.post("/verify-otp", map[string]string{"cid": l2[2], "textId": textID, "tp": stranger(textID, n)}); code != 403 || res["code"] != float64(105) {
			t.Fatalf("stranger 2: %d %v (want the lockout)", code, res)
		}
		// 5. The plugin dies and is restarted.
		plugin := filepath.Join(bin, "plugins", "smsplus-bridge-okta")
		pids := opsPluginPIDs(t, plugin)
		if len(pids) != 1 {
			t.Fatalf("okta plugin pids %v", pids)
		}
		if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			code, body := p.get("/readyz", "")
			if code == 200 && strings.Contains(string(body), `"restarts":1`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("plugin not restarted: %d %s", code, body)
			}
		}

		// /metrics: behind the token, and exactly what happened.
		if code, _ := p.get("/metrics", ""); code != http.StatusUnauthorized {
			t.Errorf("/metrics without the token: %d", code)
		}
		if code, _ := p.get("/metrics", "wrong-token-wrong-token"); code != http.StatusUnauthorized {
			t.Errorf("/metrics with a wrong token: %d", code)
		}
		m, text := opsScrape(t, p, token)
		want := map[string]float64{
			`smsplus_hooks_total{bridge="okta",outcome="delivered",reason="none"}`:             2,
			`smsplus_hooks_total{bridge="okta",outcome="rejected",reason="unauthorized"}`:      1,
			`smsplus_hooks_total{bridge="okta",outcome="rejected",reason="malformed_request"}`: 1,
			`smsplus_hook_duration_seconds_count{bridge="okta"}`:                               4,
			`smsplus_hook_duration_seconds_bucket{bridge="okta",le="3"}`:                       4,
			`smsplus_sms_sends_total{result="sent"}`:                                           2,
			`smsplus_sms_sends_total{result="rejected"}`:                                       0,
			`smsplus_sms_sends_total{result="unavailable"}`:                                    0,
			`smsplus_sms_sends_total{result="timeout"}`:                                        0,
			`smsplus_sms_sends_total{result="error"}`:                                          0,
			`smsplus_sms_send_duration_seconds_count`:                                          2,
			`smsplus_verifications_total{result="enroll_sample"}`:                              3,
			`smsplus_verifications_total{result="match"}`:                                      1,
			`smsplus_verifications_total{result="mismatch"}`:                                   2,
			`smsplus_verifications_total{result="wrong_position"}`:                             0,
			`smsplus_lockouts_total`:                                                           1,
			`smsplus_challenge_events_total{event="challenge_created"}`:                        2,
			`smsplus_challenge_events_total{event="otp_revealed"}`:                             1,
			`smsplus_challenge_events_total{event="user_locked"}`:                              1,
			`smsplus_plugin_restarts_total{bridge="okta"}`:                                     1,
			`smsplus_plugin_up{bridge="okta"}`:                                                 1,
			`smsplus_audit_dropped_total`:                                                      0,
		}
		for series, v := range want {
			if got, ok := m[series]; !ok || got != v {
				t.Errorf("%s = %v (present %v), want %v", series, got, ok, v)
			}
		}
		for series, v := range m {
			if strings.HasPrefix(series, "smsplus_hooks_total") && want[series] == 0 && v != 0 {
				t.Errorf("unexpected %s %v", series, v)
			}
			if strings.HasPrefix(series, "smsplus_store_errors_total") && v != 0 {
				t.Errorf("store errors on a healthy store: %s %v", series, v)
			}
		}

		if err := p.stop(); err != nil {
			t.Fatalf("serve exited with %v", err)
		}
		logs := p.stderr.String()
		// Every log line is JSON, the plugin's included.
		lines := 0
		sawRID := false
		for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
			var e map[string]any
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Errorf("not a JSON log line: %q", line)
				continue
			}
			lines++
			if e["request_id"] == firstRID && e["msg"] == "hook handled" {
				sawRID = true
			}
		}
		if !sawRID {
			t.Errorf("no log line carries the request id %s of the first hook", firstRID)
		}
		// Nothing sensitive, in the logs or in the metrics.
		secrets := map[string]string{
			"first OTP": otp1, "second OTP": otp2, "phone number": phone, "phone digits": strings.TrimPrefix(phone, "+1"),
			"bridge secret": opsSecret, "hash salt": salt, "metrics token": token, "data key": dataKey,
			"first challenge id": l1[2], "second challenge id": l2[2], "user login": userLogin,
		}
		if disableTid != "" {
			secrets["disable token"] = disableTid
		}
		for what, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("the logs contain the %s", what)
			}
			if strings.Contains(text, s) {
				t.Errorf("/metrics contains the %s", what)
			}
		}
		t.Logf("%d JSON log lines checked", lines)
	})
}
