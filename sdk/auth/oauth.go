package auth

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/smsplus/smsplus/sdk/payload"
)

// Errors of OAuth.Verify. They name no value: safe to log.
var (
	ErrTokenMalformed  = errors.New("auth: the bearer token is not a signed JWT of an accepted algorithm")
	ErrTokenKey        = errors.New("auth: the token's key (kid) is not among the authorization server's keys")
	ErrTokenSignature  = errors.New("auth: the token's signature does not verify")
	ErrTokenExpired    = errors.New("auth: the token has expired or is not valid yet")
	ErrTokenClaims     = errors.New("auth: the token's issuer, audience, client or scope is not the configured one")
	ErrKeysUnavailable = errors.New("auth: the authorization server's keys could not be fetched")
)

// OAuthConfig describes the OAuth 2.0 access tokens a bridge accepts: JWTs
// issued by one authorization server, for one audience, to one client.
type OAuthConfig struct {
	// Issuer is the authorization server's issuer, compared exactly with the
	// token's iss (e.g. https://acme.okta.com/oauth2/default). Required, https.
	Issuer string
	// Audience must be the token's aud, or one of them (e.g. api://default).
	// Required.
	Audience string
	// ClientID is the client the vendor obtains its tokens as: the token's cid
	// (Okta) or client_id (RFC 9068, PingOne) must equal it; a token with
	// neither is refused. Required: without it any client of the authorization
	// server with this audience could call the hook.
	ClientID string
	// Scope, when set, must be among the token's scopes: scp (a list, Okta) or
	// scope (space-separated, RFC 9068).
	Scope string
	// JWKSURL is where the server publishes its keys. Empty: discovered from
	// {Issuer}/.well-known/oauth-authorization-server (RFC 8414), else
	// {Issuer}/.well-known/openid-configuration.
	JWKSURL string
	// Algorithms accepted in the token's header; default RS256 only. Symmetric
	// algorithms and "none" are never accepted.
	Algorithms []jose.SignatureAlgorithm

	// Leeway is the clock skew tolerated on exp, nbf and iat; default 60 s.
	Leeway time.Duration
	// RefetchInterval is the least time between two fetches of the keys asked
	// for by a token whose kid is unknown (a rotation), so that tokens with
	// made-up kids cannot make SMS+ hammer the server; default 30 s.
	RefetchInterval time.Duration
	// FetchTimeout bounds one fetch (discovery or keys); default 2 s, and
	// never beyond the deadline of the call that needs the keys.
	FetchTimeout time.Duration
	// Client makes the requests; default: a client that follows no redirect.
	Client *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Key cache lifetime: the server's Cache-Control max-age, kept within these
// bounds; the default when it gives none.
const (
	minKeysTTL     = 5 * time.Minute
	maxKeysTTL     = 24 * time.Hour
	defaultKeysTTL = time.Hour
	maxDocument    = 1 << 20
	minRSABits     = 2048
)

// OAuth verifies bearer access tokens (JWTs) against an authorization server's
// published keys (JWKS): the signature with an accepted algorithm, then iss, aud,
// exp (required), nbf and iat, the client id and the scope. Keys are fetched on
// first use (or by Refresh), cached for the server's max-age (5 min to 24 h,
// default 1 h), refreshed in the background when that passes (the last good set
// is kept if the refresh fails), and fetched again when a token names a kid not
// in the set (a rotation), at most once per RefetchInterval.
//
// JWS parsing and signature checks are go-jose's; the claims are decoded
// strictly (sdk/payload: no claim given twice or in two letter cases).
// An OAuth is safe for concurrent use.
type OAuth struct {
	cfg  OAuthConfig
	algs []jose.SignatureAlgorithm

	keys atomic.Pointer[keySet]

	mu         sync.Mutex // serializes fetches
	jwksURL    string     // discovered or configured; guarded by mu
	lastFetch  time.Time  // last attempt, successful or not; guarded by mu
	refreshing atomic.Bool
	fetches    atomic.Int64
}

type keySet struct {
	byKID   map[string]jose.JSONWebKey
	expires time.Time
}

// NewOAuth checks cfg and returns its verifier. It fetches nothing yet.
func NewOAuth(cfg OAuthConfig) (*OAuth, error) {
	var problems []string
	u, err := url.Parse(cfg.Issuer)
	if cfg.Issuer == "" || err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		problems = append(problems, "the issuer must be an https URL without query, e.g. https://acme.okta.com/oauth2/default")
	}
	if cfg.Audience == "" {
		problems = append(problems, "the audience is required")
	}
	if cfg.ClientID == "" {
		problems = append(problems, "the client id is required")
	}
	if cfg.JWKSURL != "" {
		if u, err := url.Parse(cfg.JWKSURL); err != nil || u.Scheme != "https" || u.Host == "" {
			problems = append(problems, "the JWKS URL must be an https URL")
		}
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = []jose.SignatureAlgorithm{jose.RS256}
	}
	for _, a := range algs {
		switch a {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA:
		default:
			problems = append(problems, fmt.Sprintf("algorithm %q is not accepted: only asymmetric signatures", a))
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = 60 * time.Second
	}
	if cfg.RefetchInterval <= 0 {
		cfg.RefetchInterval = 30 * time.Second
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 2 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	return &OAuth{cfg: cfg, algs: algs, jwksURL: cfg.JWKSURL}, nil
}

// Fetches counts the fetches of the keys so far (for tests and metrics).
func (o *OAuth) Fetches() int64 { return o.fetches.Load() }

// Refresh fetches the keys now (discovering their URL first if needed): call it
// in the background after Configure, so that the first hook does not wait.
func (o *OAuth) Refresh(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fetchLocked(ctx)
}

// BearerToken returns the token of an "Authorization: Bearer <token>" value.
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// LooksLikeJWT reports whether token has the shape of a compact JWS (three
// base64url parts): a bridge that accepts both a static secret and OAuth tells
// them apart with it.
func LooksLikeJWT(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return false
	}
	for _, p := range parts {
		if strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return false
		}
	}
	return true
}

