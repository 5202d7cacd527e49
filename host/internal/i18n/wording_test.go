package i18n

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Mistakes a native reader found in the texts, kept out for good. Each
// language the catalog ships needs an entry in each table, so that a new
// language is reviewed for the same mistakes.

// passwordWords name a password (or a secret PIN) in each language. The
// one-time code is a code: calling it a password tells users to treat it like
// the password they keep, and clashes with the IAM's own texts.
var passwordWords = map[string][]string{
	"en": {"password", "passcode"},
	"es": {"clave", "contraseña"},
	"fr": {"mot de passe"},
	"pt": {"senha"},
}

func TestTextsNeverCallTheCodeAPassword(t *testing.T) {
	t.Parallel()
	c := Builtin()
	for _, lang := range c.Languages() {
		words, ok := passwordWords[lang]
		if !ok {
			t.Errorf("%s: no entry in passwordWords: review the language and add one", lang)
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(c.texts[lang])) {
			text := strings.ToLower(c.texts[lang][k])
			for _, w := range words {
				if strings.Contains(text, w) {
					t.Errorf("%s %s calls the code %q: %q", lang, k, w, c.texts[lang][k])
				}
			}
		}
	}
}

// pt is Brazilian Portuguese, addressing the user as "você" throughout. These
// are European Portuguese forms (or "tu"), which read as foreign in Brazil.
var europeanPortuguese = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\btelemóvel`),
	regexp.MustCompile(`(?i)\becrã`),
	regexp.MustCompile(`(?i)\bsess(ão|ões)\b`), // "iniciar sessão": Brazil signs in ("entrar")
	regexp.MustCompile(`(?i)\bregist(ar|o|e)\b`),
	regexp.MustCompile(`(?i)\butilizador`),
	regexp.MustCompile(`(?i)\bseparador`),
	regexp.MustCompile(`(?i)\b(facto|contacto|receção|ação de)\b`),
	regexp.MustCompile(`(?i)\b(está|estava|estão|estou) a \p{L}+r\b`), // "está a iniciar": Brazil says "está iniciando"
	regexp.MustCompile(`(?i)\b(num|numa) telefone`),
	regexp.MustCompile(`(?i)\b(tu|teu|tua|teus|tuas|contigo)\b`),
}

func TestPortugueseIsBrazilian(t *testing.T) {
	t.Parallel()
	c := Builtin()
	texts, ok := c.texts["pt"]
	if !ok {
		t.Fatal("no pt catalog")
	}
	for _, k := range slices.Sorted(maps.Keys(texts)) {
		for _, re := range europeanPortuguese {
			if m := re.FindString(texts[k]); m != "" {
				t.Errorf("pt %s: %q is not Brazilian usage: %q", k, m, texts[k])
			}
		}
	}
}

// pictureWords name the picture of the phrase in each language. The
// spelled-out view (for those who cannot read the picture, and for screen
// readers) shows no picture, so its texts, and those both views show, never
// refer to one.
var pictureWords = map[string][]string{
	"en": {"picture", "image"},
	"es": {"imagen"},
	"fr": {"image"},
	"pt": {"imagem"},
}

// spelledVariants are the texts of the spelled-out view, by the picture view's
// text they replace.
var spelledVariants = map[Key]Key{
	"challenge.lead":        "challenge.lead_spelled",
	"challenge.lead_enroll": "challenge.lead_enroll_spelled",
	"input.hint":            "input.hint_spelled",
}

// bothViews are messages the page shows in either view.
var bothViews = []Key{"msg.empty", "msg.length", "msg.phrase", "msg.phrase_enroll", "input.label", "enroll.text"}

func TestSpelledViewNeverMentionsThePicture(t *testing.T) {
	t.Parallel()
	c := Builtin()
	for _, lang := range c.Languages() {
		words, ok := pictureWords[lang]
		if !ok {
			t.Errorf("%s: no entry in pictureWords: review the language and add one", lang)
			continue
		}
		mentions := func(k Key) string {
			text := strings.ToLower(c.texts[lang][k])
			for _, w := range words {
				if strings.Contains(text, w) {
					return w
				}
			}
			return ""
		}
		for picture, spelled := range spelledVariants {
			if c.texts[lang][spelled] == c.texts[lang][picture] {
				t.Errorf("%s %s is the picture view's text", lang, spelled)
			}
			if w := mentions(spelled); w != "" {
				t.Errorf("%s %s mentions %q: %q", lang, spelled, w, c.texts[lang][spelled])
			}
			if mentions(picture) == "" {
				// Not a mistake, but then the variant is not needed: keep the table true.
				t.Errorf("%s %s does not mention the picture; drop its spelled variant", lang, picture)
			}
		}
		for _, k := range bothViews {
			if w := mentions(k); w != "" {
				t.Errorf("%s %s is shown in the spelled-out view too, but mentions %q: %q", lang, k, w, c.texts[lang][k])
			}
		}
	}
}

// French puts a no-break space before ":", "?", "!" and ";", so that the sign
// never starts a line on a narrow phone. The SMS texts keep a plain space:
// GSM-7 has no no-break space, and one would make the text UCS-2.
func TestFrenchSpacing(t *testing.T) {
	t.Parallel()
	c := Builtin()
	plain := regexp.MustCompile(`[ \t][:?!;]`)
	for _, k := range slices.Sorted(maps.Keys(c.texts["fr"])) {
		if strings.HasPrefix(string(k), "sms.") {
			continue
		}
		if m := plain.FindString(c.texts["fr"][k]); m != "" {
			t.Errorf("fr %s: a plain space before %q: %q", k, strings.TrimSpace(m), c.texts["fr"][k])
		}
	}
}
