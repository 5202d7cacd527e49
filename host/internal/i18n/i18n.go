// Package i18n holds the texts SMS+ shows or sends to end users, in several
// languages, and picks the language for a locale or an Accept-Language header.
//
// A catalog is one JSON file per language, a flat object from key to text:
//
//	{"sms.enroll": "Your sign-in code is {code}. ...", "sms.link": "..."}
//
// Texts name their arguments in braces ({code}, {link}) so that a translation may
// put them in any order. The default language's file is the reference: every
// other file must have exactly its keys, with the same placeholders, or the
// catalog does not load. The "sms.*" keys are the text messages; the others are
// the challenge page's (package web names the keys it uses, web.TextKeys).
//
// Which language a page is shown in is Catalog.Choose; docs/page.md explains the
// order.
package i18n

import (
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Key names a text.
type Key string

// Keys the host uses.
const (
	// KeySMSEnroll is the SMS for a user who is still enrolling: the code itself
	// and the link to the page that collects typing samples. Args: code, link.
	KeySMSEnroll Key = "sms.enroll"
	// KeySMSLink is the SMS for an enrolled user: the link only; the page reveals
	// the code after the typing check. Args: link.
	KeySMSLink Key = "sms.link"
	// KeyLangName is a language's own name ("Español"), for the page's language
	// switch.
	KeyLangName Key = "lang.name"
)

// DefaultLanguage is the built-in catalog's default and reference language.
const DefaultLanguage = "en"

// Catalog holds the texts of several languages. It is read-only once loaded and
// safe for concurrent use.
type Catalog struct {
	def   string
	langs []string                  // sorted
	texts map[string]map[Key]string // lang -> key -> text
}

var (
	langName    = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})?$`)
	placeholder = regexp.MustCompile(`\{[a-z_]+\}`)
)

// Load reads every <lang>.json at the top of fsys ("en.json", "pt-br.json") and
// checks them against def's file. All problems are reported together.
func Load(fsys fs.FS, def string) (*Catalog, error) {
	def = normalize(def)
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("list catalogs: %w", err)
	}
	c := &Catalog{def: def, texts: map[string]map[Key]string{}}
	var problems []error
	for _, name := range names {
		lang := strings.TrimSuffix(path.Base(name), ".json")
		if !langName.MatchString(lang) {
			problems = append(problems, fmt.Errorf("%s: the file name must be a lower-case language tag such as en.json or pt-br.json", name))
			continue
		}
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", name, err))
			continue
		}
		var texts map[Key]string
		if err := json.Unmarshal(raw, &texts); err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", name, err))
			continue
		}
		c.texts[lang] = texts
	}
	ref, ok := c.texts[def]
	if !ok {
		return nil, errors.Join(append(problems, fmt.Errorf("default language %q: no %s.json", def, def))...)
	}
	for _, lang := range slices.Sorted(maps.Keys(c.texts)) {
		problems = append(problems, check(lang, c.texts[lang], ref)...)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	c.langs = slices.Sorted(maps.Keys(c.texts))
	return c, nil
}

// check compares one language's texts with the reference language's.
func check(lang string, texts, ref map[Key]string) []error {
	var problems []error
	for _, k := range slices.Sorted(maps.Keys(ref)) {
		t, ok := texts[k]
		switch {
		case !ok:
			problems = append(problems, fmt.Errorf("%s.json: key %q is missing", lang, k))
		case strings.TrimSpace(t) == "":
			problems = append(problems, fmt.Errorf("%s.json: key %q is empty", lang, k))
		case !slices.Equal(placeholders(t), placeholders(ref[k])):
			problems = append(problems, fmt.Errorf("%s.json: key %q has placeholders %v, want %v", lang, k, placeholders(t), placeholders(ref[k])))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(texts)) {
		if _, ok := ref[k]; !ok {
			problems = append(problems, fmt.Errorf("%s.json: key %q is not in the default language", lang, k))
		}
	}
	return problems
}

// placeholders returns the distinct placeholders of a text, sorted.
func placeholders(text string) []string {
	ps := placeholder.FindAllString(text, -1)
	slices.Sort(ps)
	return slices.Compact(ps)
}

// Default returns the catalog's default language.
func (c *Catalog) Default() string { return c.def }

// Languages returns the catalog's languages, sorted.
func (c *Catalog) Languages() []string { return slices.Clone(c.langs) }

// WithDefault returns the catalog with another default language, matched like
// Match ("pt_BR" -> "pt"). It fails when the catalog has no such language.
func (c *Catalog) WithDefault(lang string) (*Catalog, error) {
	l, ok := c.lookup(normalize(lang))
	if !ok {
		return nil, fmt.Errorf("language %q: not one of %s", lang, strings.Join(c.langs, ", "))
	}
	cc := *c
	cc.def = l
	return &cc, nil
}

// Only returns the catalog restricted to langs (SUPPORTED_LANGUAGES), each
// matched like Match ("pt-BR" -> "pt"). No langs: the catalog as it is. It fails
// when a language has no texts or the default language is not among them.
func (c *Catalog) Only(langs ...string) (*Catalog, error) {
	if len(langs) == 0 {
		return c, nil
	}
	keep := map[string]map[Key]string{}
	var problems []error
	for _, tag := range langs {
		l, ok := c.lookup(normalize(tag))
		if !ok {
			problems = append(problems, fmt.Errorf("language %q: no texts (available: %s)", tag, strings.Join(c.langs, ", ")))
			continue
		}
		keep[l] = c.texts[l]
	}
	if _, ok := keep[c.def]; !ok {
		problems = append(problems, fmt.Errorf("the default language %q must be one of them", c.def))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return &Catalog{def: c.def, texts: keep, langs: slices.Sorted(maps.Keys(keep))}, nil
}

// Choose picks the language of the challenge page. In order:
//
//  1. chosen: the language the user picked with the page's language switch;
//  2. iam: the challenge's language (from the IAM's locale, which the text
//     message was written in) when it is not just the default language;
//  3. acceptLanguage: the browser's Accept-Language header;
//  4. the default language.
//
// The challenge language falls back to the default when the IAM sends no locale,
// so a default there says nothing about the user and the browser's preference is
// the better guide. Each is matched like Match; unsupported values are skipped.
func (c *Catalog) Choose(chosen, iam, acceptLanguage string) string {
	if l, ok := c.lookup(normalize(chosen)); ok {
		return l
	}
	if l, ok := c.lookup(normalize(iam)); ok && l != c.def {
		return l
	}
	for _, tag := range parseAcceptLanguage(acceptLanguage) {
		if l, ok := c.lookup(tag); ok {
			return l
		}
	}
	return c.def
}

// Lookup returns the text for key in lang (matched like Match), without
// placeholders filled, and whether the catalog has it. The page renders with
// Lookup so that a missing key fails loudly instead of showing the key.
func (c *Catalog) Lookup(lang string, key Key) (string, bool) {
	text, ok := c.texts[c.Match(lang)][key]
	return text, ok
}

// Name returns lang's own name ("Français"), or lang itself without one.
func (c *Catalog) Name(lang string) string {
	if text, ok := c.texts[lang][KeyLangName]; ok {
		return text
	}
	return lang
}

// Match returns the catalog language that best serves prefs, each a locale
// ("EN-US", "pt_BR") or an Accept-Language value ("fr-CH, fr;q=0.9, en;q=0.8"),
// tried in order; the default when none is served.
func (c *Catalog) Match(prefs ...string) string {
	for _, p := range prefs {
		for _, tag := range parseAcceptLanguage(p) {
			if l, ok := c.lookup(tag); ok {
				return l
			}
		}
	}
	return c.def
}

// lookup finds a normalized tag: exactly, by its base language ("pt-br" -> "pt"),
// or as the base of a regional catalog ("pt" -> "pt-br").
func (c *Catalog) lookup(tag string) (string, bool) {
	if tag == "" {
		return "", false
	}
	if _, ok := c.texts[tag]; ok {
		return tag, true
	}
	base, _, _ := strings.Cut(tag, "-")
	if _, ok := c.texts[base]; ok {
		return base, true
	}
	for _, l := range c.langs {
		if strings.HasPrefix(l, base+"-") {
			return l, true
		}
	}
	return "", false
}

// T returns the text for key in lang (matched like Match), with each
// {name} replaced by the value following name in args:
//
//	c.T("pt-BR", KeySMSLink, "link", url)
//
// An unknown key yields the key itself, so that a missing text shows up instead
// of an empty string.
func (c *Catalog) T(lang string, key Key, args ...string) string {
	text, ok := c.texts[c.Match(lang)][key]
	if !ok {
		return string(key)
	}
	if len(args) == 0 {
		return text
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+args[i]+"}", args[i+1])
	}
	// One pass: a value that happens to contain "{link}" is not expanded again.
	return strings.NewReplacer(pairs...).Replace(text)
}

// normalize lower-cases a tag and turns "_" into "-": "pt_BR" -> "pt-br".
func normalize(tag string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-"))
}

// maxPrefs bounds the work a hostile Accept-Language header can cause.
const maxPrefs = 16

// parseAcceptLanguage returns the tags of an Accept-Language value (or of a
// single locale), normalized, best first; q=0 and "*" are dropped.
func parseAcceptLanguage(v string) []string {
	type pref struct {
		tag string
		q   float64
	}
	var prefs []pref
	for part := range strings.SplitSeq(v, ",") {
		if len(prefs) == maxPrefs {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		tag = normalize(tag)
		if tag == "" || tag == "*" {
			continue
		}
		q := 1.0
		for param := range strings.SplitSeq(params, ";") {
			name, val, _ := strings.Cut(param, "=")
			if strings.TrimSpace(name) != "q" {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil || f < 0 || f > 1 {
				f = 0 // a malformed weight: ignore the tag rather than guess
			}
			q = f
		}
		if q == 0 {
			continue
		}
		prefs = append(prefs, pref{tag, q})
	}
	slices.SortStableFunc(prefs, func(a, b pref) int { return cmp.Compare(b.q, a.q) })
	tags := make([]string, len(prefs))
	for i, p := range prefs {
		tags[i] = p.tag
	}
	return tags
}

//go:embed locales/*.json
var locales embed.FS

// Builtin returns the catalog shipped with SMS+ (locales/*.json), default "en".
// It panics if those files are inconsistent, which the package's tests rule out.
func Builtin() *Catalog { return builtin() }

var builtin = sync.OnceValue(func() *Catalog {
	sub, err := fs.Sub(locales, "locales")
	if err != nil {
		panic(err)
	}
	c, err := Load(sub, DefaultLanguage)
	if err != nil {
		panic("i18n: built-in catalog: " + err.Error())
	}
	return c
})
