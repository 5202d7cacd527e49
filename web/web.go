// Package web holds the pages SMS+ shows to end users and their static assets,
// embedded into the host binary.
//
// The pages work under the strict Content-Security-Policy the host sets:
//
//	default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;
//	connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'
//
// so they carry no inline script or style; data reaches the scripts through data-*
// attributes. Static files are referenced as /static/<name>?v=<hash of the
// content>, so the host may serve /static/ with a long cache lifetime.
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
	"sync"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// StaticPrefix is the URL path the host serves Static under.
const StaticPrefix = "/static/"

// Static returns the static assets (page.css, page.js, recorder.js, favicon.svg),
// to be served under StaticPrefix.
func Static() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// ChallengePage is the model of the page a text message links to.
type ChallengePage struct {
	Lang         string       // "en"
	CID          string       // challenge id (URL-safe base64, 22+ chars)
	PhraseImage  template.URL // "data:image/png;base64,..." (from host/internal/phrase)
	PhraseLength int          // number of characters of the phrase (the recorder needs it)
	TextID       string       // biometrics.TextID(phrase)
	Enrolling    bool         // user still enrolling: first visits collect samples
	Samples      int          // enrollment samples so far
	Required     int          // samples needed
	Engine       string       // "local" (our recorder) or "typingdna" (later issue)
}

// ErrorPage is the model of a page that only explains a problem (link expired,
// not found, ...). The host writes Status as the HTTP status.
type ErrorPage struct {
	Lang, Title, Message string
	Status               int
}

var templates = sync.OnceValues(parseTemplates)

func parseTemplates() (*template.Template, error) {
	assets, err := assetURLs()
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
		// maxlen leaves room for stray spaces around the phrase.
		"maxlen": func(n int) int { return n + 8 },
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

// RenderChallenge writes the challenge page. Missing Lang defaults to "en",
// missing Engine to "local".
func RenderChallenge(w io.Writer, p ChallengePage) error {
	if p.Lang == "" {
		p.Lang = "en"
	}
	if p.Engine == "" {
		p.Engine = "local"
	}
	return render(w, "challenge", p)
}

// RenderError writes an error page. Missing Lang defaults to "en".
func RenderError(w io.Writer, p ErrorPage) error {
	if p.Lang == "" {
		p.Lang = "en"
	}
	return render(w, "error", p)
}
