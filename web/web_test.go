package web

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// The rendering tests here use stand-in texts: each text is its key, followed by
// its placeholders for the few keys that have some. The host's tests
// (host/internal/httpapi) render every stage in every language with the real
// catalogs.
var fakeTexts = map[string]string{
	"enroll.progress": "enroll.progress {done}/{required}",
	"locked.user":     "locked.user {minutes}",
	"phrase.word":     "phrase.word {n}",
	"error.status":    "error.status {status}",
}

func fakeLocale(lang string) Locale {
	return Locale{Lang: lang, Text: func(key string) (string, bool) {
		if t, ok := fakeTexts[key]; ok {
			return t, true
		}
		return key, true
	}}
}

// A realistic phrase image is 4 to 7 KB of PNG; this stands in for it
// (incompressible, so the weight test errs on the heavy side).
var testImage = func() template.URL {
	b := make([]byte, 7<<10)
	_, _ = rand.Read(b)
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
}()

const testNonce = "bm9uY2Utbm9uY2Utbm9uY2U"

func basePage() ChallengePage {
	return ChallengePage{
		Locale:       fakeLocale("en"),
		Nonce:        testNonce,
		CID:          "q8Vd3kZ0b1Xy7uT2sR5wAg",
		PhraseImage:  testImage,
		SpellURL:     "/q8Vd3kZ0b1Xy7uT2sR5wAg?spell=1",
		PhraseLength: 15,
		TextID:       "3172620873",
		Enrolling:    true,
		Samples:      1,
		Required:     3,
		Engine:       EngineLocal,
	}
}

func renderChallenge(t *testing.T, p ChallengePage) (string, *html.Node) {
	t.Helper()
	var buf bytes.Buffer
	if err := RenderChallenge(&buf, p); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return buf.String(), doc
}

// walk calls fn for every element node.
func walk(n *html.Node, fn func(*html.Node)) {
	if n.Type == html.ElementNode {
		fn(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	if n == nil {
		return "", false
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func byID(doc *html.Node, id string) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) {
		if v, _ := attr(n, "id"); v == id && found == nil {
			found = n
		}
	})
	return found
}

func hidden(n *html.Node) bool {
	_, ok := attr(n, "hidden")
	return ok
}

func text(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return b.String()
}

// scripts returns the src of every executable script, in order.
func scripts(doc *html.Node) []string {
	var out []string
	walk(doc, func(n *html.Node) {
		if n.Data == "script" {
			if typ, _ := attr(n, "type"); typ == "" {
				src, _ := attr(n, "src")
				out = append(out, src)
			}
		}
	})
	return out
}

// checkCSPSafe fails on anything the page's CSP would block: scripts and styles
// without the nonce, inline script code, style attributes, event-handler
// attributes, javascript: URLs, other origins (except allowedScript).
func checkCSPSafe(t *testing.T, doc *html.Node, allowedScript string) {
	t.Helper()
	walk(doc, func(n *html.Node) {
		switch n.Data {
		case "style":
			if v, _ := attr(n, "nonce"); v != testNonce {
				t.Errorf("<style> without the nonce")
			}
		case "script":
			typ, _ := attr(n, "type")
			if typ == "application/json" {
				break // a data block, never run
			}
			src, ok := attr(n, "src")
			if !ok || n.FirstChild != nil {
				t.Errorf("inline script")
			}
			if v, _ := attr(n, "nonce"); v != testNonce {
				t.Errorf("script %q without the nonce", src)
			}
			if !strings.HasPrefix(src, StaticPrefix) && src != allowedScript {
				t.Errorf("script from %q", src)
			}
			if _, ok := attr(n, "defer"); !ok {
				t.Errorf("script %q without defer: it would hold up the first paint", src)
			}
		case "link":
			if rel, _ := attr(n, "rel"); rel == "stylesheet" {
				t.Errorf("external style sheet: the first paint would wait for it")
			}
		}
		for _, a := range n.Attr {
			if a.Key == "style" {
				t.Errorf("<%s style=...>", n.Data)
			}
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=...>", n.Data, a.Key)
			}
			if a.Key == "href" || a.Key == "src" || a.Key == "action" {
				if a.Val == allowedScript && n.Data == "script" {
					continue
				}
				if !strings.HasPrefix(a.Val, "/") && !strings.HasPrefix(a.Val, "data:image/png;base64,") {
					t.Errorf("<%s %s=%.40q>: not same-origin", n.Data, a.Key, a.Val)
				}
				if strings.HasPrefix(a.Val, "//") {
					t.Errorf("<%s %s=%q>: protocol-relative URL", n.Data, a.Key, a.Val)
				}
			}
		}
	})
}

