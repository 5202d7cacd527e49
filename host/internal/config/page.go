package config

import (
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Page holds the settings of the challenge page and its API.
type Page struct {
	DefaultLanguage string
	// SupportedLanguages (SUPPORTED_LANGUAGES, comma-separated) limits the
	// languages of the page and the texts; empty = every language SMS+ has texts for.
	SupportedLanguages []string
	// PageRatePerMinute limits the page and its API per client IP (0 = off).
	PageRatePerMinute int
	// TrustedProxies are the load balancers whose X-Forwarded-For is believed;
	// none by default, so a client cannot pick the address it is limited by.
	TrustedProxies []*net.IPNet
}

func (r *reader) page() Page {
	return Page{
		DefaultLanguage:    strings.ToLower(r.str("default_language")),
		SupportedLanguages: r.languages("supported_languages"),
		PageRatePerMinute:  r.int("page_rate_limit_per_minute", 0, 100000),
		TrustedProxies:     r.trustedProxies("trusted_proxies"),
	}
}

var languageTag = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})?$`)

// languages reads comma-separated language tags (pt_BR reads as pt-br).
func (r *reader) languages(key string) []string {
	var out []string
	for _, tag := range r.list(key) {
		tag = strings.ToLower(strings.ReplaceAll(tag, "_", "-"))
		if slices.Contains(out, tag) {
			continue
		}
		if !languageTag.MatchString(tag) {
			r.problem("%s: %q is not a language tag (e.g. en,es,fr,pt)", envName(key), tag)
			continue
		}
		out = append(out, tag)
	}
	return out
}

// proxyKeywords name the address ranges a proxy usually sits in, so that an
// operator can write TRUSTED_PROXIES=private behind a Kubernetes ingress.
var proxyKeywords = map[string][]string{
	"loopback":  {"127.0.0.0/8", "::1/128"},
	"private":   {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"},
	"linklocal": {"169.254.0.0/16", "fe80::/10"},
}

// trustedProxies reads comma-separated IPs, CIDR ranges and proxyKeywords.
func (r *reader) trustedProxies(key string) []*net.IPNet {
	var out []*net.IPNet
	for _, p := range r.list(key) {
		for _, cidr := range proxyRanges(p) {
			_, n, err := net.ParseCIDR(cidr)
			if err != nil {
				r.problem("%s: %q is not an IP address, a CIDR range (e.g. 10.0.0.0/8) or one of loopback, private, linklocal", envName(key), p)
				break
			}
			out = append(out, n)
		}
	}
	return out
}

// proxyRanges are the CIDR ranges of one TRUSTED_PROXIES item: a keyword's, or
// the item itself, a single address made a /32 or /128.
func proxyRanges(p string) []string {
	if ranges, ok := proxyKeywords[strings.ToLower(p)]; ok {
		return ranges
	}
	if strings.Contains(p, "/") {
		return []string{p}
	}
	if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
		return []string{p + "/32"}
	}
	return []string{p + "/128"}
}

// scriptURL accepts an absolute https URL without fragment or credentials, or an
// http one on a loopback host (tests, local mirrors).
func scriptURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil || u.Path == "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		return h == "localhost" || h == "127.0.0.1" || h == "::1"
	}
	return false
}
