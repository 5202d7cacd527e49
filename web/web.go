// Package web holds the pages SMS+ shows to end users and their static assets,
// embedded into the host binary.
//
// The pages work under the strict Content-Security-Policy the host sets for them
// (host/internal/httpapi):
//
//	default-src 'none'; script-src 'nonce-N' [TypingDNA recorder URL];
//	style-src 'nonce-N'; img-src 'self' data:; connect-src 'self';
//	form-action 'none'; frame-ancestors 'none'; base-uri 'none'
//
// where N is a fresh nonce per response (Page.Nonce). The style sheet is inlined
// under the nonce, so the first paint needs no second request; scripts are
// same-origin files loaded with defer, so nothing waits on them. There are no
// inline scripts, style attributes or event-handler attributes: data reaches the
// scripts through data-* attributes and one JSON data block of texts.
//
// Texts come from the caller (Locale.Text, the host's i18n catalog). Rendering
// fails when a text is missing, so a page never shows a raw key; TextKeys lists
// every key the templates and scripts use.
//
// Static files are referenced as /static/<name>?v=<hash of the content>, so the
// host may serve /static/ with a long cache lifetime.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// StaticPrefix is the URL path the host serves Static under.
const StaticPrefix = "/static/"

// Static returns the static assets (page.js, recorder.js, tdna.js, device.js,
// favicon.svg and page.css, which pages inline), to be served under StaticPrefix.
func Static() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Translator returns the text for key in the page's language, with its
// {placeholders} unfilled, and whether there is one.
type Translator func(key string) (text string, ok bool)

// Language is one entry of the page's language switch.
type Language struct {
	Tag     string // "es"
	Name    string // its own name: "Español"
	URL     string // the same page in that language
	Current bool
}

// Locale is the language a page is rendered in.
type Locale struct {
	Lang      string // "en"
	Text      Translator
	Languages []Language // the language switch; shown when there are two or more
}

