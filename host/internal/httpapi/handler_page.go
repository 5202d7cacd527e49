package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/challenge"
	"github.com/smsplus/smsplus/host/internal/i18n"
	"github.com/smsplus/smsplus/host/internal/phrase"
	"github.com/smsplus/smsplus/sdk/payload"
	"github.com/smsplus/smsplus/web"
)

// PageOptions configure the challenge page.
type PageOptions struct {
	// Texts are the page's texts and languages: SUPPORTED_LANGUAGES and
	// DEFAULT_LANGUAGE applied (nil: i18n.Builtin()). The challenge flow writes
	// its text messages from the same catalog.
	Texts *i18n.Catalog
	// RecorderURL is the TypingDNA recorder script the page loads when Engine is
	// "typingdna" (TYPINGDNA_RECORDER_URL; empty: DefaultRecorderURL). The
	// page's CSP allows exactly this script besides its own.
	RecorderURL string
	// SecureCookies: SMS+ is served over https (BASE_URL), so device cookies
	// are Secure and carry the __Host- prefix. Over http (development on
	// localhost, the tests) they can be neither: Safari drops Secure cookies
	// from http://localhost, and the prefix requires Secure.
	SecureCookies bool
	// PhraseImages keeps each challenge's phrase image, drawn at its first view
	// (PAGE_IMAGE_CACHE; nil: DefaultPhraseImages images for 15 minutes).
	PhraseImages *phrase.Cache
}

// DefaultPhraseImages is the number of phrase images kept when
// PageOptions.PhraseImages is nil.
const DefaultPhraseImages = 1000

// DefaultRecorderURL is where TypingDNA publishes its JavaScript recorder.
const DefaultRecorderURL = "https://www.typingdna.com/scripts/typingdna.js"

func (s *Server) texts() *i18n.Catalog {
	if s.Texts != nil {
		return s.Texts
	}
	return i18n.Builtin()
}

// recorder returns the TypingDNA recorder URL and the CSP source that allows
// exactly it, or two empty strings in local mode.
func (s *Server) recorder() (src, csp string) {
	if s.Engine != web.EngineTypingDNA {
		return "", ""
	}
	src = s.RecorderURL
	if src == "" {
		src = DefaultRecorderURL
	}
	return src, recorderSource(src)
}

// recorderSource is the CSP source expression for one script URL: scheme, host
// and path, without query or fragment (CSP matches paths exactly, and ignores
// queries). ";" and "," are escaped, so a URL cannot add directives.
func recorderSource(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	path := strings.NewReplacer(";", "%3B", ",", "%2C").Replace(u.EscapedPath())
	return u.Scheme + "://" + u.Host + path
}

// handlePage renders the challenge page, the locked page, or a clear page for a
// bad link. ?lang= picks the language (the page's language switch); ?spell=1
// spells the phrase out instead of showing its picture (the accessible
// alternative, on request only: docs/page.md).
func (s *Server) handlePage(c echo.Context) error {
	cid := c.Param("cid")
	p, err := s.Service.Page(c.Request().Context(), cid)
	if err != nil {
		return s.renderProblemPage(c, cid, err)
	}
	lang := s.pageLanguage(c, p.Language)
	chosen := "" // the switch's choice, kept across the spell link
	if c.QueryParam("lang") != "" {
		chosen = lang
	}
	spell := c.QueryParam("spell") == "1"
	recorder, recorderCSP := s.recorder()
	page := web.ChallengePage{
		Locale: s.locale(c, lang, cid, spell), Nonce: newNonce(), Stage: web.StageChallenge, CID: p.ChallengeID,
		PhraseLength: len([]rune(p.Phrase)), TextID: p.TextID,
		Enrolling: !p.Enrollment.Enrolled, Samples: p.Enrollment.Samples, Required: p.Enrollment.Required,
		ResetPending: p.ResetPending,
		Engine:       web.EngineLocal, RecorderURL: recorder, Motion: recorder != "",
		SpellURL: pageURL(cid, chosen, !spell),
	}
	if recorder != "" {
		page.Engine = web.EngineTypingDNA
	}
	if spell {
		page.Spelled = strings.Fields(p.Phrase)
		s.log.Info("phrase spelled out", "request_id", requestID(c))
	} else {
		img, err := s.PhraseImages.DataURI(p.ChallengeID, p.Phrase)
		if err != nil {
			return s.renderProblemPage(c, cid, err)
		}
		page.PhraseImage = img
	}
	var buf bytes.Buffer
	if err := web.RenderChallenge(&buf, page); err != nil {
		return err
	}
	return s.writePage(c, http.StatusOK, page.Locale.Lang, page.Nonce, recorderCSP, buf.Bytes())
}

