package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/challenge"
	"github.com/smsplus/smsplus/host/internal/i18n"
	"github.com/smsplus/smsplus/host/internal/seal"
	"github.com/smsplus/smsplus/host/internal/storage/embedded"
	"github.com/smsplus/smsplus/web"
)

// pageVerifier is a biometrics engine whose state the test sets: users start
// with `samples` enrolled patterns (read when the user is first seen).
type pageVerifier struct {
	mu       sync.Mutex
	samples  int
	required int
	match    bool
	down     bool
	users    map[string]int
}

func (v *pageVerifier) Name() string { return "local" }

func (v *pageVerifier) enrollment(uid string) biometrics.Enrollment {
	if v.users == nil {
		v.users = map[string]int{}
	}
	n, ok := v.users[uid]
	if !ok {
		n = v.samples
		v.users[uid] = n
	}
	return biometrics.Enrollment{Samples: n, Required: v.required, Enrolled: n >= v.required}
}

func (v *pageVerifier) Enrollment(_ context.Context, uid, _ string) (biometrics.Enrollment, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.down {
		return biometrics.Enrollment{}, biometrics.ErrUnavailable
	}
	return v.enrollment(uid), nil
}

func (v *pageVerifier) Submit(_ context.Context, uid, _, _, _ string) (biometrics.Result, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e := v.enrollment(uid); !e.Enrolled {
		v.users[uid]++
		return biometrics.Result{Action: biometrics.ActionEnroll, Enrollment: v.enrollment(uid)}, nil
	}
	return biometrics.Result{Action: biometrics.ActionVerify, Match: v.match, Enrollment: v.enrollment(uid)}, nil
}

func (v *pageVerifier) Delete(context.Context, string) error { return nil }

func (v *pageVerifier) set(f func(v *pageVerifier)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f(v)
}

const pagePhrase = "amber walrus kite"

func newPageServer(t testing.TB, v *pageVerifier, tweak func(*Options)) (*Server, *challenge.Service) {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := seal.New(nil)
	svc := challenge.New(challenge.Settings{
		BaseURL: "https://sms.example", HashSalt: "s", DefaultLanguage: "en", ChallengeTTL: time.Minute,
		PerChallengeMaxFailedAttempts: 3, MaxFailedAttempts: 2, LockoutDuration: 15 * time.Minute,
	}, challenge.Deps{Store: st, Sender: &outbox{}, Verifier: v, Sealer: sealer,
		NewPhrase: func(string) (challenge.Phrase, error) {
			return challenge.Phrase{Text: pagePhrase, TextID: biometrics.TextID(pagePhrase)}, nil
		}})
	o := Options{Service: svc, Static: web.Static(), Engine: "local", MaxBodyBytes: 1 << 16}
	if tweak != nil {
		tweak(&o)
	}
	return New(o), svc
}

var phoneSeq struct {
	sync.Mutex
	n int
}

// startChallenge makes a challenge for a new phone and returns its id and phone.
func startChallenge(t testing.TB, svc *challenge.Service, locale string) (cid, phone string) {
	t.Helper()
	phoneSeq.Lock()
	phoneSeq.n++
	phone = fmt.Sprintf("+1555555%04d", phoneSeq.n)
	phoneSeq.Unlock()
	st, err := svc.Start(context.Background(), challenge.Event{Bridge: "okta", Phone: phone, OTP: "482913", Locale: locale})
	if err != nil {
		t.Fatal(err)
	}
	return st.ChallengeID, phone
}

