package attack_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// hs256 signs claims as an HS256 JWT with key.
func hs256(t *testing.T, key string, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	signing := enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + enc(claims)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// TestAttackAuth0GatewayTokenNeverExpires.
//
// Attacker: anyone who once captured one call of Auth0's legacy SMS gateway (a
// proxy log, a debugging session): its JWT, signed with the shared secret, has
// no exp or one far away, so it opens the hook forever, for any phone and any
// code; a pumping ring replays it at will.
//
// Path: POST /hooks/auth0 with Authorization: Bearer <JWT> -> verifyJWT checked
// exp only when present.
//
// Defence proved: a gateway JWT needs exp, and both exp-now and now-iat are bounded
// (AUTH0_JWT_MAX_AGE_SECONDS, 300): a token without exp, or expiring in 2100, gets
// 401 and no text; a fresh token still works.
func TestAttackAuth0GatewayTokenNeverExpires(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t, "ENABLED_BRIDGES=auth0")
	key := e2e.Secrets["AUTH0_SECRET"]
	now := time.Now().Unix()
	gateway := func(phone, token string) e2e.Answer {
		body := fmt.Sprintf(`{"recipient":%q,"body":"Your code is %s","sender":"Acme"}`, phone, e2e.RandomOTP(6))
		return s.PostHook(t, "auth0", map[string]string{"Authorization": "Bearer " + token}, []byte(body))
	}
	if a := gateway("+12015550170", hs256(t, key, map[string]any{"sub": "auth0", "iat": now, "exp": now + 60})); !a.Delivered("auth0") {
		t.Fatalf("control: a fresh gateway token: %s", a)
	}
	for _, tc := range []struct {
		name, phone string
		claims      map[string]any
	}{
		{"no exp", "+12015550171", map[string]any{"sub": "auth0", "iat": now}},
		{"exp in 2100", "+12015550172", map[string]any{"sub": "auth0", "iat": now, "exp": 4102444800}},
	} {
		a := gateway(tc.phone, hs256(t, key, tc.claims))
		if a.Status != http.StatusUnauthorized || len(s.SMSTo(tc.phone)) > 0 {
			t.Errorf("gateway JWT with %s: %s, %d text(s) sent; want 401 and none (a captured token would work forever)",
				tc.name, brief("auth0", a), len(s.SMSTo(tc.phone)))
		}
	}
}

// TestAttackDuplicateKeysOnVerify.
//
// Attacker: a phishing relay or script speaking to the page API. JSON with a key
// twice, or twice in different case ({"cid":..,"CID":..}), is read differently by
// different parsers (first wins, last wins, case-folded): a front end, a WAF or a
// log and SMS+ then disagree on which link or pattern a request is about.
//
// Path: POST /verify-otp -> decodeJSON (encoding/json: last duplicate wins,
// case-insensitive field match).
//
// Defence proved: duplicate and case-folded duplicate keys are refused with 400
// code 100, before anything is scored.
func TestAttackDuplicateKeysOnVerify(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t)
	c := s.NewChallenge(t, "okta", "+12015550173", e2e.RandomOTP(10))
	owner := e2e.Owner(41)
	// Each body carries a fresh pattern: a pattern sent twice is refused as a
	// replay, which must not pass for a refusal of the duplicate keys.
	for _, tc := range []struct{ name, format string }{
		{"duplicate cid", `{"cid":%[1]q,"tp":%[2]s,"textId":%[3]q,"cid":%[1]q}`},
		{"case-folded cid, CID", `{"cid":%[1]q,"CID":%[1]q,"tp":%[2]s,"textId":%[3]q}`},
		{"case-folded tp, Tp", `{"cid":%[1]q,"tp":%[2]s,"Tp":%[2]s,"textId":%[3]q}`},
		{"duplicate textId", `{"cid":%[1]q,"tp":%[2]s,"textId":%[3]q,"textId":%[3]q}`},
	} {
		pat, _ := json.Marshal(owner.Type(c.TextID, c.Len))
		body := fmt.Sprintf(tc.format, c.CID, pat, c.TextID)
		if a := s.PostRaw(t, "/verify-otp", "application/json", []byte(body)); a.Status != 400 || a.Code() != 100 {
			t.Errorf("/verify-otp with %s: %s; want 400 code 100", tc.name, a)
		}
	}
}

