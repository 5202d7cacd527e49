package host_test

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/e2e"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
)

// TestOperations checks what an operator runs: binaries built the image's way
// (`make static`, as the Dockerfile builds them, laid out as in the image) start
// on environment settings alone, answer the container's health check, shut
// down without cutting off a hook, count what they did at /metrics and log
// nothing sensitive. The deployment files themselves are checked in deploy/.
func TestOperations(t *testing.T) {
	skipShort(t)
	if _, err := exec.LookPath("make"); err != nil {
		if e2e.InCI() {
			t.Fatalf("make is not installed: CI must build the binaries the image's way (%v)", err)
		}
		t.Skip("make is not installed")
	}
	root, err := e2e.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	// The image's command, into a directory laid out as the image is: smsplus
	// with its plugins in plugins/ next to it.
	dir := t.TempDir()
	if out, err := exec.Command("make", "--no-print-directory", "-C", root, "static", "BIN="+dir).CombinedOutput(); err != nil {
		t.Fatalf("make static: %v\n%s", err, out)
	}
	bin := &e2e.Binaries{Smsplus: filepath.Join(dir, "smsplus"), PluginDir: filepath.Join(dir, "plugins")}
	// As in the image: no PLUGIN_DIR (the plugins are found next to the binary),
	// no DATA_DIR (./data in the working directory).
	image := []string{"PLUGIN_DIR", "DATA_DIR"}

	t.Run("static binaries, environment only, health and readiness", func(t *testing.T) {
		binaries := []string{bin.Smsplus}
		for _, id := range e2e.ShippedBridges {
			binaries = append(binaries, bin.Plugin(id))
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

		s := bin.Start(t, image...)
		for _, route := range []string{"/healthz", "/readyz"} {
			if a := s.Get(t, route, nil); a.Status != 200 || !json.Valid(a.Body) {
				t.Errorf("%s: %s", route, a)
			}
		}
		// The image's HEALTHCHECK: the binary alone, with the container's settings.
		for _, args := range [][]string{nil, {"--ready"}} {
			if code, out := bin.Run(t, s.Env, append([]string{"healthcheck"}, args...)...); code != 0 || !strings.HasPrefix(out, "ok: GET ") {
				t.Errorf("healthcheck %v: exit %d %s", args, code, out)
			}
		}
		if code := s.Stop(); code != 0 {
			t.Fatalf("serve exited with %d", code)
		}
		if code, out := bin.Run(t, s.Env, "healthcheck"); code != 1 {
			t.Errorf("healthcheck of a stopped server: exit %d %s; want 1", code, out)
		}

		// Configuration problems stop the start, all named at once.
		r := bin.StartExpectingFailure(t, "PORT=99999", "HASH_SALT", "ENABLED_BRIDGES=Okta!", "SHUTDOWN_DRAIN_MS=soon", "LOG_LEVEL=loud")
		if r.Started || r.Code != 1 {
			t.Fatalf("serve with a bad configuration: started %v, exit %d\n%s", r.Started, r.Code, r.Stderr)
		}
		for _, want := range []string{"PORT:", "HASH_SALT:", "ENABLED_BRIDGES:", "SHUTDOWN_DRAIN_MS:", "LOG_LEVEL:"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("the start-up report lacks %q:\n%s", want, r.Stderr)
			}
		}
		if n := strings.Count(r.Stderr, "configuration problem(s)"); n != 1 {
			t.Errorf("%d reports, want one listing every problem:\n%s", n, r.Stderr)
		}
	})

	t.Run("graceful shutdown under load", func(t *testing.T) {
		tw := twiliofake.New(t)
		tw.SetOutcome(twiliofake.Slow(1000 * time.Millisecond))
		const late = "+12015550299"
		tw.SetOutcomeFor(late, twiliofake.Slow(1300*time.Millisecond)) // outlives the drain
		s := bin.Start(t, append(append(image, e2e.TwilioEnv(tw)...), "SHUTDOWN_DRAIN_MS=800", "LOG_LEVEL=debug",
			// 25 texts to one range within a second, 25 hooks in flight from one client
			// address: this test is about shutdown, not caps.
			"MAX_SMS_PER_PHONE_PER_HOUR=0", "MAX_SMS_PER_RANGE_PER_HOUR=0")...)
		if len(s.PluginPIDs()) == 0 {
			t.Fatal("the okta plugin is not running")
		}

		// The vendor's calls, rendered before any is sent; each must be answered
		// within Okta's deadline.
		const n = 24
		reqs := make([]*http.Request, n+1)
		for i := range n {
			reqs[i] = s.Example(t, "okta", fmt.Sprintf("+1201555%04d", 200+i), "31415926")
		}
		reqs[n] = s.Example(t, "okta", late, "27182818")
		okta := &http.Client{Timeout: oktaDeadline}
		type result struct {
			a   e2e.Answer
			err error
		}
		results := make(chan result, n+1)
		send := func(req *http.Request) {
			a, err := e2e.Do(okta, req)
			results <- result{a, err}
		}
		for _, req := range reqs[:n] {
			go send(req)
		}
		for deadline := time.Now().Add(10 * time.Second); tw.Requests() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d hooks reached the SMS provider", tw.Requests(), n)
			}
		}
		// Every hook is now in flight, waiting on the SMS provider.
		if err := s.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		sigterm := time.Now()
		// /readyz turns unready before the listener closes (SHUTDOWN_DRAIN_MS later):
		// a refused connection here means the order is wrong.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			req, _ := http.NewRequest(http.MethodGet, s.Base+"/readyz", nil)
			a, err := e2e.Do(nil, req)
			if err != nil {
				t.Fatalf("/readyz after SIGTERM: %v: the listener closed before /readyz turned unready", err)
			}
			if a.Status == http.StatusServiceUnavailable && strings.Contains(string(a.Body), `"draining"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz still %s", a)
			}
		}
		// Load balancers take a moment to notice: what still comes is served.
		go send(reqs[n])

		var got []result
		for range n + 1 {
			select {
			case r := <-results:
				got = append(got, r)
			case <-time.After(10 * time.Second):
				t.Fatalf("%d of %d hooks never got an answer", n+1-len(got), n+1)
			}
		}
		code, exited := s.Wait(10 * time.Second)
		if !exited {
			t.Fatal("serve did not exit after its hooks finished")
		}
		if code != 0 {
			t.Fatalf("serve exited with %d", code)
		}
		exitAt := time.Now()

		closing := s.LogTime(t, "shutting down")
		inFlightAtClose := 0
		for _, r := range got {
			if r.err != nil || r.a.Status != 200 {
				t.Errorf("hook cut off, or not answered within Okta's %s: %v %s", oktaDeadline, r.err, r.a)
				continue
			}
			if st := r.a.OktaStatus(); st != "SUCCESSFUL" && st != "PENDING" {
				t.Errorf("incomplete answer for Okta: %s", r.a)
			}
			if r.a.Received.After(closing) {
				inFlightAtClose++
			}
		}
		if inFlightAtClose == 0 {
			t.Error("no hook was still in flight when the listener closed: the test proves nothing")
		}
		if sent := len(tw.Messages()); sent != n+1 {
			t.Errorf("%d texts sent for %d hooks", sent, n+1)
		}
		if draining := s.LogTime(t, "draining"); !draining.Before(closing) {
			t.Errorf("the listener closed (%v) before /readyz turned unready (%v)", closing, draining)
		}
		for _, pid := range s.PluginsSeen() {
			if e2e.Alive(pid) {
				t.Errorf("plugin %d still running after exit", pid)
			}
		}
		if _, err := http.Get(s.Base + "/healthz"); err == nil {
			t.Error("the port still answers after exit")
		}
		t.Logf("%d hooks, %d still in flight when the listener closed; SIGTERM to exit %v",
			n+1, inFlightAtClose, exitAt.Sub(sigterm).Round(time.Millisecond))
	})

	t.Run("metrics count a scripted run; logs keep secrets", func(t *testing.T) {
		const (
			phone   = "+12015550123"
			otp1    = "48291573"
			otp2    = "90617342"
			token   = "ops-metrics-token-1f6b2d9e"
			dataKey = "q0bnzMHGm2Y4u0Ggyf3wFvkU5D6sR7tLxJ8pC1aE9Ik="
		)
		s := bin.Start(t, append(image, "METRICS_TOKEN="+token, "DATA_ENCRYPTION_KEY="+dataKey, "LOCAL_ENROLL_SAMPLES=3",
			"MAX_FAILED_ATTEMPTS=2", "PLUGIN_RESTART_BACKOFF_MS=20", "LOG_LEVEL=debug", "LOG_REQUESTS=true")...)
		owner, stranger := e2e.Owner(7), e2e.Impostor(8)

		// 1. A code for a new user: delivered (the user enrolls).
		first := s.Example(t, "okta", phone, otp1)
		// The user's login (Okta sends it; no bridge passes it on): the e-mail
		// addresses in the call. The plugin logs at debug too.
		body, _ := first.GetBody()
		raw, _ := io.ReadAll(body)
		logins := emailRE.FindAllString(string(raw), -1)
		if len(logins) == 0 {
			t.Fatalf("Okta's example carries no user login: %s", raw)
		}
		hook := do(t, first)
		if hook.Status != 200 || hook.OktaStatus() != "SUCCESSFUL" || hook.Header.Get("X-Request-Id") == "" {
			t.Fatalf("hook: %s (request id %q)", hook, hook.Header.Get("X-Request-Id"))
		}
		firstRID := hook.Header.Get("X-Request-Id")
		m1 := s.NextSMS(t, phone)
		link1, cid1 := m1.Link()
		// 2. Two hooks refused by the bridge.
		wrong := s.Example(t, "okta", phone, "11112222")
		replaceSecret(wrong, e2e.Secrets["OKTA_SHARED_SECRET"], "wrong-secret-0123456789")
		if a := do(t, wrong); a.Status != 401 {
			t.Fatalf("wrong secret: %s", a)
		}
		if a := do(t, withBody(t, s.Example(t, "okta", phone, otp1), []byte(`{"data":`))); a.Status != 400 {
			t.Fatalf("malformed: %s", a)
		}
		// 3. Three enrollment samples, then the code.
		textID, n := s.Page(t, link1)
		for i := range 3 {
			if a := s.Verify(t, cid1, textID, owner.Type(textID, n)); a.Status != 200 || a.JSON()["action"] != "enroll" {
				t.Fatalf("sample %d: %s", i+1, a)
			}
		}
		a := s.Verify(t, cid1, textID, owner.Type(textID, n))
		if a.Status != 200 || a.JSON()["otp"] != otp1 {
			t.Fatalf("verify: %s", a)
		}
		disableTid, _ := a.JSON()["disableTid"].(string)
		// 4. The next code: a stranger fails twice and locks the user out.
		c2 := s.NewLink(t, "okta", phone, otp2)
		if c2.Hook.OktaStatus() != "SUCCESSFUL" || c2.CID == cid1 {
			t.Fatalf("second hook: %s, link %s", c2.Hook, c2.Link)
		}
		if a := s.Verify(t, c2.CID, textID, stranger.Type(textID, n)); a.Status != 200 || a.JSON()["result"] != float64(0) {
			t.Fatalf("stranger 1: %s", a)
		}
		if a := s.Verify(t, c2.CID, textID, stranger.Type(textID, n)); a.Status != 403 || a.Code() != 105 {
			t.Fatalf("stranger 2: %s (want the lockout)", a)
		}
		// 5. The plugin dies and is restarted.
		if err := syscall.Kill(s.PluginPID(t, "okta"), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			code, st := s.PluginStatus(t, "okta")
			if code == 200 && st.Running && st.Restarts == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("plugin not restarted: %d %+v", code, st)
			}
		}

		// /metrics: behind the token, and exactly what happened.
		if a := s.Get(t, "/metrics", nil); a.Status != http.StatusUnauthorized {
			t.Errorf("/metrics without the token: %s", a)
		}
		if a := s.Get(t, "/metrics", map[string]string{"Authorization": "Bearer wrong-token-wrong-token"}); a.Status != http.StatusUnauthorized {
			t.Errorf("/metrics with a wrong token: %s", a)
		}
		text := string(s.Get(t, "/metrics", map[string]string{"Authorization": "Bearer " + token}).Body)
		m := s.Metrics(t)
		for _, w := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"smsplus_hooks_total", []string{"bridge", "okta", "outcome", "delivered", "reason", "none"}, 2},
			{"smsplus_hooks_total", []string{"bridge", "okta", "outcome", "rejected", "reason", "unauthorized"}, 1},
			{"smsplus_hooks_total", []string{"bridge", "okta", "outcome", "rejected", "reason", "malformed_request"}, 1},
			{"smsplus_hook_duration_seconds_count", []string{"bridge", "okta"}, 4},
			{"smsplus_hook_duration_seconds_bucket", []string{"bridge", "okta", "le", "3"}, 4},
			{"smsplus_sms_sends_total", []string{"result", "sent"}, 2},
			{"smsplus_sms_sends_total", []string{"result", "rejected"}, 0},
			{"smsplus_sms_sends_total", []string{"result", "unavailable"}, 0},
			{"smsplus_sms_sends_total", []string{"result", "timeout"}, 0},
			{"smsplus_sms_sends_total", []string{"result", "error"}, 0},
			{"smsplus_sms_send_duration_seconds_count", nil, 2},
			{"smsplus_verifications_total", []string{"result", "enroll_sample"}, 3},
			{"smsplus_verifications_total", []string{"result", "match"}, 1},
			{"smsplus_verifications_total", []string{"result", "mismatch"}, 2},
			{"smsplus_verifications_total", []string{"result", "wrong_position"}, 0},
			{"smsplus_lockouts_total", nil, 1},
			{"smsplus_challenge_events_total", []string{"event", "challenge_created"}, 2},
			{"smsplus_challenge_events_total", []string{"event", "otp_revealed"}, 1},
			{"smsplus_challenge_events_total", []string{"event", "user_locked"}, 1},
			{"smsplus_plugin_restarts_total", []string{"bridge", "okta"}, 1},
			{"smsplus_plugin_up", []string{"bridge", "okta"}, 1},
			{"smsplus_bridge_deadline_seconds", []string{"bridge", "okta"}, 3}, // the plugin's Info
			{"smsplus_audit_dropped_total", nil, 0},
		} {
			if got, ok := m.Lookup(w.name, w.labels...); !ok || got != w.want {
				t.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, got, ok, w.want)
			}
		}
		if got := m.Sum("smsplus_hooks_total"); got != 4 {
			t.Errorf("smsplus_hooks_total sums to %v over every series, want the 4 above", got)
		}
		if got := m.Sum("smsplus_store_errors_total"); got != 0 {
			t.Errorf("%v store errors on a healthy store", got)
		}

		if code := s.Stop(); code != 0 {
			t.Fatalf("serve exited with %d", code)
		}
		// Every log line is JSON, the plugin's included.
		entries, notJSON := s.Logs()
		for _, line := range notJSON {
			t.Errorf("not a JSON log line: %q", line)
		}
		sawRID := false
		for _, e := range entries {
			sawRID = sawRID || (e.Fields["request_id"] == firstRID && e.Msg == "hook handled")
		}
		if !sawRID {
			t.Errorf("no log line carries the request id %s of the first hook", firstRID)
		}
		// Nothing sensitive, in the logs or in the metrics.
		logs := s.Stderr()
		secrets := map[string]string{
			"first OTP": otp1, "second OTP": otp2, "phone number": phone, "phone digits": strings.TrimPrefix(phone, "+1"),
			"bridge secret": e2e.Secrets["OKTA_SHARED_SECRET"], "hash salt": e2e.HashSalt, "metrics token": token, "data key": dataKey,
			"first challenge id": cid1, "second challenge id": c2.CID,
		}
		for _, login := range logins {
			secrets["user login "+login] = login
		}
		if disableTid != "" {
			secrets["disable token"] = disableTid
		}
		for what, secret := range secrets {
			if strings.Contains(logs, secret) {
				t.Errorf("the logs contain the %s", what)
			}
			if strings.Contains(text, secret) {
				t.Errorf("/metrics contains the %s", what)
			}
		}
		t.Logf("%d JSON log lines checked", len(entries))
	})
}

var emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
