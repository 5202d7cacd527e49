package config

import (
	"strings"
	"time"
)

// Biometrics holds the typing biometrics engine settings.
type Biometrics struct {
	BiometricsEngine   string // local | typingdna
	LocalEnrollSamples int
	TypingDNA          TypingDNA
}

// TypingDNA holds the TypingDNA engine settings.
type TypingDNA struct {
	Server      string
	APIKey      string
	APISecret   string
	TextDefault string
	Timeout     time.Duration
	// RecorderURL (TYPINGDNA_RECORDER_URL) is the TypingDNA recorder script the
	// page loads in TypingDNA mode; the page's CSP allows exactly this script.
	RecorderURL string
}

// biometrics reads the engine; without BIOMETRICS_ENGINE it is typingdna when a
// TypingDNA key is set, else the built-in local engine.
func (r *reader) biometrics() Biometrics {
	c := Biometrics{
		BiometricsEngine:   strings.ToLower(r.str("biometrics_engine")),
		LocalEnrollSamples: r.int("local_enroll_samples", 2, 20),
		TypingDNA:          r.typingDNA(),
	}
	if c.BiometricsEngine == "" {
		c.BiometricsEngine = "local"
		if c.TypingDNA.APIKey != "" {
			c.BiometricsEngine = "typingdna"
		}
	}
	switch c.BiometricsEngine {
	case "local":
	case "typingdna":
		if c.TypingDNA.APIKey == "" || c.TypingDNA.APISecret == "" {
			r.problem("TYPINGDNA_API_KEY and TYPINGDNA_API_SECRET: both are required by the TypingDNA engine (or set BIOMETRICS_ENGINE=local)")
		}
	default:
		r.problem("BIOMETRICS_ENGINE: must be local or typingdna, got %q", c.BiometricsEngine)
	}
	return c
}

func (r *reader) typingDNA() TypingDNA {
	c := TypingDNA{
		Server:      strings.TrimRight(r.str("typingdna_server"), "/"),
		APIKey:      r.secret("typingdna_api_key"),
		APISecret:   r.secret("typingdna_api_secret"),
		TextDefault: r.str("typingdna_text_default"),
		Timeout:     r.millis("typingdna_timeout_ms", 100, 120000),
		RecorderURL: r.str("typingdna_recorder_url"),
	}
	if !scriptURL(c.RecorderURL) {
		r.problem("TYPINGDNA_RECORDER_URL: must be an https URL of a script (http only for localhost), got %q", c.RecorderURL)
	}
	return c
}
