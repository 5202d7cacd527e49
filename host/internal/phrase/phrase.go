// Package phrase picks the short phrases SMS+ users type on the challenge page and
// renders them as images.
//
// Word lists are embedded from words/ (see words/README.md): en, es, fr and pt,
// plain ASCII letters. The image is set in the Go fonts by Bigelow & Holmes,
// distributed under a BSD-style licence with golang.org/x/image (font/gofont),
// which embeds them; docs/page.md explains its distortion and how it was measured.
package phrase

import (
	"bufio"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"math/big"
	"path"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/smsplus/smsplus/host/internal/biometrics"
)

// Phrase is a phrase to type and its text id.
type Phrase struct {
	Text   string // lower-case words joined by single spaces
	TextID string // biometrics.TextID(Text)
}

// Bounds on a phrase.
const (
	MinWords = 2
	MaxWords = 3
	MinLen   = 10 // characters, spaces included
	MaxLen   = 24
)

// DefaultLanguage is used for languages without a word list.
const DefaultLanguage = "en"

//go:embed words/*.txt
var wordFiles embed.FS

var wordLists = sync.OnceValues(loadWordLists)

// loadWordLists reads words/<lang>.txt for every language.
func loadWordLists() (map[string][]string, error) {
	entries, err := wordFiles.ReadDir("words")
	if err != nil {
		return nil, err
	}
	lists := map[string][]string{}
	for _, e := range entries {
		lang, ok := strings.CutSuffix(e.Name(), ".txt")
		if !ok {
			continue
		}
		f, err := wordFiles.Open(path.Join("words", e.Name()))
		if err != nil {
			return nil, err
		}
		var words []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if w := strings.TrimSpace(sc.Text()); w != "" {
				words = append(words, w)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("word list %s: %w", lang, err)
		}
		if len(words) < 100 {
			return nil, fmt.Errorf("word list %s: only %d words", lang, len(words))
		}
		lists[lang] = words
	}
	if _, ok := lists[DefaultLanguage]; !ok {
		return nil, errors.New("no word list for " + DefaultLanguage)
	}
	return lists, nil
}

// Words returns the word list used for lang, after the fallback to English.
func Words(lang string) ([]string, error) {
	lists, err := wordLists()
	if err != nil {
		return nil, err
	}
	return lists[language(lists, lang)], nil
}

// language maps a language tag ("pt-BR", "EN") to a list's name, or the default.
func language(lists map[string][]string, lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if _, ok := lists[lang]; ok {
		return lang
	}
	if base, _, ok := strings.Cut(strings.ReplaceAll(lang, "_", "-"), "-"); ok {
		if _, ok := lists[base]; ok {
			return base
		}
	}
	return DefaultLanguage
}

// New picks a phrase of MinWords to MaxWords different words of lang's list,
// MinLen to MaxLen characters long, with crypto/rand. An unknown language falls
// back to English.
func New(lang string) (Phrase, error) {
	words, err := Words(lang)
	if err != nil {
		return Phrase{}, fmt.Errorf("new phrase: %w", err)
	}
	for {
		n, err := randN(MaxWords - MinWords + 1)
		if err != nil {
			return Phrase{}, fmt.Errorf("new phrase: %w", err)
		}
		picked := make([]string, 0, MinWords+n)
		for len(picked) < MinWords+n {
			i, err := randN(len(words))
			if err != nil {
				return Phrase{}, fmt.Errorf("new phrase: %w", err)
			}
			if !slices.Contains(picked, words[i]) {
				picked = append(picked, words[i])
			}
		}
		text := strings.Join(picked, " ")
		if l := utf8.RuneCountInString(text); l >= MinLen && l <= MaxLen {
			return Phrase{Text: text, TextID: biometrics.TextID(text)}, nil
		}
	}
}

// randN returns a uniform random int in [0, n) from crypto/rand.
func randN(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, err
	}
	return int(v.Int64()), nil
}