// TestAttackDuplicateKeysOnHooks.
//
// Attacker: whoever can shape part of a vendor's payload (a user-controlled
// profile field, a relay in front of SMS+). With a key twice, SMS+ and the
// vendor's own tooling may read different phone numbers: the code goes to the
// attacker's number while the vendor's logs show the victim's.
//
// Path: POST /hooks/{bridge} -> the bridge's JSON decoding.
//
// Defence proved: every shipped bridge refuses a body with a duplicate key
// (vendor format, 400) and texts nothing.
func TestAttackDuplicateKeysOnHooks(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t, "ENABLED_BRIDGES="+strings.Join(e2e.ShippedBridges, ","))
	phoneField := map[string]string{"okta": "phoneNumber", "auth0": "recipient", "pingone": "recipient",
		"cyberark": "phoneNumber", "fusionauth": "phoneNumber"}
	for i, bridge := range e2e.ShippedBridges {
		victim, decoy := fmt.Sprintf("+120155501%02d", 74+2*i), fmt.Sprintf("+120155501%02d", 75+2*i)
		body := string(e2e.Sample(t, bridge, victim, e2e.RandomOTP(6)))
		field := fmt.Sprintf("%q: %q", phoneField[bridge], victim)
		dup := strings.Replace(body, field, fmt.Sprintf("%q: %q, %s", phoneField[bridge], decoy, field), 1)
		if dup == body {
			t.Fatalf("%s sample has no %s", bridge, field)
		}
		a := s.PostHook(t, bridge, e2e.AuthHeaders(bridge), []byte(dup))
		texted := len(s.SMSTo(victim)) + len(s.SMSTo(decoy))
		if a.Status != 400 || a.Delivered(bridge) || texted > 0 {
			t.Errorf("%s hook with %q twice: %s, %d text(s) sent; want 400 in the vendor's format and none",
				bridge, phoneField[bridge], brief(bridge, a), texted)
		}
	}
}

// TestAttackHookContentTypeIgnored.
//
// Attacker: a web page in a victim admin's browser, or any client: a "simple"
// cross-origin POST (text/plain, no preflight) reaches the hook; together with a
// leaked or default credential it delivers codes, and content-type confusion
// makes WAF rules that inspect JSON miss it.
//
// Path: POST /hooks/{okta,auth0,fusionauth} with Content-Type: text/plain, or
// (auth0) a text/plain body that is not JSON, another text type, or no
// credentials.
//
// Defence proved: Okta and FusionAuth require a JSON content type: 415, nothing
// texted. Auth0's own sample Action posts its JSON as text/plain;charset=UTF-8
// (issue 14), so the Auth0 bridge reads a text/plain body, only after the
// bearer secret (which a browser's simple request cannot carry) and only when
// it is one strict JSON object: a form-shaped body is 400, text/html 415, no
// credentials 401; nothing texted.
func TestAttackHookContentTypeIgnored(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t, "ENABLED_BRIDGES=okta,auth0,fusionauth")
	for i, bridge := range []string{"okta", "fusionauth"} {
		phone := fmt.Sprintf("+120155501%02d", 85+i)
		h := e2e.AuthHeaders(bridge)
		h["Content-Type"] = "text/plain"
		a := s.PostHook(t, bridge, h, e2e.Sample(t, bridge, phone, e2e.RandomOTP(6)))
		if a.Status != http.StatusUnsupportedMediaType || len(s.SMSTo(phone)) > 0 {
			t.Errorf("%s hook sent as text/plain: %s, %d text(s) sent; want 415 and none", bridge, brief(bridge, a), len(s.SMSTo(phone)))
		}
	}
	const phone = "+12015550187"
	code := e2e.RandomOTP(6)
	form := []byte("recipient=" + url.QueryEscape(phone) + "&code=" + code + "&message=Your+code+is+" + code)
	for name, tc := range map[string]struct {
		ctype  string
		auth   bool
		body   []byte
		status int
	}{
		"text/plain, a form body":       {"text/plain", true, form, http.StatusBadRequest},
		"text/plain, no credentials":    {"text/plain;charset=UTF-8", false, e2e.Sample(t, "auth0", phone, code), http.StatusUnauthorized},
		"text/html, JSON body":          {"text/html", true, e2e.Sample(t, "auth0", phone, code), http.StatusUnsupportedMediaType},
		"text/plain in another charset": {"text/plain; charset=ISO-8859-1", true, e2e.Sample(t, "auth0", phone, code), http.StatusUnsupportedMediaType},
	} {
		h := map[string]string{"Content-Type": tc.ctype}
		if tc.auth {
			h = e2e.AuthHeaders("auth0")
			h["Content-Type"] = tc.ctype
		}
		a := s.PostHook(t, "auth0", h, tc.body)
		if a.Status != tc.status || len(s.SMSTo(phone)) > 0 {
			t.Errorf("auth0 hook, %s: %s, %d text(s) sent; want %d and none", name, brief("auth0", a), len(s.SMSTo(phone)), tc.status)
		}
	}
}

