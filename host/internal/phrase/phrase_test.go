package phrase

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smsplus/smsplus/host/internal/biometrics"
)

func TestWordListRules(t *testing.T) {
	t.Parallel()
	lists, err := wordLists()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"en", "es", "fr", "pt"} {
		if _, ok := lists[lang]; !ok {
			t.Errorf("no word list for %s", lang)
		}
	}
	for lang, words := range lists {
		// Two words of a 300-word list already make 90,000 phrases.
		if len(words) < 300 {
			t.Errorf("%s: %d words, want a few hundred", lang, len(words))
		}
		seen := map[string]bool{}
		for _, w := range words {
			if seen[w] {
				t.Errorf("%s: duplicate %q", lang, w)
			}
			seen[w] = true
			if n := utf8.RuneCountInString(w); n < 3 || n > 6 {
				t.Errorf("%s: %q has %d letters, want 3-6", lang, w, n)
			}
			// Plain ASCII letters: no accents to find on a phone keyboard.
			for _, c := range w {
				if c < 'a' || c > 'z' {
					t.Errorf("%s: %q is not lower-case ASCII letters", lang, w)
					break
				}
			}
		}
		if !slices.IsSorted(words) {
			t.Errorf("%s: list not sorted", lang)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	words, err := Words("en")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int{}
	seen := map[string]bool{}
	const n = 500
	for range n {
		p, err := New("en")
		if err != nil {
			t.Fatal(err)
		}
		if p.TextID != biometrics.TextID(p.Text) {
			t.Fatalf("%q: text id %s, want %s", p.Text, p.TextID, biometrics.TextID(p.Text))
		}
		if l := len(p.Text); l < MinLen || l > MaxLen {
			t.Fatalf("%q: %d characters, want %d-%d", p.Text, l, MinLen, MaxLen)
		}
		if strings.TrimSpace(p.Text) != p.Text || strings.Contains(p.Text, "  ") {
			t.Fatalf("%q: stray spaces", p.Text)
		}
		parts := strings.Split(p.Text, " ")
		if len(parts) < MinWords || len(parts) > MaxWords {
			t.Fatalf("%q: %d words", p.Text, len(parts))
		}
		for i, w := range parts {
			if _, ok := slices.BinarySearch(words, w); !ok {
				t.Fatalf("%q: %q is not in the list", p.Text, w)
			}
			if slices.Contains(parts[:i], w) {
				t.Fatalf("%q: repeated word", p.Text)
			}
		}
		counts[len(parts)]++
		seen[p.Text] = true
	}
	if len(seen) < n*9/10 {
		t.Errorf("only %d different phrases in %d", len(seen), n)
	}
	if counts[2] == 0 || counts[3] == 0 {
		t.Errorf("word counts %v, want both 2 and 3", counts)
	}
}

func TestNewPerLanguage(t *testing.T) {
	t.Parallel()
	for _, tag := range []string{"es", "fr", "pt", "pt-BR", "FR_ca"} {
		lang := strings.ToLower(tag[:2])
		words, err := Words(lang)
		if err != nil {
			t.Fatal(err)
		}
		for range 50 {
			p, err := New(tag)
			if err != nil {
				t.Fatal(err)
			}
			if p.TextID != biometrics.TextID(p.Text) {
				t.Fatalf("%q: text id %s, want %s", p.Text, p.TextID, biometrics.TextID(p.Text))
			}
			if l := len(p.Text); l < MinLen || l > MaxLen {
				t.Fatalf("%q: %d characters, want %d-%d", p.Text, l, MinLen, MaxLen)
			}
			for _, w := range strings.Split(p.Text, " ") {
				if _, ok := slices.BinarySearch(words, w); !ok {
					t.Fatalf("New(%q) = %q: %q is not in the %s list", tag, p.Text, w, lang)
				}
			}
		}
	}
}

func TestNewLanguageFallback(t *testing.T) {
	t.Parallel()
	en, _ := Words("en")
	for _, lang := range []string{"", "xx", "EN", "en-GB", "en_US", "zz-ZZ"} {
		words, err := Words(lang)
		if err != nil {
			t.Fatal(err)
		}
		if &words[0] != &en[0] {
			t.Errorf("Words(%q) is not the English list", lang)
		}
		p, err := New(lang)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := slices.BinarySearch(en, strings.Split(p.Text, " ")[0]); !ok {
			t.Errorf("New(%q) = %q, not English words", lang, p.Text)
		}
	}
}
