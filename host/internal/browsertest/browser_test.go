//go:build browser

package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// The browser side of the tests: one Chromium for the whole run, one tab per
// scenario, every console message of every tab checked.

// chromiumPath finds Chromium. On CI (CI=true) a missing browser fails the
// test: .ci/chromium.sh installs it first.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium not found: CI must run the browser tests (.ci/chromium.sh installs Debian's chromium)")
	}
	t.Skip("Chromium not found; run .ci/chromium.sh (or set CHROMIUM)")
	return ""
}

// artifactsDir is where screenshots and figures go: $ARTIFACTS_DIR/browser, or
// artifacts/browser at the repository root (git-ignored).
func artifactsDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ARTIFACTS_DIR")
	if base == "" {
		root, err := filepath.Abs(filepath.Join("..", "..", ".."))
		if err != nil {
			t.Fatal(err)
		}
		base = filepath.Join(root, "artifacts")
	}
	dir := filepath.Join(base, "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type browser struct {
	ctx   context.Context
	shots string

	mu    sync.Mutex
	saved []string
}

// startBrowser starts headless Chromium with the flags the project's CI uses
// and a fresh profile.
func startBrowser(t *testing.T, path, shots string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	t.Logf("Chromium started in %v", time.Since(start).Round(time.Millisecond))
	return &browser{ctx: ctx, shots: shots}
}

// allowance is a console message a scenario expects: the browser logs every
// HTTP error status of a page or a request, and some are the point of the test.
type allowance struct {
	path   string // URL path (and query) the message is about
	status int
}

// tab is one browser tab on a phone-sized viewport.
type tab struct {
	t   *testing.T
	b   *browser
	ctx context.Context

	mu      sync.Mutex
	msgs    []chromedp.ConsoleMessage
	allowed []allowance
}

// cspProbe runs in every document before the page's own scripts (DevTools
// scripts are not subject to the page's CSP) and turns each CSP violation into
// a console error, so that no violation can go unseen.
const cspProbe = `document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
});`

// newTab opens a tab emulating a 360x740 phone (touch, device scale 2), with
// acceptLanguage as the browser's languages. Its console is checked when the
// test ends. Tabs share the browser's profile (cookies, IndexedDB): one phone.
func (b *browser) newTab(t *testing.T, acceptLanguage string) *tab {
	t.Helper()
	return b.openTab(t, acceptLanguage)
}

// otherPhone opens a tab in a profile of its own (a new browser context:
// no cookies, no storage shared with the other tabs): another phone.
func (b *browser) otherPhone(t *testing.T, acceptLanguage string) *tab {
	t.Helper()
	return b.openTab(t, acceptLanguage, chromedp.WithNewBrowserContext())
}

func (b *browser) openTab(t *testing.T, acceptLanguage string, opts ...chromedp.ContextOption) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, opts...)
	tb := &tab{t: t, b: b, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.msgs = append(tb.msgs, m)
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		tb.checkConsole()
		cancel()
		<-done
	})
	tb.must(chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	tb.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe})
		return err
	})
	tb.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent:      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Mobile Safari/537.36",
			AcceptLanguage: acceptLanguage,
		})
		return err
	})
	return tb
}

func (tb *tab) must(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

func (tb *tab) call(f func(ctx context.Context) error) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := f(ctx); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression and decodes its value into T.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// evalAwait is eval for an expression that gives a promise: its value.
func evalAwait[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it is true. A navigation in
// between (a link, a reload) restarts the polling in the new document.
func (tb *tab) waitFor(cond, what string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(20*time.Millisecond)))
		if err == nil {
			return
		}
		if ctx.Err() == nil && navigating(err) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		status, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`(document.getElementById('status') || {}).textContent || ''`))
		tb.t.Fatalf("waiting for %s: %v (status: %q)", what, err, status)
	}
}

// navigating reports whether err comes from a document that went away.
func navigating(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Cannot find context") || strings.Contains(msg, "Execution context was destroyed") ||
		strings.Contains(msg, "Inspected target navigated")
}

// statusRegions are the page's live status regions: the shared one, the
// result stage's and the challenge form's.
const statusRegions = `['status', 'result-status', 'typed-status']`

// waitStatus waits until one of the page's live status regions says text.
func (tb *tab) waitStatus(text string) {
	tb.t.Helper()
	tb.waitFor(statusRegions+`.some(function (id) { var el = document.getElementById(id); return !!el && el.textContent === `+js(text)+`; })`,
		"status "+strconv.Quote(text))
}

