package config

import (
	"slices"
	"strings"
	"testing"
)

// The challenge page's settings: SUPPORTED_LANGUAGES and TYPINGDNA_RECORDER_URL.
func TestPageSettings(t *testing.T) {
	t.Parallel()
	c, err := Load(Sources{Environ: []string{"HASH_SALT=s"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.SupportedLanguages) != 0 || c.TypingDNA.RecorderURL != "https://www.typingdna.com/scripts/typingdna.js" {
		t.Errorf("defaults: languages %v, recorder %q", c.SupportedLanguages, c.TypingDNA.RecorderURL)
	}
	c, err = Load(Sources{Environ: []string{"HASH_SALT=s", "SUPPORTED_LANGUAGES= en, PT_br ,es,en,",
		"TYPINGDNA_RECORDER_URL=https://cdn.example.org/typingdna.js?v=3.2"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.SupportedLanguages, []string{"en", "pt-br", "es"}) || c.TypingDNA.RecorderURL != "https://cdn.example.org/typingdna.js?v=3.2" {
		t.Errorf("languages %v, recorder %q", c.SupportedLanguages, c.TypingDNA.RecorderURL)
	}
	for _, url := range []string{"http://127.0.0.1:8099/typingdna.js", "http://localhost/x.js"} {
		if _, err := Load(Sources{Environ: []string{"HASH_SALT=s", "TYPINGDNA_RECORDER_URL=" + url}}); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}
	for env, want := range map[string]string{
		"SUPPORTED_LANGUAGES=en,<script>":                         "SUPPORTED_LANGUAGES",
		"TYPINGDNA_RECORDER_URL=http://cdn.example.org/x.js":      "TYPINGDNA_RECORDER_URL",
		"TYPINGDNA_RECORDER_URL=javascript:alert(1)":              "TYPINGDNA_RECORDER_URL",
		"TYPINGDNA_RECORDER_URL=https://u:p@cdn.example.org/x.js": "TYPINGDNA_RECORDER_URL",
		"TYPINGDNA_RECORDER_URL=//www.typingdna.com/typingdna.js": "TYPINGDNA_RECORDER_URL",
		"TYPINGDNA_RECORDER_URL=https://www.typingdna.com":        "TYPINGDNA_RECORDER_URL",
	} {
		_, err := Load(Sources{Environ: []string{"HASH_SALT=s", env}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", env, err)
		}
	}
}
