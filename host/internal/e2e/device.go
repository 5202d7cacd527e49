package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/smsplus/smsplus/host/internal/challenge"
)

// Device is one browser on one phone, as the page API sees it: the cookies
// SMS+ sets in it (a cookie jar: the device binding), and a P-256 key standing
// in for the page's non-extractable WebCrypto key, with which each
// verification is signed (no key: a browser without WebCrypto, or one whose
// storage was wiped). The harness's requests to the page and its API come from
// the server's own Device (Server.Phone) unless a test says otherwise. A
// Device is safe for concurrent use.
type Device struct {
	Client *http.Client

	mu  sync.Mutex
	key *ecdsa.PrivateKey
}

// NewDevice returns a browser with an empty cookie jar, with or without a key.
func NewDevice(withKey bool) *Device {
	jar, _ := cookiejar.New(nil)
	d := &Device{Client: &http.Client{Jar: jar}}
	if withKey {
		d.NewKey()
	}
	return d
}

// NewKey gives the browser a new key, as the page makes one when its storage
// was wiped.
func (d *Device) NewKey() {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	d.mu.Lock()
	d.key = k
	d.mu.Unlock()
}

// WipeKey forgets the key: what Safari does to script-written storage after 7
// days without a visit.
func (d *Device) WipeKey() {
	d.mu.Lock()
	d.key = nil
	d.mu.Unlock()
}

// Cookies returns the cookies the browser would send to base.
func (d *Device) Cookies(base string) []*http.Cookie {
	u, err := url.Parse(base)
	if err != nil {
		return nil
	}
	return d.Client.Jar.Cookies(u)
}

// SetCookies puts cookies in the browser for base (a captured cookie, say).
func (d *Device) SetCookies(base string, cookies []*http.Cookie) {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	d.Client.Jar.SetCookies(u, cookies)
}

// sign returns the browser's public key and its signature over msg, as the
// page's WebCrypto ECDSA makes them (SPKI; SHA-256, r||s; base64url), or two
// empty strings without a key.
func (d *Device) sign(msg []byte) (key, proof string) {
	d.mu.Lock()
	k := d.key
	d.mu.Unlock()
	if k == nil {
		return "", ""
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return base64.RawURLEncoding.EncodeToString(der), base64.RawURLEncoding.EncodeToString(sig)
}

// VerifyBody is the body the page posts to /verify-otp when typed was typed on
// challenge cid (Server.Phrases has the phrases): the pattern, the phrase
// proof, and the device's key and signature when it has a key.
func (d *Device) VerifyBody(cid, textID, pattern, typed string) []byte {
	proof := challenge.PhraseProof(cid, typed)
	body := map[string]string{"cid": cid, "tp": pattern, "textId": textID, "phraseProof": proof}
	if key, sig := d.sign(challenge.ProofMessage(cid, proof, pattern)); key != "" {
		body["deviceKey"], body["deviceProof"] = key, sig
	}
	b, _ := json.Marshal(body)
	return b
}

// Post sends a JSON body to base+path from this browser.
func (d *Device) Post(base, path string, body []byte) (Answer, error) {
	req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	return Do(d.Client, req)
}

// Phone is the browser the harness's page requests come from by default: the
// phone the texts go to. Enroll binds it; Pass and Verify use it.
func (s *Server) Phone() *Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phone == nil {
		s.phone = NewDevice(true)
	}
	return s.phone
}

// VerifyFrom posts a pattern from browser d, with the phrase typed right.
func (s *Server) VerifyFrom(t testing.TB, d *Device, cid, textID, pattern string) Answer {
	t.Helper()
	a, err := s.VerifyFromErr(d, cid, textID, pattern, "")
	return must(t, a, err)
}

// VerifyFromErr is VerifyFrom for goroutines; typed is the text typed ("" =
// the phrase, which the harness reads from the page's spelled-out view).
func (s *Server) VerifyFromErr(d *Device, cid, textID, pattern, typed string) (Answer, error) {
	if typed == "" {
		typed = s.Phrases.Lookup(d.Client, s.Base, cid, textID)
	}
	return d.Post(s.Base, "/verify-otp", d.VerifyBody(cid, textID, pattern, typed))
}

// EnrollFrom is Enroll from browser d.
func (s *Server) EnrollFrom(t testing.TB, d *Device, c Challenge, ty *Typist, max int) int {
	t.Helper()
	return s.enroll(t, d, c, ty, max)
}

// PassFrom is Pass from browser d.
func (s *Server) PassFrom(t testing.TB, d *Device, c Challenge, owner *Typist, tries int) Answer {
	t.Helper()
	return s.pass(t, d, c, owner, tries)
}

// PhraseBook remembers the phrase behind each text id: the page shows it as a
// picture, and spells it out on request (?spell=1, the accessible view, which
// any client may ask for: the phrase is not a secret, docs/page.md). A test
// needs it to prove which text it typed. Safe for concurrent use.
type PhraseBook struct {
	mu      sync.Mutex
	phrases map[string]string // text id -> phrase
}

var spelledWordRE = regexp.MustCompile(`<span class="word" aria-hidden="true">([^<]+)</span>`)

// SpelledPhrase reads the phrase from a page rendered with ?spell=1 ("" if the
// page does not spell one out).
func SpelledPhrase(page []byte) string {
	var words []string
	for _, m := range spelledWordRE.FindAllSubmatch(page, -1) {
		words = append(words, html.UnescapeString(string(m[1])))
	}
	return strings.Join(words, " ")
}

// Lookup returns the phrase of text id textID, reading it from challenge cid's
// spelled-out page (with client, from base) the first time; "" when the page
// does not open (a locked user, a dead link).
func (b *PhraseBook) Lookup(client *http.Client, base, cid, textID string) string {
	b.mu.Lock()
	p, ok := b.phrases[textID]
	b.mu.Unlock()
	if ok {
		return p
	}
	req, err := http.NewRequest(http.MethodGet, base+"/"+url.PathEscape(cid)+"?spell=1", nil)
	if err != nil {
		return ""
	}
	a, err := Do(client, req)
	if err != nil || a.Status != http.StatusOK {
		return ""
	}
	if id := textIDRE.FindSubmatch(a.Body); id == nil || string(id[1]) != textID {
		return ""
	}
	p = SpelledPhrase(a.Body)
	if p != "" {
		b.mu.Lock()
		if b.phrases == nil {
			b.phrases = map[string]string{}
		}
		b.phrases[textID] = p
		b.mu.Unlock()
	}
	return p
}
