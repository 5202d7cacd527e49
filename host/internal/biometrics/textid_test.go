package biometrics

import "testing"

// The vectors come from TypingDNA's recorder (shared/typingdna/api.md section 7).
func TestTextIDMatchesRecorder(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"secured by typingdna": "736619784",
		"Secured By TypingDNA": "736619784",
		"":                     "1914395348",
		"Hello5g21?*":          "799796768",
		"example@mail.com":     "304288170",
		"ăîșț ünïcödé":         "1008106800",
	} {
		if got := TextID(text); got != want {
			t.Errorf("TextID(%q) = %s, want %s", text, got, want)
		}
	}
}