// pageLanguage applies i18n.Catalog.Choose: the page's switch, the IAM's locale,
// the browser's Accept-Language, DEFAULT_LANGUAGE.
func (s *Server) pageLanguage(c echo.Context, iam string) string {
	return s.texts().Choose(c.QueryParam("lang"), iam, c.Request().Header.Get("Accept-Language"))
}

// locale is the page's language with its switch: one link per supported
// language to the same page (kept spelled out when it is). No switch for a path
// that is not a challenge id.
func (s *Server) locale(c echo.Context, lang, cid string, spell bool) web.Locale {
	texts := s.texts()
	l := web.Locale{Lang: lang, Text: func(key string) (string, bool) { return texts.Lookup(lang, i18n.Key(key)) }}
	if !challenge.ValidID(cid) {
		return l
	}
	for _, tag := range texts.Languages() {
		l.Languages = append(l.Languages, web.Language{
			Tag: tag, Name: texts.Name(tag), URL: pageURL(cid, tag, spell), Current: tag == lang,
		})
	}
	return l
}

// pageURL is the challenge page's path with its query.
func pageURL(cid, lang string, spell bool) string {
	q := url.Values{}
	if lang != "" {
		q.Set("lang", lang)
	}
	if spell {
		q.Set("spell", "1")
	}
	u := "/" + url.PathEscape(cid)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// renderProblemPage answers a page request the flow refused: a locked user or
// link gets the locked stage (with the way to reset the profile); an unknown,
// expired or used link, or a failure, a page that says so.
func (s *Server) renderProblemPage(c echo.Context, cid string, err error) error {
	ae := toAPIError(err)
	if ae.Status >= 500 {
		s.log.Error("page failed", "request_id", requestID(c), "err", err)
	}
	lang := s.pageLanguage(c, "")
	nonce := newNonce()
	var buf bytes.Buffer
	var locked *challenge.UserLockedError
	if errors.As(err, &locked) || errors.Is(err, challenge.ErrChallengeLocked) {
		page := web.ChallengePage{Locale: s.locale(c, lang, cid, false), Nonce: nonce, Stage: web.StageLocked, CID: cid}
		if locked != nil {
			page.LockMinutes = max(locked.Minutes(), 1)
		}
		if rerr := web.RenderChallenge(&buf, page); rerr != nil {
			return rerr
		}
		return s.writePage(c, ae.Status, lang, nonce, "", buf.Bytes())
	}
	page := web.ErrorPage{Locale: s.locale(c, lang, cid, false), Nonce: nonce, Status: ae.Status,
		TitleKey: web.ErrorLinkTitle, TextKey: web.ErrorLinkText}
	switch {
	case ae.Status == http.StatusServiceUnavailable:
		page.TitleKey, page.TextKey = web.ErrorUnavailableTitle, web.ErrorUnavailableText
	case ae.Status >= 500:
		page.TitleKey, page.TextKey = web.ErrorTitle, web.ErrorText
	}
	if rerr := web.RenderError(&buf, page); rerr != nil {
		return rerr
	}
	return s.writePage(c, ae.Status, lang, nonce, "", buf.Bytes())
}

// writePage sends a rendered page with its nonce-based CSP, compressed when the
// browser accepts gzip (the page is most of what a slow phone downloads).
func (s *Server) writePage(c echo.Context, status int, lang, nonce, recorderCSP string, body []byte) error {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", pagePolicy(nonce, recorderCSP))
	h.Set("Content-Language", lang)
	h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	if acceptsGzip(c.Request()) {
		if gz, err := gzipPage(body); err == nil {
			h.Set(echo.HeaderContentEncoding, "gzip")
			body = gz
		}
	}
	return c.Blob(status, echo.MIMETextHTMLCharsetUTF8, body)
}

// pageLevel is the gzip level of pages, compressed at every view (each has
// its own nonce): on a challenge page (most of it the phrase image) level 1
// sends about 1 kB (8 %) more than level 9 for a fraction of its CPU, which
// keeps a page view under 1 ms of CPU (BenchmarkPageGet).
const pageLevel = 1

// pageWriters are reused gzip writers: a new one allocates about 1 MB.
var pageWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, pageLevel) // a valid level: no error
	return zw
}}

