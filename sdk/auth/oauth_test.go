package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/smsplus/smsplus/sdk/auth"
	"github.com/smsplus/smsplus/sdk/bridgetest"
)

const (
	audience = "api://default"
	clientID = "0oa8smsplushook"
	scope    = "smsplus.hook"
)

// clock is a settable clock for the verifier.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func newClock() *clock                   { c := &clock{}; c.ns.Store(time.Now().UnixNano()); return c }

func verifier(t *testing.T, ks *bridgetest.KeyServer, c *clock) *auth.OAuth {
	t.Helper()
	v, err := auth.NewOAuth(auth.OAuthConfig{Issuer: ks.Issuer(), Audience: audience, ClientID: clientID, Scope: scope,
		Client: ks.Client(), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestOAuthAgainstLocalKeyServer: discovery, then a token as Okta's hook client
// gets one (client credentials, custom scope), and every claim that must be
// refused.
func TestOAuthAgainstLocalKeyServer(t *testing.T) {
	ks := bridgetest.NewKeyServer(t)
	c := newClock()
	v := verifier(t, ks, c)
	ctx := context.Background()
	good := ks.Claims(audience, clientID, scope, time.Hour)
	if err := v.Verify(ctx, ks.Sign(t, good)); err != nil {
		t.Fatalf("Okta-shaped token: %v", err)
	}
	with := func(k string, val any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if val == nil {
			delete(m, k)
		} else {
			m[k] = val
		}
		return m
	}
	// RFC 9068 shapes (PingOne): client_id and a space-separated scope.
	rfc := with("cid", nil)
	rfc["client_id"] = clientID
	delete(rfc, "scp")
	rfc["scope"] = "openid " + scope
	if err := v.Verify(ctx, ks.Sign(t, rfc)); err != nil {
		t.Errorf("RFC 9068 token: %v", err)
	}
	if err := v.Verify(ctx, ks.Sign(t, with("aud", []string{"other", audience}))); err != nil {
		t.Errorf("aud as a list: %v", err)
	}
	now := time.Now()
	refused := map[string]struct {
		claims map[string]any
		want   error
	}{
		"expired":             {with("exp", now.Add(-2*time.Minute).Unix()), auth.ErrTokenExpired},
		"no exp":              {with("exp", nil), auth.ErrTokenExpired},
		"exp as string":       {with("exp", "2100-01-01"), auth.ErrTokenExpired},
		"nbf ahead":           {with("nbf", now.Add(5*time.Minute).Unix()), auth.ErrTokenExpired},
		"iat ahead":           {with("iat", now.Add(5*time.Minute).Unix()), auth.ErrTokenExpired},
		"other issuer":        {with("iss", "https://evil.example/oauth2/default"), auth.ErrTokenClaims},
		"org issuer":          {with("iss", strings.TrimSuffix(ks.Issuer(), "/oauth2/default")), auth.ErrTokenClaims},
		"other audience":      {with("aud", "api://other"), auth.ErrTokenClaims},
		"no audience":         {with("aud", nil), auth.ErrTokenClaims},
		"other client":        {with("cid", "0oaother"), auth.ErrTokenClaims},
		"no client":           {with("cid", nil), auth.ErrTokenClaims},
		"client_id disagrees": {with("client_id", "0oaother"), auth.ErrTokenClaims},
		"other scope":         {with("scp", []string{"okta.users.read"}), auth.ErrTokenClaims},
		"no scope":            {with("scp", nil), auth.ErrTokenClaims},
		"scope prefix":        {with("scp", []string{scope + "x"}), auth.ErrTokenClaims},
	}
	for name, tc := range refused {
		if err := v.Verify(ctx, ks.Sign(t, tc.claims)); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	// Within the leeway, an expiry a few seconds ago is still accepted.
	if err := v.Verify(ctx, ks.Sign(t, with("exp", now.Add(-10*time.Second).Unix()))); err != nil {
		t.Errorf("exp 10 s ago (leeway 60 s): %v", err)
	}
	if n := ks.JWKSFetches(); n != 1 {
		t.Errorf("%d fetches of the key set, want 1 (cached)", n)
	}
}

// TestOAuthAlgorithmConfusion: none, HS256 keyed with the public key, a token
// signed by a key the server never published, a tampered payload, a duplicate
// claim: all refused.
func TestOAuthAlgorithmConfusion(t *testing.T) {
	ks := bridgetest.NewKeyServer(t)
	v := verifier(t, ks, newClock())
	ctx := context.Background()
	claims := ks.Claims(audience, clientID, scope, time.Hour)
	body, _ := json.Marshal(claims)
	seg := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	hdr := func(alg string) string {
		return seg([]byte(fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"JWT"}`, alg, ks.Current())))
	}
	none := hdr("none") + "." + seg(body) + "."
	mac := hmac.New(sha256.New, []byte("any key an attacker chooses"))
	mac.Write([]byte(hdr("HS256") + "." + seg(body)))
	hs := hdr("HS256") + "." + seg(body) + "." + seg(mac.Sum(nil))
	good := ks.Sign(t, claims)
	parts := strings.Split(good, ".")
	evil := claims
	evil["cid"] = "0oaattacker"
	evilBody, _ := json.Marshal(evil)
	tampered := parts[0] + "." + seg(evilBody) + "." + parts[2]
	dupBody := []byte(strings.Replace(string(body), `"cid":`, `"cid":"0oaattacker","cid":`, 1))
	foreign, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, tok := range map[string]string{
		"alg none":        none,
		"HS256":           hs,
		"tampered":        tampered,
		"foreign key":     bridgetest.SignRS256(t, foreign, ks.Current(), claims),
		"duplicate claim": parts[0] + "." + seg(dupBody) + "." + parts[2],
		"not a JWT":       "s3cr3t-0123456789abcdef",
		"two parts":       parts[0] + "." + parts[1],
	} {
		if err := v.Verify(ctx, tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestOAuthKeyRotation: the server adds a key and signs with it (SMS+ fetches
// the set again for the unknown kid), then retires the old key (tokens signed
// with it are refused once the set is fetched again).
func TestOAuthKeyRotation(t *testing.T) {
	ks := bridgetest.NewKeyServer(t)
	c := newClock()
	v := verifier(t, ks, c)
	ctx := context.Background()
	claims := func() map[string]any {
		m := ks.Claims(audience, clientID, scope, time.Hour)
		m["iat"], m["exp"] = c.now().Unix(), c.now().Add(time.Hour).Unix()
		return m
	}
	old := ks.Current()
	if err := v.Verify(ctx, ks.Sign(t, claims())); err != nil {
		t.Fatal(err)
	}
	// Rotation: a new key appears and signs. Its kid is unknown: one refetch.
	next := ks.AddKey(t)
	ks.Use(next)
	c.advance(31 * time.Second)
	if err := v.Verify(ctx, ks.Sign(t, claims())); err != nil {
		t.Fatalf("token signed with the new key: %v", err)
	}
	if n := ks.JWKSFetches(); n != 2 {
		t.Errorf("%d fetches after the rotation, want 2", n)
	}
	// Tokens signed with the old key still verify while it is published.
	if err := v.Verify(ctx, ks.SignWith(t, old, claims())); err != nil {
		t.Errorf("old key still published: %v", err)
	}
	// The old key is retired; once the cached set expires and is fetched again
	// (in the background), tokens signed with it are refused.
	ks.Retire(old)
	c.advance(2 * time.Hour)
	_ = v.Verify(ctx, ks.Sign(t, claims())) // triggers the background refresh
	deadline := time.Now().Add(5 * time.Second)
	for ks.JWKSFetches() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := v.Refresh(ctx); err != nil { // and wait for it to settle
		t.Fatal(err)
	}
	if err := v.Verify(ctx, ks.SignWith(t, old, claims())); !errors.Is(err, auth.ErrTokenKey) {
		t.Errorf("token signed with the retired key: %v, want ErrTokenKey", err)
	}
	if err := v.Verify(ctx, ks.Sign(t, claims())); err != nil {
		t.Errorf("token signed with the new key after the retirement: %v", err)
	}
}

// TestOAuthUnknownKidFloodIsRateLimited: tokens naming made-up kids fetch the
// set at most once per RefetchInterval, however many and however concurrent.
func TestOAuthUnknownKidFloodIsRateLimited(t *testing.T) {
	ks := bridgetest.NewKeyServer(t)
	c := newClock()
	v := verifier(t, ks, c)
	ctx := context.Background()
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	attacker, _ := rsa.GenerateKey(rand.Reader, 2048)
	claims := ks.Claims(audience, clientID, scope, time.Hour)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := bridgetest.SignRS256(t, attacker, fmt.Sprintf("made-up-%d", i), claims)
			if err := v.Verify(ctx, tok); !errors.Is(err, auth.ErrTokenKey) {
				t.Errorf("made-up kid: %v, want ErrTokenKey", err)
			}
		}()
	}
	wg.Wait()
	if n := ks.JWKSFetches(); n > 2 {
		t.Errorf("200 tokens with made-up kids within the refetch interval: %d fetches of the key set, want at most 2", n)
	}
	c.advance(31 * time.Second)
	_ = v.Verify(ctx, bridgetest.SignRS256(t, attacker, "made-up-later", claims))
	if n := ks.JWKSFetches(); n > 3 {
		t.Errorf("after the interval: %d fetches, want at most 3", n)
	}
}

// TestOAuthKeysUnreachable: a key server that is down refuses tokens
// (ErrKeysUnavailable) and keeps the last good set once it had one.
func TestOAuthKeysUnreachable(t *testing.T) {
	v, err := auth.NewOAuth(auth.OAuthConfig{Issuer: "https://127.0.0.1:1/oauth2/default", Audience: audience,
		ClientID: clientID, FetchTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ks := bridgetest.NewKeyServer(t)
	if err := v.Verify(context.Background(), ks.Sign(t, ks.Claims(audience, clientID, scope, time.Hour))); !errors.Is(err, auth.ErrKeysUnavailable) {
		t.Errorf("keys unreachable: %v, want ErrKeysUnavailable", err)
	}
}

func TestNewOAuthRefusesWeakConfigs(t *testing.T) {
	for name, cfg := range map[string]auth.OAuthConfig{
		"http issuer": {Issuer: "http://acme.okta.com/oauth2/default", Audience: audience, ClientID: clientID},
		"no audience": {Issuer: "https://acme.okta.com/oauth2/default", ClientID: clientID},
		"no client":   {Issuer: "https://acme.okta.com/oauth2/default", Audience: audience},
		"HS256":       {Issuer: "https://acme.okta.com/oauth2/default", Audience: audience, ClientID: clientID, Algorithms: []jose.SignatureAlgorithm{jose.HS256}},
		"http JWKS":   {Issuer: "https://acme.okta.com/oauth2/default", Audience: audience, ClientID: clientID, JWKSURL: "http://x/keys"},
	} {
		if _, err := auth.NewOAuth(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLooksLikeJWT(t *testing.T) {
	for tok, want := range map[string]bool{
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln": true,
		"s3cr3t-0123456789abcdef":                   false,
		"a.b":                                       false,
		"a..c":                                      false,
		"a.b.c d":                                   false,
	} {
		if got := auth.LooksLikeJWT(tok); got != want {
			t.Errorf("LooksLikeJWT(%q) = %v", tok, got)
		}
	}
}