// Verify checks token and returns nil when it is a valid access token for the
// configured issuer, audience, client and scope. ctx bounds a fetch of keys.
func (o *OAuth) Verify(ctx context.Context, token string) error {
	if !LooksLikeJWT(token) {
		return ErrTokenMalformed
	}
	// The protected header is decoded strictly, as the claims are: go-jose
	// keeps the last of two equal keys.
	head, err := base64.RawURLEncoding.DecodeString(strings.SplitN(token, ".", 2)[0])
	if err != nil || payload.CheckKeys(head) != nil {
		return ErrTokenMalformed
	}
	jws, err := jose.ParseSignedCompact(token, o.algs)
	if err != nil || len(jws.Signatures) != 1 {
		return ErrTokenMalformed
	}
	kid := jws.Signatures[0].Header.KeyID
	if kid == "" {
		return ErrTokenMalformed
	}
	key, err := o.key(ctx, kid)
	if err != nil {
		return err
	}
	body, err := jws.Verify(key.Key)
	if err != nil {
		return ErrTokenSignature
	}
	return o.checkClaims(body)
}

// key finds kid in the cached set; a set past its lifetime is still used while
// a refresh runs in the background. An unknown kid fetches the set again, at
// most once per RefetchInterval.
func (o *OAuth) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	now := o.cfg.Now()
	if ks := o.keys.Load(); ks != nil {
		if k, ok := ks.byKID[kid]; ok {
			if now.After(ks.expires) {
				o.refreshInBackground()
			}
			return k, nil
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if ks := o.keys.Load(); ks != nil {
		if k, ok := ks.byKID[kid]; ok { // fetched while we waited
			return k, nil
		}
	}
	if !o.lastFetch.IsZero() && now.Sub(o.lastFetch) < o.cfg.RefetchInterval {
		if o.keys.Load() == nil {
			return jose.JSONWebKey{}, ErrKeysUnavailable
		}
		return jose.JSONWebKey{}, ErrTokenKey
	}
	if err := o.fetchLocked(ctx); err != nil && o.keys.Load() == nil {
		return jose.JSONWebKey{}, err
	}
	if k, ok := o.keys.Load().byKID[kid]; ok {
		return k, nil
	}
	return jose.JSONWebKey{}, ErrTokenKey
}

func (o *OAuth) refreshInBackground() {
	if !o.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer o.refreshing.Store(false)
		o.mu.Lock()
		defer o.mu.Unlock()
		if ks := o.keys.Load(); ks != nil && !o.cfg.Now().After(ks.expires) {
			return
		}
		if o.cfg.Now().Sub(o.lastFetch) < o.cfg.RefetchInterval {
			return
		}
		_ = o.fetchLocked(context.Background())
	}()
}