// gzipPage compresses a page with a pooled writer.
func gzipPage(b []byte) ([]byte, error) {
	zw := pageWriters.Get().(*gzip.Writer)
	defer pageWriters.Put(zw)
	buf := bytes.NewBuffer(make([]byte, 0, len(b)/2))
	zw.Reset(buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// verifyRequest keeps the Node SMS+ field names. The pattern and text id are
// read as raw JSON so that one of the wrong type is told apart from a bad link:
// an unknown link is answered 101 before the pattern is looked at, as the Node
// SMS+ does. phraseProof proves which text was typed (challenge.PhraseProof);
// deviceKey and deviceProof are the browser's public key and its signature over
// the request (challenge.ProofMessage), where the browser can make them.
type verifyRequest struct {
	CID         string          `json:"cid"`
	TP          json.RawMessage `json:"tp"`
	TextID      json.RawMessage `json:"textId"`
	PhraseProof string          `json:"phraseProof"`
	DeviceKey   string          `json:"deviceKey"`
	DeviceProof string          `json:"deviceProof"`
}

// jsonString returns a raw JSON value as a string, and whether it was one.
// Absent and null read as "" and true: those are missing, not malformed.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

type enrollmentJSON struct {
	Samples  int `json:"samples"`
	Required int `json:"required"`
}

type verifyResponse struct {
	Result       int             `json:"result"`
	Action       string          `json:"action"`
	OTP          string          `json:"otp,omitempty"`
	Enrollment   *enrollmentJSON `json:"enrollment,omitempty"`
	AttemptsLeft int             `json:"attemptsLeft,omitempty"`
	DisableTid   string          `json:"disableTid,omitempty"`
	ResetNowTid  string          `json:"resetNowTid,omitempty"`
	// ResetCancelled: this pass cancelled a pending reset of the profile.
	ResetCancelled bool `json:"resetCancelled,omitempty"`
	// Device is "new" when the attempt came from a device the user had not
	// bound and was held to the strict standard (UNKNOWN_DEVICE_POLICY=strict).
	Device string `json:"device,omitempty"`
	// Reason of a failed attempt: "phrase" when another text was typed.
	Reason string `json:"reason,omitempty"`
}

// maxVerifyBody bounds a verify request: a pattern for a 128-character phrase fits
// in a few kilobytes.
const maxVerifyBody = 16 << 10

// decodeJSON reads a small JSON body strictly: the right content type, one object,
// no unknown fields, nothing after it, and the SDK's key rule (payload.CheckKeys,
// the one every bridge applies): no key given twice or in two letter cases at any
// depth, and bounded nesting. encoding/json alone keeps the last of two "cid"
// keys and fills cid from "CID", so such a body would mean whatever it picks.
func decodeJSON(c echo.Context, v any) error {
	req := c.Request()
	if !payload.IsJSONMediaType(req.Header.Get(echo.HeaderContentType)) {
		return errMediaType
	}
	body, err := readBody(req, maxVerifyBody)
	if errors.Is(err, errBodyTooLarge) {
		return errTooLarge
	}
	if err != nil || payload.CheckKeys(body) != nil {
		return errBadJSON
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.Decode(new(json.RawMessage)) != io.EOF {
		return errBadJSON
	}
	return nil
}

func (s *Server) handleVerify(c echo.Context) error {
	var in verifyRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	tp, tpOK := jsonString(in.TP)
	textID, textOK := jsonString(in.TextID)
	if in.CID == "" || (tpOK && tp == "") || (textOK && textID == "") {
		return errMissingData
	}
	if !tpOK || !textOK {
		if err := s.Service.Check(c.Request().Context(), in.CID); err != nil {
			return err
		}
		return errBadPattern
	}
	res, err := s.Service.Verify(c.Request().Context(), challenge.Attempt{
		CID: in.CID, TextID: textID, Pattern: tp, PhraseProof: in.PhraseProof,
		Device: challenge.DeviceEvidence{Tokens: s.deviceTokens(c), Key: in.DeviceKey, Proof: in.DeviceProof},
	})
	if err != nil {
		return err
	}
	if res.DeviceCookie != nil {
		s.setDeviceCookie(c, res.DeviceCookie.Tag, res.DeviceCookie.Token, res.DeviceCookie.MaxAge)
	}
	out := verifyResponse{Action: string(res.Action), OTP: res.OTP, AttemptsLeft: res.AttemptsLeft,
		DisableTid: res.DisableToken, ResetNowTid: res.ResetToken, ResetCancelled: res.ResetCancelled, Reason: res.Reason}
	if res.Match {
		out.Result = 1
	}
	if res.NewDevice {
		out.Device = "new"
	}
	if res.Action == biometrics.ActionEnroll {
		out.Enrollment = &enrollmentJSON{Samples: res.Enrollment.Samples, Required: res.Enrollment.Required}
	}
	if res.OTP != "" {
		s.log.Info("otp revealed", "request_id", requestID(c))
	}
	return c.JSON(http.StatusOK, out)
}

// Device cookies: one per user bound in the browser, named by the user's tag
// (challenge.DeviceTag), so that a dual-SIM phone keeps both bindings. Over
// https: "__Host-smsplus-<tag>", Secure, HttpOnly, SameSite=Strict, Path=/,
// no Domain: only SMS+'s own origin ever sees it, no script can read it, and no
// other site's request carries it. The page's own fetch to /verify-otp is
// same-site, so it carries the cookie even when the page was opened from a
// text message or another site.
const (
	deviceCookieHost  = "__Host-smsplus-"
	deviceCookiePlain = "smsplus-"
	maxDeviceCookies  = 16
)

func (s *Server) deviceCookiePrefix() string {
	if s.SecureCookies {
		return deviceCookieHost
	}
	return deviceCookiePlain
}

// deviceTokens reads the request's device cookies, by tag.
func (s *Server) deviceTokens(c echo.Context) map[string]string {
	prefix := s.deviceCookiePrefix()
	out := map[string]string{}
	for _, ck := range c.Request().Cookies() {
		if tag, ok := strings.CutPrefix(ck.Name, prefix); ok && len(out) < maxDeviceCookies {
			out[tag] = ck.Value
		}
	}
	return out
}

// setDeviceCookie stores a device token in the browser; a zero maxAge deletes it.
func (s *Server) setDeviceCookie(c echo.Context, tag, token string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name: s.deviceCookiePrefix() + tag, Value: token, Path: "/",
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteStrictMode,
		MaxAge: int(maxAge / time.Second),
	}
	if maxAge <= 0 {
		ck.MaxAge, ck.Value = -1, ""
	}
	c.SetCookie(ck)
}
