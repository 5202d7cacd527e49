package web

import (
	"bytes"
	"errors"
	"html/template"
	"io/fs"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// A realistic phrase image is about 6 KB of PNG; this stands in for it.
var testImage = template.URL("data:image/png;base64," + strings.Repeat("iVBORw0K", 1000))

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

func basePage() ChallengePage {
	return ChallengePage{
		Lang:         "en",
		CID:          "q8Vd3kZ0b1Xy7uT2sR5wAg",
		PhraseImage:  testImage,
		PhraseLength: 15,
		TextID:       "3172620873",
		Enrolling:    true,
		Samples:      1,
		Required:     3,
		Engine:       "local",
	}
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

// checkCSPSafe fails on anything the host's CSP would block: inline scripts,
// inline styles, event-handler attributes, javascript: URLs, other origins.
func checkCSPSafe(t *testing.T, doc *html.Node) {
	t.Helper()
	walk(doc, func(n *html.Node) {
		switch n.Data {
		case "style":
			t.Errorf("<style> element")
		case "script":
			src, ok := attr(n, "src")
			if !ok || n.FirstChild != nil {
				t.Errorf("inline script")
			}
			if !strings.HasPrefix(src, StaticPrefix) {
				t.Errorf("script from %q", src)
			}
			if _, ok := attr(n, "defer"); !ok {
				t.Errorf("script %q without defer", src)
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

func TestRenderChallenge(t *testing.T) {
	t.Parallel()
	out, doc := renderChallenge(t, basePage())
	checkCSPSafe(t, doc)

	root := byID(doc, "challenge")
	if root == nil {
		t.Fatal("no #challenge element")
	}
	for key, want := range map[string]string{
		"data-cid":       "q8Vd3kZ0b1Xy7uT2sR5wAg",
		"data-text-id":   "3172620873",
		"data-length":    "15",
		"data-enrolling": "true",
		"data-samples":   "1",
		"data-required":  "3",
		"data-engine":    "local",
	} {
		if got, _ := attr(root, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}

	img := byID(doc, "phrase")
	if src, _ := attr(img, "src"); src != string(testImage) {
		t.Errorf("phrase image src mangled: %.60q", src)
	}
	if alt, _ := attr(img, "alt"); alt != "Phrase to type, shown as an image" {
		t.Errorf("phrase image alt = %q", alt)
	}

	input := byID(doc, "typed")
	for key, want := range map[string]string{
		"type": "text", "autocomplete": "off", "autocapitalize": "off", "autocorrect": "off",
		"spellcheck": "false", "inputmode": "text",
	} {
		if got, _ := attr(input, key); got != want {
			t.Errorf("input %s = %q, want %q", key, got, want)
		}
	}
	labelled := false
	walk(doc, func(n *html.Node) {
		if v, _ := attr(n, "for"); n.Data == "label" && v == "typed" {
			labelled = true
		}
	})
	if !labelled {
		t.Error("input has no label")
	}
	status := byID(doc, "status")
	if r, _ := attr(status, "role"); r != "status" {
		t.Errorf("status role = %q", r)
	}
	if l, _ := attr(status, "aria-live"); l != "polite" {
		t.Errorf("status aria-live = %q", l)
	}
	for _, id := range []string{"form", "submit", "result", "otp", "copy", "enroll", "progress", "progress-text"} {
		if byID(doc, id) == nil {
			t.Errorf("no #%s element", id)
		}
	}
	if _, hidden := attr(byID(doc, "result"), "hidden"); !hidden {
		t.Error("result area visible before a result")
	}
	if !strings.Contains(out, "Type the phrase 3 times so SMS+ learns how you type; your code is also in the SMS.") {
		t.Error("no enrollment explanation")
	}
	if !strings.Contains(out, `<html lang="en">`) {
		t.Error("no lang attribute")
	}
	if !strings.Contains(out, `name="viewport"`) {
		t.Error("no viewport meta")
	}
}

func TestRenderChallengeVerifying(t *testing.T) {
	t.Parallel()
	p := basePage()
	p.Enrolling, p.Samples = false, 3
	out, doc := renderChallenge(t, p)
	if byID(doc, "enroll") != nil || strings.Contains(out, "learns how you type") {
		t.Error("enrollment section shown to an enrolled user")
	}
	if v, _ := attr(byID(doc, "challenge"), "data-enrolling"); v != "false" {
		t.Errorf("data-enrolling = %q", v)
	}
}

func TestRenderChallengeEscapes(t *testing.T) {
	t.Parallel()
	p := basePage()
	p.CID = `"><script>alert(1)</script>`
	p.TextID = `1" onmouseover="x`
	out, doc := renderChallenge(t, p)
	if strings.Contains(out, "<script>alert") {
		t.Error("CID not escaped")
	}
	if v, _ := attr(byID(doc, "challenge"), "data-cid"); v != p.CID {
		t.Errorf("data-cid = %q", v)
	}
	walk(doc, func(n *html.Node) {
		for _, a := range n.Attr {
			if a.Key == "onmouseover" {
				t.Error("attribute injection")
			}
		}
	})
}

func TestRenderChallengeDefaults(t *testing.T) {
	t.Parallel()
	p := basePage()
	p.Lang, p.Engine = "", ""
	out, doc := renderChallenge(t, p)
	if !strings.Contains(out, `<html lang="en">`) {
		t.Error("default lang not en")
	}
	if v, _ := attr(byID(doc, "challenge"), "data-engine"); v != "local" {
		t.Errorf("default engine %q", v)
	}
}

func TestRenderError(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	err := RenderError(&buf, ErrorPage{Title: "Link expired", Message: "This link has expired <b>now</b>.", Status: 410})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	checkCSPSafe(t, doc)
	for _, want := range []string{"<title>Link expired · SMS+</title>", "<h1>Link expired</h1>", "&lt;b&gt;now&lt;/b&gt;", "Error 410", `lang="en"`} {
		if !strings.Contains(out, want) {
			t.Errorf("error page lacks %q", want)
		}
	}
	if strings.Contains(out, "<script") {
		t.Error("error page loads scripts")
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
	for _, name := range []string{"page.css", "page.js", "recorder.js", "favicon.svg"} {
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

// TestPageWeight keeps the page and everything it loads small for slow networks.
func TestPageWeight(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := basePage()
	p.PhraseImage = ""
	if err := RenderChallenge(&buf, p); err != nil {
		t.Fatal(err)
	}
	total := buf.Len() + 10<<10 // the phrase image as base64, generously
	err := fs.WalkDir(Static(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Static(), name)
		total += len(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("page + assets + image: %d bytes", total)
	if total > 60<<10 {
		t.Errorf("page weighs %d bytes, want under 60 KB", total)
	}
}

// TestScriptsAvoidStorage: the code must never reach the URL or browser storage.
func TestScriptsAvoidStorage(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"page.js", "recorder.js"} {
		b, err := fs.ReadFile(Static(), name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"localStorage", "sessionStorage", "indexedDB", "document.cookie", "location.", "history.", "eval(", "innerHTML"} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
}

// TestScripts runs the behaviour tests of recorder.js and page.js in Node, when
// it is installed.
func TestScripts(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	for _, script := range []string{"recorder_test.js", "page_test.js"} {
		out, err := exec.Command(node, filepath.Join("testdata", script)).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", script, err, out)
		}
	}
	for _, name := range []string{"recorder.js", "page.js"} {
		if out, err := exec.Command(node, "--check", filepath.Join("static", name)).CombinedOutput(); err != nil {
			t.Errorf("node --check %s: %v\n%s", name, err, out)
		}
	}
}
