package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Core holds the settings every deployment has.
type Core struct {
	Port     int
	BaseURL  string
	HashSalt string
}

func (r *reader) core() Core {
	c := Core{Port: r.int("port", 1, 65535), HashSalt: r.secret("hash_salt")}
	c.BaseURL = strings.TrimRight(r.str("base_url"), "/")
	if c.BaseURL == "" {
		c.BaseURL = fmt.Sprintf("http://localhost:%d", c.Port)
	} else if !baseURL(c.BaseURL) {
		r.problem("BASE_URL: must be an absolute http(s) URL without query, e.g. https://sms.example.com, got %q", c.BaseURL)
	}
	if c.HashSalt == "" {
		r.problem("HASH_SALT: is required: user ids are SHA-256(phone + HASH_SALT); without a salt they could be reversed by hashing every phone number (keep the Node SMS+ value to keep existing profiles)")
	}
	return c
}

func baseURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == "" && u.Fragment == ""
}
