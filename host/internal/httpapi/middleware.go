package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// contentSecurityPolicy is the policy of every answer that is not a page (JSON,
// static files): nothing may load, nothing may frame it.
const contentSecurityPolicy = "default-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// pagePolicy is the policy of a page: its scripts and its inline style sheet run
// only with this response's nonce (plus, in TypingDNA mode, exactly the
// recorder's script URL); images are this origin's and the phrase's data: URI;
// requests go to this origin only; no framing, no form posts, no <base>, no
// plugins. In local mode the page also builds no markup from strings (Trusted
// Types with no policy); TypingDNA's recorder is not checked against that, so it
// is left out there.
func pagePolicy(nonce, recorderSource string) string {
	script := "'nonce-" + nonce + "'"
	tt := "; require-trusted-types-for 'script'; trusted-types 'none'"
	if recorderSource != "" {
		script += " " + recorderSource
		tt = ""
	}
	return "default-src 'none'; script-src " + script + "; style-src 'nonce-" + nonce + "'; img-src 'self' data:; " +
		"connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'" + tt
}

// newNonce returns 128 random bits for a CSP nonce.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// securityHeaders applies to every answer. Pages and API answers carry codes or
// links to codes, so nothing is cached unless a handler says otherwise.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		h.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// recoverer turns a panic into a logged 500, so one bad request cannot stop the
// process. A panic is always our bug, never the client's.
func (s *Server) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

// requestLogger logs one line per request. It logs the route pattern, never the
// path: a challenge link's path is the challenge id, a bearer secret.
func (s *Server) requestLogger() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			s.log.Info("request",
				"request_id", requestID(c), "method", c.Request().Method, "route", c.Path(),
				"status", c.Response().Status, "duration_ms", float64(time.Since(start).Microseconds())/1000)
			return nil
		}
	}
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// staticHandler serves the embedded assets, each read and compressed once, when
// the server is built (gzip at its best level; brotli would need a dependency
// for a few kB on files browsers keep for a day). Page URLs carry a content
// hash (?v=), so browsers may keep a file for a day; the ETag covers
// revalidation. Compressed copies go to browsers that accept gzip.
func staticHandler(fsys fs.FS) http.Handler {
	files := loadStatic(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		f, ok := files[name]
		if !ok {
			http.NotFound(w, r) // also directories: no listings
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=86400")
		h.Set("Content-Type", f.ctype)
		h.Add("Vary", "Accept-Encoding")
		body, etag := f.raw, f.etag
		if f.gz != nil && acceptsGzip(r) {
			body, etag = f.gz, f.etag+"-gz"
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("ETag", `"`+etag+`"`)
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, `"`+etag+`"`) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	})
}

type staticFile struct {
	raw, gz []byte // gz is nil when compressing does not pay
	etag    string
	ctype   string
}

func loadStatic(fsys fs.FS) map[string]*staticFile {
	files := map[string]*staticFile{}
	_ = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil
		}
		sum := sha256.Sum256(raw)
		f := &staticFile{raw: raw, etag: hex.EncodeToString(sum[:8]), ctype: mime.TypeByExtension(path.Ext(name))}
		if f.ctype == "" {
			f.ctype = http.DetectContentType(raw)
		}
		if gz, err := gzipBytes(raw); err == nil && len(gz) < len(raw)*9/10 {
			f.gz = gz
		}
		files[name] = f
		return nil
	})
	return files
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(part, ";")
		if strings.TrimSpace(strings.ToLower(coding)) != "gzip" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
