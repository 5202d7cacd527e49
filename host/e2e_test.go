package host_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// The end-to-end tests drive the real binaries through the one harness,
// host/internal/e2e: `smsplus serve` on laptop defaults, the vendors' calls as
// each bridge's plugin renders them (its Example), the texts the console sender
// prints, and the page API as the page calls it.

// TestEndToEnd walks one user through the whole flow the way Okta and a phone
// would: enrollment, the code shown once, a stranger refused, opting out, bad
// input, and a shutdown that takes the plugin with it and leaves no secret in
// the logs.
func TestEndToEnd(t *testing.T) {
	skipShort(t)
	const phone = "+12015550100"
	s := e2e.Shipped(t).Start(t, "LOG_LEVEL=debug", "LOG_REQUESTS=true")
	owner, stranger := e2e.Owner(7), e2e.Impostor(8)

	// 1. Okta calls the hook; SMS+ answers SUCCESSFUL and texts a link with the
	// code (the user is enrolling).
	c := s.NewLink(t, "okta", phone, "012345")
	if cmds, _ := c.Hook.JSON()["commands"].([]any); c.Hook.OktaStatus() != "SUCCESSFUL" || len(cmds) != 1 {
		t.Fatalf("hook answer: %s", c.Hook)
	}
	if !c.EnrollingText() {
		t.Fatalf("the enrolling user's text %q lacks the code", c.SMS.Body)
	}
	if bytes.Contains(c.Hook.Body, []byte(c.CID)) || bytes.Contains(c.Hook.Body, []byte(c.OTP)) {
		t.Fatal("the answer to Okta leaks the challenge id or the code")
	}

	// 2. The page; enrollment samples until enrolled; then the code, once.
	page := s.Get(t, c.Link, nil)
	if page.Status != 200 || !strings.Contains(page.Header.Get("Content-Security-Policy"), "script-src 'nonce-") ||
		page.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("page: %d %v", page.Status, page.Header)
	}
	if !bytes.Contains(page.Body, []byte(`src="data:image/png;base64,`)) {
		t.Fatal("the page does not show the phrase as an image")
	}
	c.TextID, c.Len = s.Page(t, c.Link)
	for i := 1; i <= 3; i++ {
		a := s.Verify(t, c.CID, c.TextID, owner.Type(c.TextID, c.Len))
		res := a.JSON()
		enr, _ := res["enrollment"].(map[string]any)
		if a.Status != 200 || res["action"] != "enroll" || enr["samples"] != float64(i) || res["otp"] != nil {
			t.Fatalf("enrollment %d: %s", i, a)
		}
	}
	if a := s.Verify(t, c.CID, c.TextID, owner.Type(c.TextID, c.Len)); a.Status != 200 || a.JSON()["result"] != float64(1) || a.JSON()["otp"] != "012345" {
		t.Fatalf("verify: %s", a)
	}
	if a := s.Verify(t, c.CID, c.TextID, owner.Type(c.TextID, c.Len)); a.Status != 404 || a.Code() != 101 {
		t.Fatalf("second reveal: %s", a)
	}

	// 3. Enrolled now: the next text carries only the link; a stranger is refused.
	c2 := s.NewChallenge(t, "okta", phone, "777888")
	if c2.EnrollingText() {
		t.Fatalf("an enrolled user's text carries the code: %q", c2.SMS.Body)
	}
	if c2.TextID != c.TextID {
		t.Fatal("the user's phrase changed between challenges")
	}
	if a := s.Verify(t, c2.CID, c2.TextID, stranger.Type(c2.TextID, c2.Len)); a.Status != 200 || a.JSON()["result"] != float64(0) || a.JSON()["otp"] != nil {
		t.Fatalf("stranger: %s", a)
	}
	a := s.Verify(t, c2.CID, c2.TextID, owner.Type(c2.TextID, c2.Len))
	if a.Status != 200 || a.JSON()["otp"] != "777888" {
		t.Fatalf("owner after a stranger's try: %s", a)
	}

	// Opting out with the disable token wipes the profile: the next code starts a
	// new enrollment, so its text carries the code again.
	disableTid, _ := a.JSON()["disableTid"].(string)
	if a := s.PostJSON(t, "/disable-account", map[string]string{"disableTid": disableTid, "phone": phone}); a.Status != 200 || a.JSON()["action"] != "disabled" {
		t.Fatalf("disable: %s", a)
	}
	if c3 := s.NewLink(t, "okta", phone, "909090"); !c3.EnrollingText() {
		t.Fatalf("after disable the user enrolls again: %q", c3.SMS.Body)
	}

	// 4. Bad input, each answered without a challenge being made.
	t.Run("bad input", func(t *testing.T) {
		texts := len(s.SMS())
		wrong := s.Example(t, "okta", phone, "111222")
		if !replaceSecret(wrong, e2e.Secrets["OKTA_SHARED_SECRET"], "wrong-secret-0123456789") {
			t.Fatal("Okta's example carries its secret in no header")
		}
		if a := do(t, wrong); a.Status != 401 || !strings.Contains(fmt.Sprint(a.JSON()["error"]), "errorSummary") {
			t.Fatalf("wrong secret: %s", a)
		}
		if a := do(t, withBody(t, s.Example(t, "okta", phone, "111222"), []byte(`{"data":`))); a.Status != 400 || !bytes.Contains(a.Body, []byte("MALFORMED_REQUEST")) {
			t.Fatalf("malformed JSON: %s", a)
		}
		// The host refuses the body at its declared length and closes the
		// connection without reading it: a client still writing could see the
		// reset before the answer. 100-continue waits for the answer first.
		oversized := withBody(t, s.Example(t, "okta", phone, "111222"), bytes.Repeat([]byte(" "), 65<<10))
		oversized.Header.Set("Expect", "100-continue")
		if a := do(t, oversized); a.Status != 413 {
			t.Fatalf("oversized body: %s", a)
		}
		if a := s.PostHook(t, "nope", nil, []byte("{}")); a.Status != 404 || a.JSON()["code"] != "unknown_bridge" {
			t.Fatalf("unknown bridge: %s", a)
		}
		if n := len(s.SMS()) - texts; n != 0 {
			t.Fatalf("%d texts sent for refused hooks", n)
		}
	})

	// 5. The plugin process holds none of the host's secrets in its environment:
	// a bridge gets its own settings through Configure only.
	pids := s.PluginPIDs()
	if len(pids) == 0 {
		t.Fatal("no plugin process found under the server")
	}
	for _, pid := range pids {
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(environ, []byte(e2e.Secrets["OKTA_SHARED_SECRET"])) || bytes.Contains(environ, []byte(e2e.HashSalt)) {
			t.Fatalf("plugin %d inherited the host's secrets", pid)
		}
		if !bytes.Contains(environ, []byte("SMSPLUS_BRIDGE_PLUGIN=")) {
			t.Fatalf("process %d is not the plugin", pid)
		}
	}

	// 6. SIGTERM stops the server and its plugin.
	if code := s.Stop(); code != 0 {
		t.Fatalf("serve exited with %d on SIGTERM (-1: killed after 10 s)", code)
	}
	for _, pid := range s.PluginsSeen() {
		if e2e.Alive(pid) {
			t.Fatalf("plugin %d still running after shutdown", pid)
		}
	}
	logs := s.Stderr()
	for _, secret := range []string{e2e.Secrets["OKTA_SHARED_SECRET"], e2e.HashSalt, "012345", "777888", "909090", phone, phone[2:]} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
}

// skipShort skips a test that runs the binaries under go test -short.
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the binaries")
	}
}

// do sends a request and reads the answer.
func do(t testing.TB, req *http.Request) e2e.Answer {
	t.Helper()
	a, err := e2e.Do(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// withBody is req with another body: the vendor's call, headers and all, with
// what an attacker or a broken client would send.
func withBody(t testing.TB, req *http.Request, body []byte) *http.Request {
	t.Helper()
	out, err := http.NewRequest(req.Method, req.URL.String(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out.Header = req.Header.Clone()
	return out
}

// again returns a copy of req to send once more, body included.
func again(t testing.TB, req *http.Request) *http.Request {
	t.Helper()
	body, err := req.GetBody()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return withBody(t, req, raw)
}

// replaceSecret replaces secret in every header value of req, wherever the
// bridge's example put it; false if no header held it.
func replaceSecret(req *http.Request, secret, with string) bool {
	replaced := false
	for name, values := range req.Header {
		for i, v := range values {
			if strings.Contains(v, secret) {
				req.Header[name][i] = strings.ReplaceAll(v, secret, with)
				replaced = true
			}
		}
	}
	return replaced
}
