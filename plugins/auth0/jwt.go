package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/smsplus/smsplus/sdk/payload"
)

const (
	// jwtSkew tolerates clock skew between Auth0 and SMS+ on every time claim.
	// Half a minute covers NTP-synced hosts many times over and adds little to
	// the window in which a captured token can be replayed.
	jwtSkew = 30 * time.Second
	// defaultJWTMaxAge bounds how long a gateway token is accepted: exp at most
	// this far ahead, iat at most this old. Auth0 signs a fresh token for each
	// call, so a long lifetime only serves whoever captured one.
	defaultJWTMaxAge = 300 * time.Second
	// maxJWTMaxAge is the largest AUTH0_JWT_MAX_AGE_SECONDS allowed.
	maxJWTMaxAge = 24 * time.Hour
)

// verifyJWT checks an HS256 JSON Web Token: its algorithm, its signature (in
// constant time), its lifetime, and aud when audience is set. Only HS256 is
// accepted, so "alg":"none" or an asymmetric algorithm cannot be used to forge
// a token.
//
// Lifetime, each bound widened by jwtSkew: exp is required, not passed, and at
// most maxAge ahead (a token "valid until 2100" is refused); iat, when present,
// not in the future and at most maxAge old; nbf, when present, reached. Header
// and claims are decoded strictly (payload.JSON: no claim given twice or in
// another case) and claims are read by their exact names.
func verifyJWT(token string, key []byte, audience string, now time.Time, maxAge time.Duration) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(key) == 0 || maxAge <= 0 {
		return false
	}
	header, ok := decodeSegment(parts[0])
	if !ok || !isString(header["alg"], "HS256") {
		return false
	}
	if _, ok := header["crit"]; ok {
		return false // no extension is understood, so none may be critical
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return false
	}
	claims, ok := decodeSegment(parts[1])
	if !ok {
		return false
	}

	// Seconds as float64: NumericDate may be fractional, and comparing floats
	// avoids converting an absurd value (1e300) to int64, which wraps.
	t := float64(now.UnixNano()) / 1e9
	skew, age := jwtSkew.Seconds(), maxAge.Seconds()
	exp, present, ok := numericDate(claims, "exp")
	if !ok || !present || t >= exp+skew || exp > t+age+skew {
		return false
	}
	if iat, present, ok := numericDate(claims, "iat"); !ok || present && (iat > t+skew || t-iat > age+skew) {
		return false
	}
	if nbf, present, ok := numericDate(claims, "nbf"); !ok || present && nbf > t+skew {
		return false
	}
	return audience == "" || hasAudience(claims["aud"], audience)
}

// decodeSegment decodes one base64url JWT segment holding a JSON object.
func decodeSegment(seg string) (map[string]json.RawMessage, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, false
	}
	var m map[string]json.RawMessage
	if payload.JSON(raw, &m) != nil {
		return nil, false
	}
	return m, true
}

// numericDate reads claim name as a JSON number. present is false when the
// claim is absent; ok is false when it is there but not a finite number
// (null, a string, 1e999).
func numericDate(claims map[string]json.RawMessage, name string) (v float64, present, ok bool) {
	raw, present := claims[name]
	if !present {
		return 0, false, true
	}
	var p *float64
	if err := json.Unmarshal(raw, &p); err != nil || p == nil {
		return 0, true, false
	}
	return *p, true, true
}

func isString(raw json.RawMessage, want string) bool {
	var s string
	return raw != nil && json.Unmarshal(raw, &s) == nil && s == want
}

// hasAudience reports whether aud (a string or an array of strings) holds want.
func hasAudience(aud json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(aud, &one) == nil {
		return one == want
	}
	var many []string
	if json.Unmarshal(aud, &many) == nil {
		for _, a := range many {
			if a == want {
				return true
			}
		}
	}
	return false
}

// decodeBase64 reads a secret in standard or URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(s)
}