// T returns the text for key with each {name} replaced by the value that follows
// name in args: T("enroll.progress", "done", 1, "required", 3). A missing text is
// an error, which aborts the rendering.
func (l Locale) T(key string, args ...any) (string, error) {
	if l.Text == nil {
		return "", fmt.Errorf("no texts for %q", key)
	}
	text, ok := l.Text(key)
	if !ok {
		return "", fmt.Errorf("no %s text for %q", l.Lang, key)
	}
	if len(args)%2 != 0 {
		return "", fmt.Errorf("text %q: odd argument list", key)
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i < len(args); i += 2 {
		pairs = append(pairs, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(text), nil
}

// Messages returns the texts page.js shows, for the page's JSON data block.
func (l Locale) Messages() (map[string]string, error) {
	m := make(map[string]string, len(scriptKeys))
	for _, k := range scriptKeys {
		text, ok := l.Text(k)
		if !ok {
			return nil, fmt.Errorf("no %s text for %q", l.Lang, k)
		}
		m[k] = text
	}
	return m, nil
}

// Stages a challenge page can open on.
const (
	StageChallenge = "challenge" // type the phrase
	StageLocked    = "locked"    // too many failures: wait, or reset the profile
)

// Engines the page knows.
const (
	EngineLocal     = "local"     // the project's recorder (static/recorder.js)
	EngineTypingDNA = "typingdna" // TypingDNA's recorder plus static/tdna.js
)

// ChallengePage is the model of the page a text message links to. One page holds
// every stage of the flow (challenge, result, locked, reset, reset-now, opt-out);
// page.js moves between them.
type ChallengePage struct {
	Locale
	Nonce string // the response's CSP nonce
	Stage string // StageChallenge (default) or StageLocked
	CID   string // challenge id (URL-safe base64)

	// The phrase: an image, or, when the user asked to have it spelled out, its
	// words (Spelled). SpellURL switches between the two.
	PhraseImage  template.URL // "data:image/png;base64,..." (host/internal/phrase)
	Spelled      []string
	SpellURL     string
	PhraseLength int    // characters of the phrase (the recorder needs it)
	TextID       string // biometrics.TextID(phrase)

	Enrolling bool // user still enrolling: first visits collect samples
	Samples   int  // enrollment samples so far
	Required  int  // samples needed
	// ResetPending: someone asked to reset this user's typing profile; the page
	// tells the owner that passing the check cancels it.
	ResetPending bool

	Engine      string // EngineLocal (default) or EngineTypingDNA
	RecorderURL string // EngineTypingDNA: the official recorder script
	Motion      bool   // the engine uses motion data: ask for it where browsers want permission

	LockMinutes int // StageLocked: minutes until the user may try again; 0 = only this link is locked
}

// Terms reports whether the page asks for consent: on the first enrollment visit.
func (p ChallengePage) Terms() bool { return p.Enrolling && p.Samples == 0 }

// ErrorPage is the model of a page that only explains a problem (link expired,
// service unavailable). TitleKey and TextKey name its texts; the host writes
// Status as the HTTP status.
type ErrorPage struct {
	Locale
	Nonce             string
	TitleKey, TextKey string
	Status            int
}

// Texts of error pages (ErrorPage.TitleKey, TextKey).
const (
	ErrorLinkTitle        = "error.link_title"
	ErrorLinkText         = "error.link_text"
	ErrorUnavailableTitle = "error.unavailable_title"
	ErrorUnavailableText  = "error.unavailable_text"
	ErrorTitle            = "error.title"
	ErrorText             = "error.text"
)

// scriptKeys are the texts page.js uses (TestScriptKeys keeps this in step).
var scriptKeys = []string{
	"challenge.lead", "challenge.lead_spelled", "disable.done", "disable.title", "enroll.progress", "input.submit",
	"locked.link", "locked.user", "motion.denied",
	"msg.bad_pattern", "msg.checking", "msg.crypto", "msg.device_strict", "msg.empty", "msg.enroll_done",
	"msg.enroll_next", "msg.length", "msg.link_dead", "msg.miss", "msg.network", "msg.phrase", "msg.phrase_enroll",
	"msg.position", "msg.position_retry", "msg.rate", "msg.recorder", "msg.server", "msg.token_dead", "msg.untimed",
	"phone.invalid", "phone.mismatch", "phone.mismatch_once",
	"reset.after", "reset.done", "reset.title", "resetnow.done",
	"result.code_label", "result.copied", "result.copy_failed", "result.ok",
	"terms.required", "unit.hours", "unit.minutes",
}

var templateKey = regexp.MustCompile(`\.T "([a-z_.]+)"`)

// TextKeys returns every text key the pages use, sorted: the catalogs must have
// each of them in every language.
func TextKeys() []string {
	keys := slices.Clone(scriptKeys)
	keys = append(keys, ErrorLinkTitle, ErrorLinkText, ErrorUnavailableTitle, ErrorUnavailableText, ErrorTitle, ErrorText)
	entries, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range entries {
		b, err := fs.ReadFile(templateFiles, name)
		if err != nil {
			panic(err)
		}
		for _, m := range templateKey.FindAllSubmatch(b, -1) {
			keys = append(keys, string(m[1]))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

var templates = sync.OnceValues(parseTemplates)

func parseTemplates() (*template.Template, error) {
	assets, err := assetURLs()
	if err != nil {
		return nil, err
	}
	css, err := fs.ReadFile(Static(), "page.css")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			u, ok := assets[name]
			if !ok {
				return "", fmt.Errorf("no static file %q", name)
			}
			return u, nil
		},
		// css is the page's style sheet, inlined under the nonce.
		"css": func() template.CSS { return template.CSS(css) },
		// maxlen leaves room for stray spaces around the phrase.
		"maxlen": func(n int) int { return n + 8 },
		"inc":    func(i int) int { return i + 1 },
		// spell writes a word letter by letter, for screen readers: "t r e e".
		"spell": func(w string) string { return strings.Join(strings.Split(w, ""), " ") },
		"itoa":  strconv.Itoa,
	}
	return template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html")
}

// assetURLs maps each static file name to its versioned URL.
func assetURLs() (map[string]string, error) {
	urls := map[string]string{}
	err := fs.WalkDir(Static(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Static(), name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		urls[name] = StaticPrefix + name + "?v=" + hex.EncodeToString(sum[:6])
		return nil
	})
	return urls, err
}

func render(w io.Writer, name string, data any) error {
	t, err := templates()
	if err != nil {
		return fmt.Errorf("parse templates: %w", err)
	}
	// Render in full before writing, so a failure never sends half a page.
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("render %s page: %w", name, err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// RenderChallenge writes the challenge page. A missing Stage is
// StageChallenge, a missing Engine EngineLocal, a missing Lang "en".
func RenderChallenge(w io.Writer, p ChallengePage) error {
	if p.Lang == "" {
		p.Lang = "en"
	}
	if p.Stage == "" {
		p.Stage = StageChallenge
	}
	if p.Engine == "" {
		p.Engine = EngineLocal
	}
	switch {
	case p.Stage != StageChallenge && p.Stage != StageLocked:
		return fmt.Errorf("render challenge page: unknown stage %q", p.Stage)
	case p.Engine != EngineLocal && p.Engine != EngineTypingDNA:
		return fmt.Errorf("render challenge page: unknown engine %q", p.Engine)
	case p.Engine == EngineTypingDNA && p.Stage == StageChallenge && p.RecorderURL == "":
		return fmt.Errorf("render challenge page: the TypingDNA engine needs the recorder's URL")
	case p.Nonce == "":
		return fmt.Errorf("render challenge page: no CSP nonce")
	}
	return render(w, "challenge", p)
}

// RenderError writes an error page. A missing Lang is "en".
func RenderError(w io.Writer, p ErrorPage) error {
	if p.Lang == "" {
		p.Lang = "en"
	}
	if p.Nonce == "" {
		return fmt.Errorf("render error page: no CSP nonce")
	}
	return render(w, "error", p)
}
