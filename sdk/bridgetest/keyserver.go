package bridgetest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// KeyServer is a local OAuth 2.0 authorization server for tests of bridges that
// accept OAuth bearer tokens (sdk/auth.OAuth): an httptest TLS server that
// publishes RFC 8414 metadata and a JWKS, and signs access tokens with its
// current key. Keys can be added and retired, as a real server rotates them.
type KeyServer struct {
	srv *httptest.Server

	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey // every key made, published or retired
	public  map[string]bool            // the kids published
	current string                     // the kid tokens are signed with
	maxAge  int                        // Cache-Control max-age of the JWKS, seconds

	jwksFetches atomic.Int64
	metaFetches atomic.Int64
}

// NewKeyServer starts a key server with one key; it stops when the test ends.
func NewKeyServer(t testing.TB) *KeyServer {
	t.Helper()
	k := &KeyServer{keys: map[string]*rsa.PrivateKey{}, public: map[string]bool{}, maxAge: 3600}
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth2/default/.well-known/oauth-authorization-server", func(w http.ResponseWriter, _ *http.Request) {
		k.metaFetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": k.Issuer(), "jwks_uri": k.Issuer() + "/v1/keys",
			"token_endpoint": k.Issuer() + "/v1/token"})
	})
	mux.HandleFunc("/oauth2/default/v1/keys", func(w http.ResponseWriter, _ *http.Request) {
		k.jwksFetches.Add(1)
		k.mu.Lock()
		set := jose.JSONWebKeySet{}
		for kid := range k.public {
			pk := k.keys[kid]
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &pk.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		maxAge := k.maxAge
		k.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age="+itoa(maxAge)+", must-revalidate")
		_ = json.NewEncoder(w).Encode(set)
	})
	k.srv = httptest.NewTLSServer(mux)
	t.Cleanup(k.srv.Close)
	k.current = k.AddKey(t)
	return k
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Issuer is the server's issuer: https://127.0.0.1:port/oauth2/default.
func (k *KeyServer) Issuer() string { return k.srv.URL + "/oauth2/default" }

// Client is an HTTP client that trusts the server's certificate.
func (k *KeyServer) Client() *http.Client { return k.srv.Client() }

// JWKSFetches counts the requests for the key set so far.
func (k *KeyServer) JWKSFetches() int64 { return k.jwksFetches.Load() }

// AddKey publishes a new key and returns its kid; tokens are still signed with
// the current key until Use.
func (k *KeyServer) AddKey(t testing.TB) string {
	t.Helper()
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	kid := hex.EncodeToString(id[:])
	k.mu.Lock()
	k.keys[kid] = pk
	k.public[kid] = true
	k.mu.Unlock()
	return kid
}

// Use makes kid the key tokens are signed with.
func (k *KeyServer) Use(kid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.current = kid
}

// Retire stops publishing kid (tokens can still be signed with it, as an
// attacker holding an old key would).
func (k *KeyServer) Retire(kid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.public, kid)
}

// SetMaxAge sets the Cache-Control max-age (seconds) of the key set.
func (k *KeyServer) SetMaxAge(seconds int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.maxAge = seconds
}

// Current is the kid tokens are signed with.
func (k *KeyServer) Current() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.current
}

// Claims are an access token's claims as Okta issues them for a client
// credentials grant: iss, aud, cid, scp, iat, exp (lifetime from now).
func (k *KeyServer) Claims(audience, clientID, scope string, lifetime time.Duration) map[string]any {
	now := time.Now()
	return map[string]any{
		"ver": 1, "jti": "AT.test", "iss": k.Issuer(), "aud": audience, "cid": clientID, "sub": clientID,
		"scp": []string{scope}, "iat": now.Unix(), "exp": now.Add(lifetime).Unix(),
	}
}

// Sign signs claims with the current key (RS256, its kid in the header).
func (k *KeyServer) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	return k.SignWith(t, k.Current(), claims)
}

// SignWith signs claims with the key kid, published or retired.
func (k *KeyServer) SignWith(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	k.mu.Lock()
	pk := k.keys[kid]
	k.mu.Unlock()
	if pk == nil {
		t.Fatalf("KeyServer: no key %q", kid)
	}
	return SignRS256(t, pk, kid, claims)
}

// SignRS256 signs claims as a compact JWS with key, naming kid.
func SignRS256(t testing.TB, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(body)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
