package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/challenge"
)

// phoneClient is a browser as the page API sees it: it keeps the cookies the
// answers set (as a browser would for this origin) and sends them back.
type phoneClient struct {
	s       http.Handler
	cookies map[string]*http.Cookie
	set     []*http.Cookie // every Set-Cookie seen
}

func newPhone(s http.Handler) *phoneClient {
	return &phoneClient{s: s, cookies: map[string]*http.Cookie{}}
}

func (p *phoneClient) post(path string, body any) (*httptest.ResponseRecorder, map[string]any) {
	raw, _ := json.Marshal(body)
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	for _, c := range p.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rec := httptest.NewRecorder()
	p.s.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		p.set = append(p.set, c)
		if c.MaxAge < 0 {
			delete(p.cookies, c.Name)
		} else {
			p.cookies[c.Name] = c
		}
	}
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return rec, m
}

// verify posts a pattern with the phrase typed as typed.
func (p *phoneClient) verify(cid, typed string) (*httptest.ResponseRecorder, map[string]any) {
	return p.post("/verify-otp", map[string]string{"cid": cid, "tp": "p", "textId": biometrics.TextID(pagePhrase),
		"phraseProof": challenge.PhraseProof(cid, typed)})
}

func TestDeviceCookie(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{true, false} {
		name := map[bool]string{true: "https", false: "http"}[secure]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			v := &pageVerifier{required: 2, match: true}
			s, svc := newPageServer(t, v, func(o *Options) {
				o.SecureCookies = secure
				o.LogRequests = true
				o.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})
			cid, phone := startChallenge(t, svc, "")
			owner := newPhone(s)
			rec, _ := owner.verify(cid, pagePhrase)
			cookies := rec.Result().Cookies()
			if rec.Code != 200 || len(cookies) != 1 {
				t.Fatalf("first enrollment sample: %d %s, cookies %v; want one device cookie", rec.Code, rec.Body, cookies)
			}
			c := cookies[0]
			wantName := "smsplus-" + challenge.DeviceTag(challenge.UserID(phone, "s"))
			if secure {
				wantName = "__Host-" + wantName
			}
			raw := rec.Header().Get("Set-Cookie")
			if c.Name != wantName || !c.HttpOnly || c.Secure != secure || c.SameSite != http.SameSiteStrictMode ||
				c.Path != "/" || c.Domain != "" || c.MaxAge != 400*24*3600 || len(c.Value) != 22 {
				t.Errorf("device cookie %s; want %s=<22 chars>, HttpOnly, Secure=%v, SameSite=Strict, Path=/, no Domain, Max-Age=34560000", raw, wantName, secure)
			}
			token := c.Value

			// A second sample from the same browser; then the pass rotates it.
			if rec, _ := owner.verify(cid, pagePhrase); rec.Code != 200 {
				t.Fatalf("second sample: %d %s", rec.Code, rec.Body)
			}
			rec, res := owner.verify(cid, pagePhrase)
			if rec.Code != 200 || res["otp"] == nil {
				t.Fatalf("pass: %d %s", rec.Code, rec.Body)
			}
			if c := owner.cookies[wantName]; c == nil || c.Value == token {
				t.Errorf("the pass did not rotate the device cookie")
			}

			// Another browser: refused, counted, said plainly.
			thiefCID := cidOfPhone(t, svc, phone)
			thief := newPhone(s)
			rec, res = thief.verify(thiefCID, pagePhrase)
			if rec.Code != 403 || res["code"] != float64(114) || res["error"] != "unknown_device" || res["attemptsLeft"] != float64(2) {
				t.Errorf("another browser: %d %s; want 403 code 114 unknown_device, attemptsLeft 2", rec.Code, rec.Body)
			}

			// Opting out clears the browser's cookie.
			rec, res = owner.verify(thiefCID, pagePhrase)
			tid, _ := res["disableTid"].(string)
			if rec.Code != 200 || tid == "" {
				t.Fatalf("owner on the same link: %d %s", rec.Code, rec.Body)
			}
			if rec, _ := owner.post("/disable-account", map[string]string{"disableTid": tid, "phone": phone}); rec.Code != 200 {
				t.Fatalf("disable: %d %s", rec.Code, rec.Body)
			}
			if _, ok := owner.cookies[wantName]; ok {
				t.Error("opting out left the device cookie in the browser")
			}

			for _, c := range owner.set {
				if c.Value != "" && strings.Contains(logs.String(), c.Value) {
					t.Fatalf("a device token is in the logs")
				}
			}
		})
	}
}

var otpSeq struct {
	sync.Mutex
	n int
}

// cidOfPhone starts a new challenge for an existing phone.
func cidOfPhone(t *testing.T, svc *challenge.Service, phone string) string {
	t.Helper()
	otpSeq.Lock()
	otpSeq.n++
	otp := fmt.Sprintf("%06d", 100000+otpSeq.n)
	otpSeq.Unlock()
	st, err := svc.Start(t.Context(), challenge.Event{Bridge: "okta", Phone: phone, OTP: otp})
	if err != nil {
		t.Fatal(err)
	}
	return st.ChallengeID
}

func TestPhraseProofAnswers(t *testing.T) {
	t.Parallel()
	v := &pageVerifier{required: 1, match: true}
	s, svc := newPageServer(t, v, nil)
	cid, _ := startChallenge(t, svc, "")
	p := newPhone(s)
	// Missing: refused, after the link is checked.
	if rec, res := p.post("/verify-otp", map[string]string{"cid": cid, "tp": "p", "textId": biometrics.TextID(pagePhrase)}); rec.Code != 400 || res["code"] != float64(100) || res["error"] != "phrase_proof_required" {
		t.Errorf("no phrase proof: %d %s", rec.Code, rec.Body)
	}
	if rec, res := p.post("/verify-otp", map[string]string{"cid": strings.Repeat("Q", 22), "tp": "p", "textId": "1"}); rec.Code != 404 || res["code"] != float64(101) {
		t.Errorf("no phrase proof on an unknown link: %d %s; want 101 first", rec.Code, rec.Body)
	}
	// Enrolling: another text is a 115.
	if rec, res := p.verify(cid, "amber walrus kit"); rec.Code != 400 || res["code"] != float64(115) || res["error"] != "phrase_mismatch" {
		t.Errorf("enrollment sample of another text: %d %s; want 400 code 115", rec.Code, rec.Body)
	}
	if rec, _ := p.verify(cid, pagePhrase); rec.Code != 200 {
		t.Fatalf("enrollment: %d %s", rec.Code, rec.Body)
	}
	// Enrolled: a failed attempt that says why.
	if rec, res := p.verify(cid, "walrus amber kite"); rec.Code != 200 || res["result"] != float64(0) || res["reason"] != "phrase" || res["attemptsLeft"] != float64(2) {
		t.Errorf("another text: %d %s; want result 0, reason phrase, attemptsLeft 2", rec.Code, rec.Body)
	}
}