// checkAccessible fails on controls without labels and on missing landmarks.
func checkAccessible(t *testing.T, doc *html.Node) {
	t.Helper()
	labels := map[string]bool{}
	walk(doc, func(n *html.Node) {
		if n.Data == "label" {
			if f, ok := attr(n, "for"); ok {
				labels[f] = true
			}
		}
	})
	walk(doc, func(n *html.Node) {
		if n.Data == "input" {
			id, _ := attr(n, "id")
			if !labels[id] {
				t.Errorf("input #%s has no label", id)
			}
		}
		if n.Data == "button" && strings.TrimSpace(text(n)) == "" {
			t.Errorf("button without a text")
		}
		if n.Data == "img" {
			if _, ok := attr(n, "alt"); !ok {
				t.Errorf("img without alt")
			}
		}
	})
	if lang, _ := attr(firstElement(doc, "html"), "lang"); lang == "" {
		t.Error("no lang attribute")
	}
	if firstElement(doc, "main") == nil {
		t.Error("no <main>")
	}
}

func firstElement(doc *html.Node, tag string) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) {
		if n.Data == tag && found == nil {
			found = n
		}
	})
	return found
}

func TestRenderChallenge(t *testing.T) {
	t.Parallel()
	out, doc := renderChallenge(t, basePage())
	checkCSPSafe(t, doc, "")
	checkAccessible(t, doc)

	root := byID(doc, "page")
	for key, want := range map[string]string{
		"data-stage":     "challenge",
		"data-lang":      "en",
		"data-cid":       "q8Vd3kZ0b1Xy7uT2sR5wAg",
		"data-text-id":   "3172620873",
		"data-length":    "15",
		"data-enrolling": "true",
		"data-samples":   "1",
		"data-required":  "3",
		"data-engine":    "local",
		"data-motion":    "false",
	} {
		if got, _ := attr(root, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if got := scripts(doc); len(got) != 3 || !strings.HasPrefix(got[0], "/static/recorder.js?v=") ||
		!strings.HasPrefix(got[1], "/static/device.js?v=") || !strings.HasPrefix(got[2], "/static/page.js?v=") {
		t.Errorf("scripts %v, want recorder.js, device.js, page.js", got)
	}

	img := byID(doc, "phrase")
	if src, _ := attr(img, "src"); src != string(testImage) {
		t.Errorf("phrase image src mangled: %.60q", src)
	}
	if alt, _ := attr(img, "alt"); alt != "phrase.alt" {
		t.Errorf("phrase image alt = %q: it must describe, never spell, the phrase", alt)
	}
	if href, _ := attr(byID(doc, "spell"), "href"); href != "/q8Vd3kZ0b1Xy7uT2sR5wAg?spell=1" {
		t.Errorf("spell link %q", href)
	}

	input := byID(doc, "typed")
	for key, want := range map[string]string{
		"type": "text", "autocomplete": "off", "autocapitalize": "off", "autocorrect": "off",
		"spellcheck": "false", "inputmode": "text", "maxlength": "23",
	} {
		if got, _ := attr(input, key); got != want {
			t.Errorf("input %s = %q, want %q", key, got, want)
		}
	}
	status := byID(doc, "status")
	for key, want := range map[string]string{"role": "status", "aria-live": "polite", "aria-atomic": "true"} {
		if got, _ := attr(status, key); got != want {
			t.Errorf("status %s = %q, want %q", key, got, want)
		}
	}
	// Every stage is in the page; only the challenge shows.
	for _, stage := range []string{"challenge", "result", "locked", "reset", "disable", "done"} {
		sec := byID(doc, "stage-"+stage)
		if sec == nil {
			t.Errorf("no stage %s", stage)
			continue
		}
		if hidden(sec) != (stage != "challenge") {
			t.Errorf("stage %s hidden = %v", stage, hidden(sec))
		}
		if h := byID(doc, stage+"-title"); h == nil || h.Data != "h1" {
			t.Errorf("stage %s has no h1 #%s-title to move the focus to", stage, stage)
		}
	}
	for _, id := range []string{"form", "submit", "otp", "copy", "enroll", "progress", "progress-text",
		"resetnow-form", "resetnow-phone", "disable-open", "disable-form", "disable-phone", "reset-open", "reset-form", "reset-phone"} {
		if byID(doc, id) == nil {
			t.Errorf("no #%s element", id)
		}
	}
	for _, id := range []string{"copy", "resetnow", "disable-open"} {
		if !hidden(byID(doc, id)) {
			t.Errorf("#%s visible before a result", id)
		}
	}
	for _, id := range []string{"reset-phone", "disable-phone", "resetnow-phone"} {
		if typ, _ := attr(byID(doc, id), "type"); typ != "tel" {
			t.Errorf("#%s type %q", id, typ)
		}
	}
	if byID(doc, "terms") != nil {
		t.Error("consent asked again after the first sample")
	}
	if byID(doc, "motion") != nil {
		t.Error("motion panel for an engine that does not use motion")
	}
	for _, want := range []string{"enroll.text", "enroll.progress 1/3", `<html lang="en">`, `name="viewport"`, `name="referrer" content="no-referrer"`} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The texts for the script: a JSON object with every key page.js uses.
	var msgs map[string]string
	if err := json.Unmarshal([]byte(text(byID(doc, "texts"))), &msgs); err != nil {
		t.Fatalf("texts block: %v", err)
	}
	for _, k := range scriptKeys {
		if msgs[k] == "" {
			t.Errorf("texts block lacks %q", k)
		}
	}
}

func TestRenderTerms(t *testing.T) {
	t.Parallel()
	p := basePage()
	p.Samples = 0
	_, doc := renderChallenge(t, p)
	box := byID(doc, "terms")
	if typ, _ := attr(box, "type"); typ != "checkbox" {
		t.Fatalf("first enrollment visit: no consent checkbox")
	}
	checkAccessible(t, doc)
}

func TestRenderChallengeVerifying(t *testing.T) {
	t.Parallel()
	p := basePage()
	p.Enrolling, p.Samples = false, 3
	out, doc := renderChallenge(t, p)
	if byID(doc, "enroll") != nil || strings.Contains(out, "enroll.text") || byID(doc, "terms") != nil {
		t.Error("enrollment section shown to an enrolled user")
	}
	if got := text(byID(doc, "submit")); got != "input.submit" {
		t.Errorf("button %q", got)
	}
}

func TestRenderTypingDNA(t *testing.T) {
	t.Parallel()
	const recorder = "https://www.typingdna.com/scripts/typingdna.js"
	p := basePage()
	p.Engine, p.RecorderURL, p.Motion = EngineTypingDNA, recorder, true
	out, doc := renderChallenge(t, p)
	checkCSPSafe(t, doc, recorder)
	got := scripts(doc)
	if len(got) != 4 || got[0] != recorder || !strings.HasPrefix(got[1], "/static/tdna.js?v=") ||
		!strings.HasPrefix(got[2], "/static/device.js?v=") || !strings.HasPrefix(got[3], "/static/page.js?v=") {
		t.Errorf("scripts %v, want the TypingDNA recorder, tdna.js, device.js, page.js", got)
	}
	if strings.Contains(out, "recorder.js") {
		t.Error("the local recorder is loaded in TypingDNA mode")
	}
	if m := byID(doc, "motion"); m == nil || !hidden(m) || byID(doc, "motion-allow") == nil {
		t.Error("no motion permission panel (hidden until the script finds the browser needs one)")
	}
	if !strings.Contains(text(byID(doc, "hint")), "posture.hint") {
		t.Error("no posture hint")
	}
	p.RecorderURL = ""
	if err := RenderChallenge(&bytes.Buffer{}, p); err == nil {
		t.Error("TypingDNA mode without a recorder URL rendered")
	}
}

// TestRenderDeviceStage: the page page.js shows when the browser is not the one
// SMS+ knows for the user: what happened, what to do, the way to reset.
func TestRenderDeviceStage(t *testing.T) {
	t.Parallel()
	_, doc := renderChallenge(t, basePage())
	stage := byID(doc, "stage-device")
	if stage == nil || !hidden(stage) {
		t.Fatal("no hidden device stage")
	}
	if got := text(byID(doc, "device-title")); got != "device.title" {
		t.Errorf("title %q", got)
	}
	body := text(stage)
	for _, key := range []string{"device.text", "device.what", "locked.reset"} {
		if !strings.Contains(body, key) {
			t.Errorf("the device stage lacks %s", key)
		}
	}
	if v, _ := attr(byID(doc, "device-reset"), "type"); v != "button" {
		t.Error("no reset button on the device stage")
	}
}

func TestRenderLocked(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		minutes int
		want    string
	}{
		"user locked":      {15, "locked.user 15"},
		"challenge locked": {0, "locked.link"},
	} {
		p := ChallengePage{Locale: fakeLocale("fr"), Nonce: testNonce, Stage: StageLocked, CID: "q8Vd3kZ0b1Xy7uT2sR5wAg", LockMinutes: tc.minutes}
		out, doc := renderChallenge(t, p)
		checkCSPSafe(t, doc, "")
		checkAccessible(t, doc)
		if hidden(byID(doc, "stage-locked")) || byID(doc, "stage-challenge") != nil {
			t.Errorf("%s: wrong stage shown", name)
		}
		if got := text(byID(doc, "locked-text")); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
		if byID(doc, "reset-open") == nil || byID(doc, "reset-form") == nil {
			t.Errorf("%s: no way to reset", name)
		}
		if got := scripts(doc); len(got) != 1 || !strings.HasPrefix(got[0], "/static/page.js") {
			t.Errorf("%s: scripts %v, want page.js only", name, got)
		}
		if strings.Contains(out, "data:image") {
			t.Errorf("%s: phrase image on a locked page", name)
		}
		if !strings.Contains(out, "<title>locked.title · SMS+</title>") {
			t.Errorf("%s: title", name)
		}
	}
}

func TestRenderSpelled(t *testing.T) {
	t.Parallel()
	p := basePage()
	p.PhraseImage, p.Spelled, p.SpellURL = "", []string{"tree", "lamp"}, "/q8Vd3kZ0b1Xy7uT2sR5wAg"
	out, doc := renderChallenge(t, p)
	checkAccessible(t, doc)
	if byID(doc, "phrase") != nil {
		t.Error("image shown with the spelled phrase")
	}
	sp := byID(doc, "spelled")
	if sp == nil {
		t.Fatal("no spelled phrase")
	}
	got := strings.Join(strings.Fields(text(sp)), " ")
	for _, want := range []string{"phrase.word 1 tree t r e e", "phrase.word 2 lamp l a m p"} {
		if !strings.Contains(got, want) {
			t.Errorf("spelled %q lacks %q", got, want)
		}
	}
	if !strings.Contains(out, `href="/q8Vd3kZ0b1Xy7uT2sR5wAg">phrase.picture`) {
		t.Error("no way back to the picture")
	}
}

func TestRenderLanguageSwitch(t *testing.T) {
	t.Parallel()
	p := basePage()
	p.Languages = []Language{
		{Tag: "en", Name: "English", URL: "/q8Vd3kZ0b1Xy7uT2sR5wAg?lang=en", Current: true},
		{Tag: "es", Name: "Español", URL: "/q8Vd3kZ0b1Xy7uT2sR5wAg?lang=es"},
	}
	out, doc := renderChallenge(t, p)
	nav := byID(doc, "langs")
	if nav == nil {
		t.Fatal("no language switch")
	}
	if label, _ := attr(nav, "aria-label"); label != "page.languages" {
		t.Errorf("switch label %q", label)
	}
	for _, want := range []string{
		`<a href="/q8Vd3kZ0b1Xy7uT2sR5wAg?lang=en" lang="en" hreflang="en" aria-current="true">English</a>`,
		`<a href="/q8Vd3kZ0b1Xy7uT2sR5wAg?lang=es" lang="es" hreflang="es">Español</a>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("switch lacks %s", want)
		}
	}
	p.Languages = p.Languages[:1]
	if _, doc := renderChallenge(t, p); byID(doc, "langs") != nil {
		t.Error("a switch with one language")
	}
}

func TestRenderChallengeEscapes(t *testing.T) {
	t.Parallel()
	p := basePage()
	p.CID = `"><script>alert(1)</script>`
	p.TextID = `1" onmouseover="x`
	p.Locale.Text = func(key string) (string, bool) { return `</script><script>alert("` + key + `")</script>`, true }
	out, doc := renderChallenge(t, p)
	if strings.Contains(out, "<script>alert") {
		t.Error("not escaped")
	}
	if v, _ := attr(byID(doc, "page"), "data-cid"); v != p.CID {
		t.Errorf("data-cid = %q", v)
	}
	walk(doc, func(n *html.Node) {
		for _, a := range n.Attr {
			if a.Key == "onmouseover" {
				t.Error("attribute injection")
			}
		}
	})
	var msgs map[string]string
	if err := json.Unmarshal([]byte(text(byID(doc, "texts"))), &msgs); err != nil || !strings.Contains(msgs["msg.miss"], "</script>") {
		t.Errorf("texts block: %v %q", err, msgs["msg.miss"])
	}
}

func TestRenderDefaultsAndRefusals(t *testing.T) {
	t.Parallel()
	p := basePage()
	p.Lang, p.Engine, p.Stage = "", "", ""
	out, doc := renderChallenge(t, p)
	if !strings.Contains(out, `<html lang="en">`) {
		t.Error("default lang not en")
	}
	if v, _ := attr(byID(doc, "page"), "data-engine"); v != "local" {
		t.Errorf("default engine %q", v)
	}
	for name, mod := range map[string]func(*ChallengePage){
		"no nonce":       func(p *ChallengePage) { p.Nonce = "" },
		"unknown stage":  func(p *ChallengePage) { p.Stage = "other" },
		"unknown engine": func(p *ChallengePage) { p.Engine = "other" },
		"missing text": func(p *ChallengePage) {
			p.Locale.Text = func(key string) (string, bool) { return key, key != "result.copy" }
		},
		"missing script text": func(p *ChallengePage) {
			p.Locale.Text = func(key string) (string, bool) { return key, key != "msg.miss" }
		},
		"no texts at all": func(p *ChallengePage) { p.Locale.Text = nil },
	} {
		p := basePage()
		mod(&p)
		var buf bytes.Buffer
		if err := RenderChallenge(&buf, p); err == nil {
			t.Errorf("%s: rendered", name)
		} else if buf.Len() != 0 {
			t.Errorf("%s: wrote %d bytes before failing", name, buf.Len())
		}
	}
}

func TestRenderError(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	loc := fakeLocale("pt")
	err := RenderError(&buf, ErrorPage{Locale: loc, Nonce: testNonce, TitleKey: ErrorLinkTitle, TextKey: ErrorLinkText, Status: 404})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	checkCSPSafe(t, doc, "")
	checkAccessible(t, doc)
	for _, want := range []string{"<title>error.link_title · SMS+</title>", "<h1>error.link_title</h1>", "error.link_text", "error.status 404", `lang="pt"`} {
		if !strings.Contains(out, want) {
			t.Errorf("error page lacks %q", want)
		}
	}
	if len(scripts(doc)) != 0 {
		t.Error("error page loads scripts")
	}
	if err := RenderError(&bytes.Buffer{}, ErrorPage{Locale: loc, Nonce: testNonce, TitleKey: "nope", TextKey: ErrorLinkText}); err != nil {
		t.Log(err) // fakeLocale knows every key; a real catalog does not
	}
	if err := RenderError(&bytes.Buffer{}, ErrorPage{Locale: loc, TitleKey: ErrorTitle, TextKey: ErrorText}); err == nil {
		t.Error("error page without a nonce rendered")
	}
}

func TestLocaleT(t *testing.T) {
	t.Parallel()
	l := Locale{Lang: "en", Text: func(key string) (string, bool) {
		return map[string]string{"a": "{x} and {y}, not {z}"}[key], key == "a"
	}}
	if got, err := l.T("a", "x", 1, "y", "{z}"); err != nil || got != "1 and {z}, not {z}" {
		t.Errorf("T = %q, %v", got, err)
	}
	if _, err := l.T("a", "x"); err == nil {
		t.Error("odd arguments accepted")
	}
	if _, err := l.T("b"); err == nil {
		t.Error("missing key accepted")
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("closed")
}

func TestRenderWritesOnce(t *testing.T) {
	t.Parallel()
	w := &failWriter{}
	if err := RenderChallenge(w, basePage()); err == nil {
		t.Error("write error not returned")
	}
	if w.n != 1 {
		t.Errorf("%d writes, want one", w.n)
	}
}

func TestStatic(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"page.css", "page.js", "recorder.js", "tdna.js", "favicon.svg"} {
		b, err := fs.ReadFile(Static(), name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
	urls, err := assetURLs()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^/static/page\.js\?v=[0-9a-f]{12}$`).MatchString(urls["page.js"]) {
		t.Errorf("page.js URL %q", urls["page.js"])
	}
}

func TestTextKeys(t *testing.T) {
	t.Parallel()
	keys := TextKeys()
	for _, want := range []string{"challenge.title", "locked.reset", "msg.miss", "error.link_title", "phrase.word", "page.footer"} {
		if !slices.Contains(keys, want) {
			t.Errorf("TextKeys lacks %q", want)
		}
	}
	if !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
		t.Error("TextKeys not sorted and unique")
	}
}

// TestScriptKeys keeps scriptKeys and the t('...') calls of page.js in step.
func TestScriptKeys(t *testing.T) {
	t.Parallel()
	b, err := fs.ReadFile(Static(), "page.js")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bt\('([a-z_.]+)'`).FindAllSubmatch(b, -1) {
		used[string(m[1])] = true
	}
	// Keys passed around as values (done('reset.title', ...)).
	for _, m := range regexp.MustCompile(`done\('([a-z_.]+)'`).FindAllSubmatch(b, -1) {
		used[string(m[1])] = true
	}
	for k := range used {
		if !slices.Contains(scriptKeys, k) {
			t.Errorf("page.js uses %q, which scriptKeys lacks", k)
		}
	}
	for _, k := range scriptKeys {
		if !used[k] {
			t.Errorf("scriptKeys has %q, which page.js does not use", k)
		}
	}
}

// gzipSize is the size of b compressed as a server would send it.
func gzipSize(t *testing.T, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}

// TestPageWeight keeps the page and everything it loads small for slow networks:
// under 60 KB compressed, in either engine's mode, with a realistic image. (The
// TypingDNA recorder itself comes from TypingDNA and is not counted.)
func TestPageWeight(t *testing.T) {
	t.Parallel()
	local := basePage()
	local.Samples = 0 // the heaviest variant: consent and enrollment texts
	tdna := local
	tdna.Engine, tdna.RecorderURL, tdna.Motion = EngineTypingDNA, "https://www.typingdna.com/scripts/typingdna.js", true
	for name, tc := range map[string]struct {
		p      ChallengePage
		assets []string
	}{
		"local":     {local, []string{"recorder.js", "device.js", "page.js", "favicon.svg"}},
		"typingdna": {tdna, []string{"tdna.js", "device.js", "page.js", "favicon.svg"}},
	} {
		var buf bytes.Buffer
		if err := RenderChallenge(&buf, tc.p); err != nil {
			t.Fatal(err)
		}
		total := gzipSize(t, buf.Bytes())
		line := []string{"page " + strconv.Itoa(total)}
		for _, a := range tc.assets {
			b, err := fs.ReadFile(Static(), a)
			if err != nil {
				t.Fatal(err)
			}
			n := gzipSize(t, b)
			total += n
			line = append(line, a+" "+strconv.Itoa(n))
		}
		t.Logf("%s: %d bytes compressed (%s)", name, total, strings.Join(line, ", "))
		if total > 60<<10 {
			t.Errorf("%s: page weighs %d bytes compressed, want under 60 KB", name, total)
		}
	}
}

// TestScriptsAvoidStorage: the code must never reach the URL or browser storage,
// and the scripts build no markup from strings. device.js alone may use
// IndexedDB, for the device's key pair, and never sees the code.
func TestScriptsAvoidStorage(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"page.js", "recorder.js", "tdna.js", "device.js"} {
		b, err := fs.ReadFile(Static(), name)
		if err != nil {
			t.Fatal(err)
		}
		bad := []string{"localStorage", "sessionStorage", "document.cookie", "location.", "history.", "eval(", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "new Function", "caches."}
		if name == "device.js" {
			bad = append(bad, "otp", "textContent", "document.")
		} else {
			bad = append(bad, "indexedDB")
		}
		for _, w := range bad {
			if bytes.Contains(b, []byte(w)) {
				t.Errorf("%s uses %s", name, w)
			}
		}
	}
}

// TestScripts runs the behaviour tests of recorder.js, tdna.js and page.js in
// Node. Without Node it skips on a laptop and fails in CI (CI=true), where
// .ci/node.sh installs it.
func TestScripts(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal("node is not installed: CI must run the page scripts' tests (.ci/node.sh installs it)")
		}
		t.Skip("node is not installed (.ci/node.sh installs it)")
	}
	for _, script := range []string{"recorder_test.js", "page_test.js"} {
		out, err := exec.Command(node, filepath.Join("testdata", script)).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", script, err, out)
		}
	}
	for _, name := range []string{"recorder.js", "page.js", "tdna.js", "device.js"} {
		if out, err := exec.Command(node, "--check", filepath.Join("static", name)).CombinedOutput(); err != nil {
			t.Errorf("node --check %s: %v\n%s", name, err, out)
		}
	}
}