// fetchLocked discovers the keys' URL if needed and fetches the keys. On
// failure the last good set stays. o.mu must be held.
func (o *OAuth) fetchLocked(ctx context.Context) error {
	o.lastFetch = o.cfg.Now()
	o.fetches.Add(1)
	ctx, cancel := context.WithTimeout(ctx, o.cfg.FetchTimeout)
	defer cancel()
	if o.jwksURL == "" {
		u, err := o.discover(ctx)
		if err != nil {
			return err
		}
		o.jwksURL = u
	}
	body, header, err := o.get(ctx, o.jwksURL)
	if err != nil {
		return err
	}
	if payload.CheckKeys(body) != nil {
		return fmt.Errorf("%w: the key set is not a strict JSON object", ErrKeysUnavailable)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		// go-jose refuses the whole set when one key is of a kind it does not
		// read; read key by key instead.
		var raw struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if json.Unmarshal(body, &raw) != nil {
			return fmt.Errorf("%w: the key set is not a JWKS", ErrKeysUnavailable)
		}
		for _, r := range raw.Keys {
			var k jose.JSONWebKey
			if k.UnmarshalJSON(r) == nil {
				set.Keys = append(set.Keys, k)
			}
		}
	}
	ks := &keySet{byKID: map[string]jose.JSONWebKey{}, expires: o.cfg.Now().Add(cacheTTL(header))}
	for _, k := range set.Keys {
		if k.KeyID == "" || !k.IsPublic() || !k.Valid() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		if k.Algorithm != "" && !o.accepts(k.Algorithm) {
			continue
		}
		if rk, ok := k.Key.(*rsa.PublicKey); ok && rk.N.BitLen() < minRSABits {
			continue
		}
		ks.byKID[k.KeyID] = k
	}
	if len(ks.byKID) == 0 {
		return fmt.Errorf("%w: the key set holds no usable signing key", ErrKeysUnavailable)
	}
	o.keys.Store(ks)
	return nil
}

func (o *OAuth) accepts(alg string) bool {
	for _, a := range o.algs {
		if string(a) == alg {
			return true
		}
	}
	return false
}

// discover reads the server's metadata (RFC 8414, then OpenID Connect
// Discovery) and returns its jwks_uri. The metadata's issuer must be the
// configured one (RFC 8414 section 3.3).
func (o *OAuth) discover(ctx context.Context) (string, error) {
	var lastErr error
	for _, wk := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		body, _, err := o.get(ctx, o.cfg.Issuer+wk)
		if err != nil {
			lastErr = err
			continue
		}
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if payload.JSON(body, &meta) != nil {
			lastErr = fmt.Errorf("%w: the server metadata is not a JSON object", ErrKeysUnavailable)
			continue
		}
		if strings.TrimRight(meta.Issuer, "/") != o.cfg.Issuer {
			return "", fmt.Errorf("%w: the server metadata names another issuer", ErrKeysUnavailable)
		}
		if u, err := url.Parse(meta.JWKSURI); err != nil || u.Scheme != "https" || u.Host == "" {
			return "", fmt.Errorf("%w: the server metadata has no https jwks_uri", ErrKeysUnavailable)
		}
		return meta.JWKSURI, nil
	}
	return "", lastErr
}