// TestAttackForwardedForPicksRateLimitIdentity.
//
// Attacker: a script working through many links from one address. The per-IP
// page limit slows it down, unless it can choose the address it is limited by.
//
// Path: GET /{cid} with X-Forwarded-For: <random> from a loopback (or private)
// peer; the limiter believed X-Forwarded-For from any such peer, by default.
//
// Defence proved: by default (TRUSTED_PROXIES empty) no proxy is trusted and the
// client address is the peer's; 150 requests with random X-Forwarded-For from
// 127.0.0.1 get no more than PAGE_RATE_LIMIT_PER_MINUTE=120 allows (a burst of 60,
// then 2 a second).
func TestAttackForwardedForPicksRateLimitIdentity(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t, "PAGE_RATE_LIMIT_PER_MINUTE=120", "TRUSTED_PROXIES")
	const requests = 150
	start := time.Now()
	passed := 0
	for range requests {
		var ip [4]byte
		_, _ = rand.Read(ip[:])
		xff := fmt.Sprintf("%d.%d.%d.%d", 11+ip[0]%180, ip[1], ip[2], 1+ip[3]%250)
		var id [16]byte
		_, _ = rand.Read(id[:])
		a := s.Get(t, "/"+base64.RawURLEncoding.EncodeToString(id[:]), map[string]string{"X-Forwarded-For": xff})
		if a.Status != http.StatusTooManyRequests {
			passed++
		}
	}
	allowed := 60 + int(2*time.Since(start).Seconds()) + 1
	t.Logf("%d page requests from 127.0.0.1 with a random X-Forwarded-For each: %d passed the per-IP limit", requests, passed)
	if passed > allowed {
		t.Errorf("%d page requests from 127.0.0.1, each with a random X-Forwarded-For: %d passed the per-IP limit, want <= %d "+
			"(burst 60 + 2/s): the client chose the address it is limited by", requests, passed, allowed)
	}
}

// TestAttackUnknownLinkAnswersBadPattern.
//
// Attacker: a script probing links. If an unknown link with a malformed pattern
// is answered "bad pattern" (100) instead of "link invalid" (101), the answer
// depends on input checked before the link is, and clients written for the Node
// SMS+ (which answers 101) misread it.
//
// Path: POST /verify-otp {unknown cid, malformed tp}.
//
// Defence proved: an unknown link (well-formed or not) answers 404 code 101
// before the pattern is looked at.
func TestAttackUnknownLinkAnswersBadPattern(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t)
	var id [16]byte
	_, _ = rand.Read(id[:])
	for _, cid := range []string{base64.RawURLEncoding.EncodeToString(id[:]), "not a link!"} {
		for _, tp := range []string{`"0,1,2:garbage"`, `12345`, `{"keys":[]}`} {
			body := fmt.Sprintf(`{"cid":%q,"tp":%s,"textId":"1234"}`, cid, tp)
			if a := s.PostRaw(t, "/verify-otp", "application/json", []byte(body)); a.Status != 404 || a.Code() != 101 {
				t.Errorf("/verify-otp with unknown cid %q and malformed pattern %s: %s; want 404 code 101", cid, tp, a)
			}
		}
	}
}
