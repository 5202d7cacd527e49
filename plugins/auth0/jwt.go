package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// leeway tolerates clock skew between Auth0 and SMS+.
const leeway = time.Minute

// verifyJWT checks an HS256 JSON Web Token: its algorithm, its signature (in
// constant time), exp and nbf when present, and aud when audience is set. Only
// HS256 is accepted, so "alg":"none" or an asymmetric algorithm cannot be used to
// forge a token.
func verifyJWT(token string, key []byte, audience string, now time.Time) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(key) == 0 {
		return false
	}
	var header struct {
		Alg  string   `json:"alg"`
		Crit []string `json:"crit"`
	}
	if !decodeSegment(parts[0], &header) || header.Alg != "HS256" || header.Crit != nil {
		return false
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
	var claims struct {
		Exp *float64        `json:"exp"`
		Nbf *float64        `json:"nbf"`
		Aud json.RawMessage `json:"aud"`
	}
	if !decodeSegment(parts[1], &claims) {
		return false
	}
	unix := func(f float64) time.Time { return time.Unix(int64(f), 0) }
	if claims.Exp != nil && now.After(unix(*claims.Exp).Add(leeway)) {
		return false
	}
	if claims.Nbf != nil && now.Add(leeway).Before(unix(*claims.Nbf)) {
		return false
	}
	return audience == "" || hasAudience(claims.Aud, audience)
}

func decodeSegment(seg string, v any) bool {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return false
	}
	return json.Unmarshal(raw, v) == nil
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