func (o *OAuth) get(ctx context.Context, u string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := o.cfg.Client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%w: GET %s: HTTP %d", ErrKeysUnavailable, u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil || len(body) > maxDocument {
		return nil, nil, fmt.Errorf("%w: GET %s: unreadable or too large", ErrKeysUnavailable, u)
	}
	return body, resp.Header, nil
}

// cacheTTL is the key set's lifetime from Cache-Control max-age, within
// [minKeysTTL, maxKeysTTL].
func cacheTTL(h http.Header) time.Duration {
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		name, v, ok := strings.Cut(strings.TrimSpace(d), "=")
		if !ok || !strings.EqualFold(name, "max-age") {
			continue
		}
		n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
		if err != nil || n < 0 {
			break
		}
		ttl := time.Duration(min(n, int64(maxKeysTTL/time.Second))) * time.Second
		return max(minKeysTTL, min(ttl, maxKeysTTL))
	}
	return defaultKeysTTL
}

// checkClaims checks a verified token's claims.
func (o *OAuth) checkClaims(body []byte) error {
	var c map[string]json.RawMessage
	if payload.JSON(body, &c) != nil {
		return ErrTokenMalformed
	}
	now := float64(o.cfg.Now().UnixNano()) / 1e9
	leeway := o.cfg.Leeway.Seconds()
	exp, present, ok := numeric(c, "exp")
	if !ok || !present || now >= exp+leeway {
		return ErrTokenExpired
	}
	if nbf, present, ok := numeric(c, "nbf"); !ok || present && nbf > now+leeway {
		return ErrTokenExpired
	}
	if iat, present, ok := numeric(c, "iat"); !ok || present && iat > now+leeway {
		return ErrTokenExpired
	}
	if iss, ok := str(c["iss"]); !ok || strings.TrimRight(iss, "/") != o.cfg.Issuer {
		return ErrTokenClaims
	}
	if !contains(c["aud"], o.cfg.Audience, false) {
		return ErrTokenClaims
	}
	// The client: Okta's cid, RFC 9068's client_id. At least one, and every
	// one present must be the configured client.
	n := 0
	for _, name := range []string{"cid", "client_id"} {
		raw, ok := c[name]
		if !ok {
			continue
		}
		if v, ok := str(raw); !ok || !Equal(v, o.cfg.ClientID) {
			return ErrTokenClaims
		}
		n++
	}
	if n == 0 {
		return ErrTokenClaims
	}
	if o.cfg.Scope != "" && !contains(c["scp"], o.cfg.Scope, false) && !contains(c["scope"], o.cfg.Scope, true) {
		return ErrTokenClaims
	}
	return nil
}

// numeric reads a NumericDate claim. present is false when absent; ok is false
// when it is there but not a finite number.
func numeric(c map[string]json.RawMessage, name string) (v float64, present, ok bool) {
	raw, present := c[name]
	if !present {
		return 0, false, true
	}
	var p *float64
	if json.Unmarshal(raw, &p) != nil || p == nil {
		return 0, true, false
	}
	return *p, true, true
}

func str(raw json.RawMessage) (string, bool) {
	var s string
	return s, raw != nil && json.Unmarshal(raw, &s) == nil
}

// contains reports whether a claim that is a string (split on spaces when
// spaced) or a list of strings holds want.
func contains(raw json.RawMessage, want string, spaced bool) bool {
	if raw == nil || want == "" {
		return false
	}
	if s, ok := str(raw); ok {
		if spaced {
			for _, f := range strings.Fields(s) {
				if f == want {
					return true
				}
			}
			return false
		}
		return s == want
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		return false
	}
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}
