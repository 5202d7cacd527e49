package i18n

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/smsplus/smsplus/web"
)

// keysInCode are the keys Go code refers to; each must exist in the catalog.
var keysInCode = []Key{KeySMSEnroll, KeySMSLink, KeyLangName}

// sameInEnglish are texts that may read the same as in English: unit symbols.
var sameInEnglish = map[Key]bool{"unit.hours": true, "unit.minutes": true}

func TestBuiltinCatalog(t *testing.T) {
	t.Parallel()
	c := Builtin()
	if got, want := c.Languages(), []string{"en", "es", "fr", "pt"}; !slices.Equal(got, want) {
		t.Fatalf("languages %v, want %v", got, want)
	}
	if c.Default() != "en" {
		t.Errorf("default %q", c.Default())
	}
	ref := c.texts[DefaultLanguage]
	for _, k := range keysInCode {
		if _, ok := ref[k]; !ok {
			t.Errorf("key %q used in code but not in %s.json", k, DefaultLanguage)
		}
	}
	// Every key in every language (Load enforces it; this keeps the rule visible),
	// and translated: no language just repeats the English text.
	for _, lang := range c.Languages() {
		if len(c.texts[lang]) != len(ref) {
			t.Errorf("%s has %d keys, en has %d", lang, len(c.texts[lang]), len(ref))
		}
		for k, en := range ref {
			text, ok := c.texts[lang][k]
			if !ok {
				t.Errorf("%s: key %q missing", lang, k)
			}
			if lang != DefaultLanguage && text == en && !sameInEnglish[k] {
				t.Errorf("%s: key %q is the English text", lang, k)
			}
		}
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	t.Parallel()
	en := `{"a": "Hello {name}", "b": "Bye"}`
	tests := map[string]struct {
		files fstest.MapFS
		want  []string // substrings of the error; none: loads
	}{
		"consistent": {files: fstest.MapFS{"en.json": file(en), "de.json": file(`{"a": "Hallo {name}", "b": "Tschüss"}`)}},
		"regional file name": {
			files: fstest.MapFS{"en.json": file(en), "pt-br.json": file(`{"a": "Olá {name}", "b": "Tchau"}`)},
		},
		"missing default": {
			files: fstest.MapFS{"de.json": file(`{"a": "x"}`)},
			want:  []string{`default language "en": no en.json`},
		},
		"missing, empty, extra, placeholders": {
			files: fstest.MapFS{
				"en.json": file(en),
				"de.json": file(`{"a": "Hallo {nom}", "c": "extra"}`),
				"fr.json": file(`{"a": "Salut {name}", "b": "  "}`),
			},
			want: []string{
				`de.json: key "a" has placeholders [{nom}], want [{name}]`,
				`de.json: key "b" is missing`,
				`de.json: key "c" is not in the default language`,
				`fr.json: key "b" is empty`,
			},
		},
		"bad json and bad name": {
			files: fstest.MapFS{"en.json": file(en), "es.json": file(`{"a": `), "English.json": file(en)},
			want:  []string{"es.json: unexpected end of JSON input", "English.json: the file name must be a lower-case language tag"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(tt.files, "en")
			if len(tt.want) == 0 {
				if err != nil || c == nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded, want errors %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestMatch(t *testing.T) {
	t.Parallel()
	regional, err := Load(fstest.MapFS{"en.json": file(`{"k":"x"}`), "pt-br.json": file(`{"k":"y"}`), "es.json": file(`{"k":"z"}`)}, "en")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		c     *Catalog
		prefs []string
		want  string
	}{
		"okta locale":              {Builtin(), []string{"EN-US"}, "en"},
		"posix locale":             {Builtin(), []string{"pt_BR"}, "pt"},
		"plain":                    {Builtin(), []string{"fr"}, "fr"},
		"accept-language":          {Builtin(), []string{"fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5"}, "fr"},
		"first supported wins":     {Builtin(), []string{"de-DE,de;q=0.9,es;q=0.8,en;q=0.7"}, "es"},
		"weights, not order":       {Builtin(), []string{"es;q=0.5, fr;q=0.8"}, "fr"},
		"q=0 means not this":       {Builtin(), []string{"pt;q=0, es"}, "es"},
		"malformed weight ignored": {Builtin(), []string{"fr;q=high, pt;q=0.3"}, "pt"},
		"unsupported -> default":   {Builtin(), []string{"de"}, "en"},
		"star -> default":          {Builtin(), []string{"*"}, "en"},
		"empty -> default":         {Builtin(), []string{""}, "en"},
		"no prefs -> default":      {Builtin(), nil, "en"},
		"second pref used":         {Builtin(), []string{"de-AT", "es-MX"}, "es"},
		"regional exact":           {regional, []string{"pt-BR"}, "pt-br"},
		"base finds regional":      {regional, []string{"pt"}, "pt-br"},
		"sibling finds regional":   {regional, []string{"pt_PT"}, "pt-br"},
		"base of a regional tag":   {regional, []string{"es-AR"}, "es"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := tt.c.Match(tt.prefs...); got != tt.want {
				t.Errorf("Match(%q) = %q, want %q", tt.prefs, got, tt.want)
			}
		})
	}
}

func TestMatchBoundsHostileHeaders(t *testing.T) {
	t.Parallel()
	header := strings.Repeat("de,", 1000) + "fr"
	if got := Builtin().Match(header); got != "en" {
		t.Errorf("a supported tag after %d entries was used: %q", maxPrefs, got)
	}
}

func TestWithDefault(t *testing.T) {
	t.Parallel()
	c, err := Builtin().WithDefault("PT_br")
	if err != nil {
		t.Fatal(err)
	}
	if c.Default() != "pt" || c.Match("de") != "pt" || Builtin().Default() != "en" {
		t.Errorf("default %q, Match(de) %q, builtin default %q", c.Default(), c.Match("de"), Builtin().Default())
	}
	if _, err := Builtin().WithDefault("de"); err == nil || !strings.Contains(err.Error(), "en, es, fr, pt") {
		t.Errorf("WithDefault(de): %v", err)
	}
}

func TestT(t *testing.T) {
	t.Parallel()
	c, err := Load(fstest.MapFS{
		"en.json": file(`{"greet": "Hi {name}, see {link}", "plain": "Plain"}`),
		"fr.json": file(`{"greet": "{link} : bonjour {name}", "plain": "Simple"}`),
	}, "en")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		lang string
		key  Key
		args []string
		want string
	}{
		"args":                    {"en", "greet", []string{"name", "Ann", "link", "L"}, "Hi Ann, see L"},
		"order differs":           {"fr-FR", "greet", []string{"name", "Ann", "link", "L"}, "L : bonjour Ann"},
		"values are not expanded": {"en", "greet", []string{"name", "{link}", "link", "L"}, "Hi {link}, see L"},
		"missing arg stays":       {"en", "greet", []string{"name", "Ann"}, "Hi Ann, see {link}"},
		"odd arg ignored":         {"en", "greet", []string{"name", "Ann", "link"}, "Hi Ann, see {link}"},
		"no args":                 {"fr", "plain", nil, "Simple"},
		"unknown language":        {"de", "plain", nil, "Plain"},
		"unknown key":             {"en", "nope", nil, "nope"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := c.T(tt.lang, tt.key, tt.args...); got != tt.want {
				t.Errorf("T = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPageKeys(t *testing.T) {
	t.Parallel()
	c := Builtin()
	for _, key := range web.TextKeys() {
		for _, lang := range c.Languages() {
			if _, ok := c.Lookup(lang, Key(key)); !ok {
				t.Errorf("%s: the page uses %q, which is not in the catalog", lang, key)
			}
		}
	}
	// And the other way round: no page text nobody uses.
	used := map[string]bool{}
	for _, key := range web.TextKeys() {
		used[key] = true
	}
	for key := range c.texts[DefaultLanguage] {
		if !strings.HasPrefix(string(key), "sms.") && key != KeyLangName && !used[string(key)] {
			t.Errorf("key %q is in the catalog but the page does not use it", key)
		}
	}
}

func TestChoose(t *testing.T) {
	t.Parallel()
	c := Builtin() // default en
	tests := map[string]struct {
		chosen, iam, accept string
		want                string
	}{
		"nothing":                           {"", "", "", "en"},
		"browser only":                      {"", "", "fr-CH, fr;q=0.9, en;q=0.8", "fr"},
		"IAM locale beats the browser":      {"", "pt", "fr-FR,fr;q=0.9", "pt"},
		"IAM default defers to the browser": {"", "en", "es-MX,es;q=0.9", "es"},
		"switch beats everything":           {"es", "pt", "fr", "es"},
		"switch with a region":              {"pt-BR", "", "", "pt"},
		"unsupported switch is ignored":     {"de", "", "fr", "fr"},
		"unsupported browser languages":     {"", "", "de-DE,de;q=0.9,it;q=0.5", "en"},
		"browser order by weight":           {"", "", "es;q=0.4, pt;q=0.8", "pt"},
		"IAM default and no browser":        {"", "en", "", "en"},
		"garbage everywhere":                {"<script>", "x", ";;;q=", "en"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := c.Choose(tt.chosen, tt.iam, tt.accept); got != tt.want {
				t.Errorf("Choose(%q, %q, %q) = %q, want %q", tt.chosen, tt.iam, tt.accept, got, tt.want)
			}
		})
	}
	// With another default, the IAM's "en" is a real choice.
	es, err := c.WithDefault("es")
	if err != nil {
		t.Fatal(err)
	}
	if got := es.Choose("", "en", "fr"); got != "en" {
		t.Errorf("default es, IAM en, browser fr: %q, want en", got)
	}
}

func TestOnly(t *testing.T) {
	t.Parallel()
	c := Builtin()
	two, err := c.Only("EN", "pt_BR", "en")
	if err != nil {
		t.Fatal(err)
	}
	if got := two.Languages(); !slices.Equal(got, []string{"en", "pt"}) {
		t.Errorf("languages %v", got)
	}
	if two.Match("fr") != "en" || two.Choose("", "", "fr, pt;q=0.5") != "pt" {
		t.Error("a language left out is still served")
	}
	if got := two.LinkSMS("fr", "L"); got != two.LinkSMS("en", "L") {
		t.Errorf("SMS in a language left out: %q", got)
	}
	if !slices.Equal(c.Languages(), []string{"en", "es", "fr", "pt"}) {
		t.Error("Only changed the catalog it was called on")
	}
	if same, err := c.Only(); err != nil || same != c {
		t.Errorf("Only() = %v, %v", same, err)
	}
	for name, langs := range map[string][]string{
		"unknown language": {"en", "de"},
		"default left out": {"es", "fr"},
		"garbage":          {"en", "../x"},
	} {
		if _, err := c.Only(langs...); err == nil {
			t.Errorf("%s: Only(%v) succeeded", name, langs)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestLookupAndName(t *testing.T) {
	t.Parallel()
	c := Builtin()
	if text, ok := c.Lookup("fr-CA", "challenge.title"); !ok || text != "Confirmez votre identité" {
		t.Errorf("Lookup(fr-CA) = %q, %v", text, ok)
	}
	if _, ok := c.Lookup("en", "no.such.key"); ok {
		t.Error("Lookup found a key that does not exist")
	}
	names := map[string]string{}
	for _, l := range c.Languages() {
		names[l] = c.Name(l)
	}
	want := map[string]string{"en": "English", "es": "Español", "fr": "Français", "pt": "Português"}
	for l, n := range want {
		if names[l] != n {
			t.Errorf("Name(%s) = %q, want %q", l, names[l], n)
		}
	}
}