// get requests a page with headers given as name, value pairs.
func get(s http.Handler, path string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func parseHTML(t *testing.T, body []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func findAll(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return out
}

// byID is the element of doc with the id; the test fails without one.
func byID(t *testing.T, doc *html.Node, id string) *html.Node {
	t.Helper()
	var found *html.Node
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if found != nil {
			return
		}
		if n.Type == html.ElementNode && attrOf(n, "id") == id {
			found = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(doc)
	if found == nil {
		t.Fatalf("no element #%s", id)
	}
	return found
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		if n.Type == html.ElementNode && n.Data == "script" {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return b.String()
}

var nonceRE = regexp.MustCompile(`'nonce-([A-Za-z0-9_-]{22})'`)

// checkPage checks what every page must have: its CSP with a fresh nonce that
// every script and style carries, the security headers, the language.
func checkPage(t *testing.T, rec *httptest.ResponseRecorder, lang string) *html.Node {
	t.Helper()
	h := rec.Header()
	csp := h.Get("Content-Security-Policy")
	m := nonceRE.FindStringSubmatch(csp)
	if m == nil {
		t.Fatalf("no nonce in the CSP %q", csp)
	}
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'", "connect-src 'self'", "img-src 'self' data:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP lacks %q: %q", want, csp)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") {
		t.Errorf("CSP allows too much: %q", csp)
	}
	for name, want := range map[string]string{
		"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		"X-Content-Type-Options": "nosniff", "Content-Language": lang,
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	doc := parseHTML(t, rec.Body.Bytes())
	if got := attrOf(findAll(doc, "html")[0], "lang"); got != lang {
		t.Errorf("html lang %q, want %q", got, lang)
	}
	for _, tag := range []string{"script", "style"} {
		for _, n := range findAll(doc, tag) {
			if attrOf(n, "type") == "application/json" {
				continue
			}
			if attrOf(n, "nonce") != m[1] {
				t.Errorf("<%s> without the response's nonce", tag)
			}
		}
	}
	return doc
}

// TestPageEveryStageEveryLanguage renders each stage the server renders in every
// language of the catalog, with the real texts: a missing text or a template
// error would fail the request.
func TestPageEveryStageEveryLanguage(t *testing.T) {
	t.Parallel()
	texts := i18n.Builtin()
	title := func(lang, key string) string {
		s, ok := texts.Lookup(lang, i18n.Key(key))
		if !ok {
			t.Fatalf("no %s text %q", lang, key)
		}
		return s
	}
	for _, engine := range []string{"local", "typingdna"} {
		v := &pageVerifier{required: 3}
		s, svc := newPageServer(t, v, func(o *Options) { o.Engine = engine })
		enrollCID, _ := startChallenge(t, svc, "")
		v.set(func(v *pageVerifier) { v.samples = 3 })
		verifyCID, _ := startChallenge(t, svc, "")
		lockedCID, _ := startChallenge(t, svc, "")
		for range 2 {
			if _, err := svc.Verify(context.Background(), challenge.Attempt{CID: lockedCID, TextID: biometrics.TextID(pagePhrase), Pattern: "p",
				PhraseProof: challenge.PhraseProof(lockedCID, pagePhrase)}); err != nil {
				var locked *challenge.UserLockedError
				if !errors.As(err, &locked) {
					t.Fatal(err)
				}
			}
		}
		for _, lang := range texts.Languages() {
			for name, tc := range map[string]struct {
				path   string
				status int
				check  func(t *testing.T, doc *html.Node, body string)
			}{
				"first enrollment": {"/" + enrollCID, 200, func(t *testing.T, doc *html.Node, body string) {
					if !strings.Contains(body, `id="terms"`) || !strings.Contains(body, `id="enroll"`) {
						t.Error("no consent or enrollment box")
					}
				}},
				"verifying": {"/" + verifyCID, 200, func(t *testing.T, doc *html.Node, body string) {
					if strings.Contains(body, `id="enroll"`) {
						t.Error("enrollment box for an enrolled user")
					}
				}},
				"spelled": {"/" + verifyCID + "?spell=1", 200, func(t *testing.T, doc *html.Node, body string) {
					if !strings.Contains(textOf(doc), "w a l r u s") || strings.Contains(body, "data:image/png") {
						t.Error("not spelled out")
					}
					// No picture here: the lead and the hint say what this view
					// shows, not the picture view's words.
					for id, key := range map[string]string{"lead": "challenge.lead_spelled", "hint": "input.hint_spelled"} {
						got := textOf(byID(t, doc, id))
						if !strings.HasPrefix(got, title(lang, key)) {
							t.Errorf("#%s %q, want the %s text %q", id, got, key, title(lang, key))
						}
					}
				}},
				"picture": {"/" + verifyCID, 200, func(t *testing.T, doc *html.Node, body string) {
					for id, key := range map[string]string{"lead": "challenge.lead", "hint": "input.hint"} {
						if got := textOf(byID(t, doc, id)); !strings.HasPrefix(got, title(lang, key)) {
							t.Errorf("#%s %q, want the %s text %q", id, got, key, title(lang, key))
						}
					}
				}},
				"locked": {"/" + lockedCID, 403, func(t *testing.T, doc *html.Node, body string) {
					want := strings.ReplaceAll(title(lang, "locked.user"), "{minutes}", "15")
					if !strings.Contains(textOf(doc), want) {
						t.Errorf("locked page lacks %q", want)
					}
					if !strings.Contains(body, `id="reset-form"`) {
						t.Error("no reset form")
					}
				}},
				"unknown link": {"/" + strings.Repeat("A", 22), 404, func(t *testing.T, doc *html.Node, body string) {
					if !strings.Contains(textOf(doc), title(lang, "error.link_text")) {
						t.Error("no explanation")
					}
				}},
			} {
				t.Run(engine+"/"+lang+"/"+name, func(t *testing.T) {
					rec := get(s, tc.path+sep(tc.path)+"lang="+lang)
					if rec.Code != tc.status {
						t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.String())
					}
					doc := checkPage(t, rec, lang)
					tc.check(t, doc, rec.Body.String())
					if strings.Contains(textOf(doc), pagePhrase) && name != "spelled" {
						t.Error("the phrase is in the page's text")
					}
				})
			}
		}
	}
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

func TestPageUnavailable(t *testing.T) {
	t.Parallel()
	v := &pageVerifier{required: 3}
	s, svc := newPageServer(t, v, nil)
	cid, _ := startChallenge(t, svc, "")
	v.set(func(v *pageVerifier) { v.down = true })
	rec := get(s, "/"+cid, "Accept-Language", "es")
	if rec.Code != 503 {
		t.Fatalf("status %d", rec.Code)
	}
	doc := checkPage(t, rec, "es")
	if !strings.Contains(textOf(doc), "No disponible por ahora") {
		t.Errorf("no Spanish explanation: %s", textOf(doc))
	}
}

func TestPageLanguagePrecedence(t *testing.T) {
	t.Parallel()
	v := &pageVerifier{required: 3}
	s, svc := newPageServer(t, v, nil)
	iamPT, _ := startChallenge(t, svc, "pt_BR")
	iamNone, _ := startChallenge(t, svc, "")
	iamEN, _ := startChallenge(t, svc, "EN-US")
	for name, tc := range map[string]struct {
		path, accept, want string
	}{
		"IAM locale over the browser": {"/" + iamPT, "fr-FR,fr;q=0.9", "pt"},
		"the switch over the IAM":     {"/" + iamPT + "?lang=es", "fr", "es"},
		"browser without IAM locale":  {"/" + iamNone, "fr-CA, en;q=0.5", "fr"},
		"IAM default defers":          {"/" + iamEN, "es-419,es;q=0.9", "es"},
		"nothing usable":              {"/" + iamNone, "de-DE", "en"},
		"unsupported switch":          {"/" + iamNone + "?lang=xx", "pt", "pt"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := get(s, tc.path, "Accept-Language", tc.accept)
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			doc := checkPage(t, rec, tc.want)
			// The switch lists every language once, the current one marked.
			var current []string
			for _, a := range findAll(doc, "a") {
				if attrOf(a, "aria-current") == "true" {
					current = append(current, attrOf(a, "lang"))
				}
			}
			if len(current) != 1 || current[0] != tc.want {
				t.Errorf("current languages %v, want %s", current, tc.want)
			}
		})
	}
}

func TestPageSupportedLanguages(t *testing.T) {
	t.Parallel()
	texts, err := i18n.Builtin().Only("en", "es")
	if err != nil {
		t.Fatal(err)
	}
	s, svc := newPageServer(t, &pageVerifier{required: 3}, func(o *Options) { o.Texts = texts })
	cid, _ := startChallenge(t, svc, "fr")
	rec := get(s, "/"+cid+"?lang=pt", "Accept-Language", "fr, es;q=0.5")
	doc := checkPage(t, rec, "es")
	var langs []string
	for _, a := range findAll(doc, "a") {
		if l := attrOf(a, "hreflang"); l != "" {
			langs = append(langs, l+"="+attrOf(a, "href"))
		}
	}
	if got := strings.Join(langs, " "); got != "en=/"+cid+"?lang=en es=/"+cid+"?lang=es" {
		t.Errorf("switch %q", got)
	}
}

func TestPageCSPAndRecorder(t *testing.T) {
	t.Parallel()
	v := &pageVerifier{required: 3}
	local, svc := newPageServer(t, v, nil)
	cid, _ := startChallenge(t, svc, "")
	rec := get(local, "/"+cid)
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "require-trusted-types-for 'script'") || strings.Contains(csp, "typingdna") {
		t.Errorf("local CSP %q", csp)
	}
	if a, b := nonceRE.FindString(csp), nonceRE.FindString(get(local, "/"+cid).Header().Get("Content-Security-Policy")); a == b {
		t.Error("the nonce is the same on two responses")
	}

	for name, tc := range map[string]struct{ url, src string }{
		"default":    {"", "https://www.typingdna.com/scripts/typingdna.js"},
		"configured": {"https://cdn.example.org/tdna/typingdna.js?v=3.2", "https://cdn.example.org/tdna/typingdna.js"},
	} {
		t.Run(name, func(t *testing.T) {
			s, svc := newPageServer(t, v, func(o *Options) { o.Engine, o.RecorderURL = "typingdna", tc.url })
			cid, _ := startChallenge(t, svc, "")
			rec := get(s, "/"+cid)
			doc := checkPage(t, rec, "en")
			csp := rec.Header().Get("Content-Security-Policy")
			m := nonceRE.FindStringSubmatch(csp)
			want := "script-src 'nonce-" + m[1] + "' " + tc.src + ";"
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
			want = tc.url
			if want == "" {
				want = DefaultRecorderURL
			}
			scripts := findAll(doc, "script")
			if len(scripts) < 3 || attrOf(scripts[0], "src") != want || !strings.HasPrefix(attrOf(scripts[1], "src"), "/static/tdna.js") {
				t.Errorf("scripts do not start with the recorder %q then tdna.js", want)
			}
			if attrOf(findAll(doc, "main")[0], "data-motion") != "true" {
				t.Error("motion not asked for")
			}
		})
	}
	// A locked page loads no recorder, whatever the engine.
	v.set(func(v *pageVerifier) { v.samples = 3 })
	s, svc := newPageServer(t, v, func(o *Options) { o.Engine = "typingdna" })
	cid, _ = startChallenge(t, svc, "")
	for range 2 {
		_, _ = svc.Verify(context.Background(), challenge.Attempt{CID: cid, TextID: biometrics.TextID(pagePhrase), Pattern: "p",
			PhraseProof: challenge.PhraseProof(cid, pagePhrase)})
	}
	rec = get(s, "/"+cid)
	if rec.Code != 403 || strings.Contains(rec.Header().Get("Content-Security-Policy"), "typingdna") || strings.Contains(rec.Body.String(), "typingdna.js") {
		t.Errorf("locked page: %d %q", rec.Code, rec.Header().Get("Content-Security-Policy"))
	}
}

func TestPageCompression(t *testing.T) {
	t.Parallel()
	s, svc := newPageServer(t, &pageVerifier{required: 3}, nil)
	cid, _ := startChallenge(t, svc, "")
	plain := get(s, "/"+cid)
	gz := get(s, "/"+cid, "Accept-Encoding", "gzip, deflate, br")
	if plain.Header().Get("Content-Encoding") != "" || gz.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("encodings %q, %q", plain.Header().Get("Content-Encoding"), gz.Header().Get("Content-Encoding"))
	}
	if !strings.Contains(gz.Header().Get("Vary"), "Accept-Encoding") {
		t.Error("no Vary: Accept-Encoding")
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil || !bytes.Contains(body, []byte(`id="stage-challenge"`)) {
		t.Fatalf("gzip body: %v", err)
	}
	t.Logf("page: %d bytes, %d gzipped", plain.Body.Len(), gz.Body.Len())
	if refused := get(s, "/"+cid, "Accept-Encoding", "gzip;q=0, identity"); refused.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent though refused")
	}

	js := get(s, "/static/page.js", "Accept-Encoding", "gzip")
	if js.Code != 200 || js.Header().Get("Content-Encoding") != "gzip" || !strings.HasPrefix(js.Header().Get("Content-Type"), "text/javascript") ||
		!strings.Contains(js.Header().Get("Cache-Control"), "max-age") {
		t.Fatalf("static gzip: %d %v", js.Code, js.Header())
	}
	etag := js.Header().Get("ETag")
	if again := get(s, "/static/page.js", "Accept-Encoding", "gzip", "If-None-Match", etag); again.Code != 304 {
		t.Errorf("revalidation: %d", again.Code)
	}
	if raw := get(s, "/static/page.js"); raw.Header().Get("Content-Encoding") != "" || raw.Header().Get("ETag") == etag || !strings.Contains(raw.Body.String(), "SMS+") {
		t.Error("identity copy")
	}
	for _, path := range []string{"/static/", "/static/nope.js", "/static/../web.go"} {
		if rec := get(s, path); rec.Code != 404 {
			t.Errorf("%s: %d", path, rec.Code)
		}
	}
}

func TestResetAnswerSaysWhen(t *testing.T) {
	t.Parallel()
	s, svc := newPageServer(t, &pageVerifier{required: 3, samples: 3}, nil)
	cid, phone := startChallenge(t, svc, "")
	req := httptest.NewRequest(http.MethodPost, "/reset-account", strings.NewReader(`{"cid":"`+cid+`","phone":"`+phone+`"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var out struct {
		Result         int    `json:"result"`
		Action         string `json:"action"`
		ResetInMinutes int    `json:"resetInMinutes"`
		ResetAt        string `json:"resetAt"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	at, err := time.Parse(time.RFC3339, out.ResetAt)
	if err != nil || out.Action != "reset_scheduled" || out.ResetInMinutes != 60 || time.Until(at) < 59*time.Minute || time.Until(at) > 61*time.Minute {
		t.Errorf("answer %+v", out)
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, gzip;q=0.5": true, "gzip;q=0": false, "gzip; q=0.000": false,
		"br": false, "x-gzip": false, "*": false,
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Accept-Encoding", header)
		if got := acceptsGzip(req); got != want {
			t.Errorf("acceptsGzip(%q) = %v", header, got)
		}
	}
}

func TestPagePolicy(t *testing.T) {
	t.Parallel()
	if got := recorderSource("https://www.typingdna.com/scripts/typingdna.js?x=1#f"); got != "https://www.typingdna.com/scripts/typingdna.js" {
		t.Errorf("recorderSource = %q", got)
	}
	for _, bad := range []string{"not a url", "javascript:alert(1)", "data:text/javascript,x"} {
		if got := recorderSource(bad); got != "" {
			t.Errorf("recorderSource(%q) = %q", bad, got)
		}
	}
	if got := recorderSource("https://cdn.example/a.js;script-src *,x"); strings.ContainsAny(got, ";, ") {
		t.Errorf("recorderSource lets a directive through: %q", got)
	}
	p := pagePolicy("abc", "")
	if p != "default-src 'none'; script-src 'nonce-abc'; style-src 'nonce-abc'; img-src 'self' data:; connect-src 'self'; "+
		"form-action 'none'; frame-ancestors 'none'; base-uri 'none'; require-trusted-types-for 'script'; trusted-types 'none'" {
		t.Errorf("policy %q", p)
	}
}

// After someone asks for a reset, the owner's page says so, and the owner's pass
// answers that the reset is cancelled.
func TestPendingResetShownAndCancelled(t *testing.T) {
	t.Parallel()
	v := &pageVerifier{required: 3, samples: 3, match: true}
	s, svc := newPageServer(t, v, nil)
	cid, phone := startChallenge(t, svc, "")
	post := func(path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	if rec := post("/reset-account", `{"cid":"`+cid+`","phone":"`+phone+`"}`); rec.Code != 200 {
		t.Fatalf("reset: %d %s", rec.Code, rec.Body.String())
	}
	page := get(s, "/"+cid)
	if !strings.Contains(page.Body.String(), `id="reset-pending"`) {
		t.Fatalf("the page does not say a reset is pending:\n%s", page.Body.String())
	}
	rec := post("/verify-otp", `{"cid":"`+cid+`","tp":"x","textId":"`+biometrics.TextID(pagePhrase)+`","phraseProof":"`+challenge.PhraseProof(cid, pagePhrase)+`"}`)
	var out struct {
		OTP            string `json:"otp"`
		ResetCancelled bool   `json:"resetCancelled"`
		ResetNowTid    string `json:"resetNowTid"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.OTP == "" || !out.ResetCancelled || out.ResetNowTid == "" {
		t.Fatalf("pass: %d %s", rec.Code, rec.Body.String())
	}
	cid, _ = startChallenge(t, svc, "")
	if page := get(s, "/"+cid); strings.Contains(page.Body.String(), `id="reset-pending"`) {
		t.Fatal("another user's page says a reset is pending")
	}
}

// On a live link, a pattern of the wrong JSON type is a bad pattern (100).
func TestVerifyPatternOfWrongTypeOnLiveLink(t *testing.T) {
	t.Parallel()
	s, svc := newPageServer(t, &pageVerifier{required: 3, samples: 3}, nil)
	cid, _ := startChallenge(t, svc, "")
	req := httptest.NewRequest(http.MethodPost, "/verify-otp", strings.NewReader(`{"cid":"`+cid+`","tp":{"k":1},"textId":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"invalid_pattern"`) || !strings.Contains(rec.Body.String(), `"code":100`) {
		t.Fatalf("got %d %s", rec.Code, rec.Body.String())
	}
}

// phraseImage is the phrase image's data: URL in a page.
func phraseImage(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	m := regexp.MustCompile(`src="(data:image/png;base64,[^"]+)"`).FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		t.Fatalf("page without a phrase image: %d", rec.Code)
	}
	return m[1]
}

// The phrase image is drawn once per challenge: a reload, another language or
// another browser see the same picture (an OCR attacker gets no new distortion
// to combine), and another challenge gets its own.
func TestPageImageDrawnOncePerChallenge(t *testing.T) {
	t.Parallel()
	s, svc := newPageServer(t, &pageVerifier{required: 3}, nil)
	cid, _ := startChallenge(t, svc, "")
	first := phraseImage(t, get(s, "/"+cid))
	if again := phraseImage(t, get(s, "/"+cid+"?lang=fr")); again != first {
		t.Error("the page's image changed between two views of one challenge")
	}
	other, _ := startChallenge(t, svc, "")
	if phraseImage(t, get(s, "/"+other)) == first {
		t.Error("two challenges show the same drawing")
	}
}