// keyboardUp shrinks the tab's viewport to what a phone's on-screen keyboard
// leaves of it (360x740 with a keyboard of 360 px), or restores it.
func (tb *tab) keyboardUp(up bool) {
	tb.t.Helper()
	h := int64(740)
	if up {
		h = 380
	}
	tb.must(chromedp.EmulateViewport(360, h, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
}

// messageInSight checks that the status region saying text is on screen,
// wholly above the typing field, and that the field, which has the focus, is
// on screen too: what a user whose keyboard is up sees after a failed attempt.
func (tb *tab) messageInSight(text string) {
	tb.t.Helper()
	type box struct {
		Found                                   bool
		ID                                      string
		Top, Bottom, Field, FieldBottom, Height float64
		Focused                                 bool
	}
	got := eval[box](tb, `(function () {
	  var el = `+statusRegions+`.map(function (id) { return document.getElementById(id); })
	    .filter(function (e) { return !!e && e.textContent === `+js(text)+`; })[0];
	  var f = document.getElementById('typed');
	  if (!el || !f) { return { Found: false }; }
	  var a = el.getBoundingClientRect(), b = f.getBoundingClientRect();
	  return { Found: true, ID: el.id, Top: a.top, Bottom: a.bottom, Field: b.top, FieldBottom: b.bottom,
	    Height: window.visualViewport ? window.visualViewport.height : window.innerHeight, Focused: document.activeElement === f };
	})()`)
	switch {
	case !got.Found:
		tb.t.Errorf("no status region says %q", text)
	case got.Bottom > got.Field:
		tb.t.Errorf("#%s (%.0f to %.0f px) is not above the field (from %.0f px): the keyboard hides it", got.ID, got.Top, got.Bottom, got.Field)
	case got.Top < 0 || got.Bottom > got.Height:
		tb.t.Errorf("#%s (%.0f to %.0f px) is off the %.0f px left by the keyboard", got.ID, got.Top, got.Bottom, got.Height)
	case got.FieldBottom > got.Height || !got.Focused:
		tb.t.Errorf("the field (%.0f to %.0f px, focused %v) is not ready to type into within %.0f px", got.Field, got.FieldBottom, got.Focused, got.Height)
	}
}

// waitStage waits until the page shows the stage (and only it).
func (tb *tab) waitStage(stage string) {
	tb.t.Helper()
	tb.waitFor(`(function () {
	  var el = document.getElementById('stage-`+stage+`');
	  if (!el || el.hidden) { return false; }
	  return Array.prototype.every.call(document.querySelectorAll('section.stage'), function (s) { return s === el || s.hidden; });
	})()`, "stage "+stage)
}

func (tb *tab) text(id string) string {
	tb.t.Helper()
	return eval[string](tb, `document.getElementById(`+js(id)+`).textContent`)
}

func (tb *tab) visible(id string) bool {
	tb.t.Helper()
	return eval[bool](tb, `(function () { var e = document.getElementById(`+js(id)+`); return !!e && e.getClientRects().length > 0; })()`)
}

// navigate opens url and waits until page.js is ready (or the page loaded, for
// pages without scripts).
func (tb *tab) navigate(url string) {
	tb.t.Helper()
	tb.must(chromedp.Navigate(url))
	tb.waitFor(`document.readyState === 'complete' && (!document.getElementById('page') || document.getElementById('page').dataset.ready === 'true')`, "page ready")
}

// click taps an element by id, as a finger would.
func (tb *tab) click(id string) {
	tb.t.Helper()
	tb.must(chromedp.Tap(chromedp.ID(id)))
}

// fill types text into an empty field by id (phone numbers: only the typing
// challenge needs human-like timing).
func (tb *tab) fill(id, text string) {
	tb.t.Helper()
	eval[bool](tb, `(document.getElementById(`+js(id)+`).value = '') === ''`)
	tb.must(chromedp.Focus(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), text))
}

// shot saves a full-page screenshot as <n>-<name>.png.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	// Let the stage's short fade-in finish.
	time.Sleep(250 * time.Millisecond)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	tb.b.mu.Lock()
	file := filepath.Join(tb.b.shots, fmt.Sprintf("%02d-%s.png", len(tb.b.saved)+1, name))
	tb.b.saved = append(tb.b.saved, file)
	tb.b.mu.Unlock()
	if err := os.WriteFile(file, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// allow expects the browser to report an HTTP error status for path.
func (tb *tab) allow(path string, status int) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.allowed = append(tb.allowed, allowance{path, status})
}

// takeMessages returns the console messages so far and forgets them.
func (tb *tab) takeMessages() []chromedp.ConsoleMessage {
	time.Sleep(150 * time.Millisecond) // messages arrive asynchronously
	tb.mu.Lock()
	defer tb.mu.Unlock()
	m := tb.msgs
	tb.msgs = nil
	return m
}

// checkConsole fails the test on any console error, uncaught exception or CSP
// violation, except the HTTP error statuses the scenario expects.
func (tb *tab) checkConsole() {
	tb.t.Helper()
	for _, m := range tb.takeMessages() {
		if bad, why := tb.unexpected(m); bad {
			tb.t.Errorf("browser console (%s): %s %s [%s] %s", why, m.Type, m.Source, m.URL, m.Text)
		} else if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning {
			tb.t.Logf("expected console message: %s %s %s", m.Type, m.URL, m.Text)
		}
	}
}

func (tb *tab) unexpected(m chromedp.ConsoleMessage) (bool, string) {
	text := strings.ToLower(m.Text)
	if strings.Contains(text, "content security policy") || strings.Contains(text, "csp violation") || strings.Contains(text, "trusted type") {
		return true, "CSP"
	}
	if m.IsException() {
		return true, "exception"
	}
	if m.Type != chromedp.ConsoleError {
		return false, ""
	}
	if m.Source == "network" {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, a := range tb.allowed {
			if strings.HasSuffix(m.URL, a.path) && strings.Contains(m.Text, "status of "+strconv.Itoa(a.status)) {
				return false, ""
			}
		}
	}
	return true, "error"
}

// typist types like one person: each key is held for about hold and the next
// one pressed about flight after it came up, with that person's habits per
// position and some variation from attempt to attempt, as people have.
type typist struct {
	name         string
	hold, flight float64 // ms
	seed         uint64
}

// timings returns the hold and flight of each key of one attempt: the
// person's habit at each position, an overall tempo of the attempt, and
// log-normal variation from one attempt to the next (about 12 % on holds, 15 %
// on flights), as people vary. (A typist much steadier than that retypes
// within the engine's replay limit and is refused as a replay.)
func (p typist) timings(n int, rng *rand.Rand) (holds, flights []time.Duration) {
	habits := rand.New(rand.NewPCG(p.seed, p.seed^0x9e3779b97f4a7c15))
	tempo := math.Exp(0.05 * rng.NormFloat64())
	for range n {
		hh := 0.8 + 0.4*habits.Float64()
		fh := 0.75 + 0.5*habits.Float64()
		h := p.hold * hh * tempo * math.Exp(0.12*rng.NormFloat64())
		f := p.flight * fh * tempo * math.Exp(0.15*rng.NormFloat64())
		holds = append(holds, time.Duration(h*float64(time.Millisecond)))
		flights = append(flights, time.Duration(f*float64(time.Millisecond)))
	}
	return holds, flights
}

// pattern is an sp1 pattern of one attempt, for enrolling through the API.
func (p typist) pattern(textID string, n int, rng *rand.Rand) string {
	holds, flights := p.timings(n, rng)
	parts := make([]string, n)
	down := time.Duration(0)
	for i := range n {
		up := down + holds[i]
		parts[i] = strconv.FormatInt(down.Milliseconds(), 10) + "," + strconv.FormatInt(up.Milliseconds(), 10)
		down = up + flights[i]
	}
	return "sp1:" + textID + ":" + strconv.Itoa(n) + ":" + strings.Join(parts, ";")
}

// typePhrase types the phrase into #typed, key by key, with the typist's
// timing, through real key events.
func (tb *tab) typePhrase(p typist, rng *rand.Rand) {
	tb.t.Helper()
	holds, flights := p.timings(tb.phraseLength(), rng)
	tb.typeTimings(holds, flights)
}

// phraseLength is the length of the phrase the page asks for.
func (tb *tab) phraseLength() int {
	tb.t.Helper()
	return eval[int](tb, `parseInt(document.getElementById('page').dataset.length, 10)`)
}

// phrases are the phrases the tests read, by text id.
var phrases sync.Map

// phrase is the phrase on the tab's page. The page shows it as a picture; the
// test reads it, as any client can, from the page's spelled-out view
// (?spell=1): every verification proves the phrase was typed.
func (tb *tab) phrase() string {
	tb.t.Helper()
	textID := eval[string](tb, `document.getElementById('page').dataset.textId`)
	if p, ok := phrases.Load(textID); ok {
		return p.(string)
	}
	url := eval[string](tb, `location.origin + '/' + document.getElementById('page').dataset.cid + '?spell=1'`)
	resp, err := http.Get(url)
	if err != nil {
		tb.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := e2e.SpelledPhrase(body)
	if p == "" {
		tb.t.Fatalf("no spelled phrase at %s (%d)", url, resp.StatusCode)
	}
	phrases.Store(textID, p)
	return p
}

// typeTimings types the phrase with exactly these holds and flights (one of
// each per character).
func (tb *tab) typeTimings(holds, flights []time.Duration) {
	tb.t.Helper()
	text := tb.phrase()
	if len(text) != len(holds) {
		tb.t.Fatalf("%d timings for a phrase of %d characters", len(holds), len(text))
	}
	tb.must(chromedp.Focus(chromedp.ID("typed")))
	tb.call(func(ctx context.Context) error {
		for i, r := range text {
			evs := kb.Encode(r)
			if len(evs) != 3 {
				return errors.New("unexpected key encoding")
			}
			for _, ev := range evs[:2] { // keyDown, char
				if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, *ev); err != nil {
					return err
				}
			}
			time.Sleep(holds[i])
			if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, *evs[2]); err != nil {
				return err
			}
			time.Sleep(flights[i])
		}
		return nil
	})
	if got := eval[string](tb, `document.getElementById('typed').value`); got != text {
		tb.t.Fatalf("typed %q, want %q", got, text)
	}
}

// js quotes a string as a JavaScript literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// setCache turns the browser cache off (first visits) or on.
func (tb *tab) setCache(disabled bool) {
	tb.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: disabled})
		return err
	})
}

// colorScheme emulates the dark or light preference.
func (tb *tab) colorScheme(scheme string) {
	tb.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}
