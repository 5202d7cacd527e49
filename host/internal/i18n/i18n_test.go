package i18n

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// keysInCode are the keys Go code refers to; each must exist in the catalog.
var keysInCode = []Key{KeySMSEnroll, KeySMSLink}

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
			if lang != DefaultLanguage && text == en {
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
