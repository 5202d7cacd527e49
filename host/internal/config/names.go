package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Unknown names: a setting that SMS+ does not read is almost always a typo
// (HASH_SALTT, TWILIO_ACOUNT_SID) that leaves the real setting at its default.
// Such names draw a warning, not a problem: the environment of a container holds
// much else, and a Node SMS+ .env must keep starting this service.
//
// Known names are the host's settings (every key a section reader reads), their
// X_FILE forms, and the bridges': each bridge found or enabled owns the names in
// its namespace (pluginhost), and once it has been asked, exactly the settings
// it declares. Warned about are names close to a known one (edit distance), names
// under a prefix of the host's own settings (TWILIO_..., SMSPLUS_...), names in
// a bridge's namespace that it does not declare, and every unknown key of a YAML
// file, which holds nothing but SMS+ settings. Warnings name settings, never
// their values.

// Namespace is a bridge the host found or enabled, as far as it knows it.
type Namespace struct {
	ID string
	// Prefixes of the settings the bridge may read (pluginhost.Namespace): OKTA_,
	// and PINGONE_ and PING_ for pingone.
	Prefixes []string
	// Settings the bridge declares, when Declared: it was launched and asked.
	Settings []string
	Declared bool
}

// sharedSettings are settings that the bridges read, not the host
// (pluginhost.AllowedHostSettings).
var sharedSettings = []string{"default_phone_region"}

// genericWords start host settings but also many names that are not SMS+'s, so
// a name under them draws a warning only when it is close to a known one.
var genericWords = []string{"ALLOWED", "BASE", "DATA", "DEFAULT", "ENABLED", "LOCAL", "LOG", "MAX", "PAGE", "PER",
	"PORT", "RESET", "SHUTDOWN", "SUPPORTED", "TRUSTED"}

// tooling are names the project's own tooling reads (tests, CI scripts, docker
// compose's variables), not the service.
var tooling = regexp.MustCompile(`^SMSPLUS_(TEST_.*|BRIDGE_.*|FERRETDB_.*|IMAGE|HTTP_PORT|SERVICES_PORT_BASE)$`)

// kubernetesLink matches the variables Kubernetes sets for each Service (service
// links): REDIS_SERVICE_HOST, REDIS_PORT_6379_TCP_ADDR...
var kubernetesLink = regexp.MustCompile(`_SERVICE_(HOST|PORT)(_[A-Z0-9_]+)?$|_PORT_[0-9]+_(TCP|UDP|SCTP)(_(ADDR|PORT|PROTO))?$`)

// others are names other software reads under a prefix SMS+ uses.
var others = regexp.MustCompile(`^FIREBASE_(CONFIG|TOKEN|[A-Z]+_EMULATOR_HOST)$`)

// pinPrefix starts the checksum pins of bridge binaries (pluginhost.ChecksumSetting).
const pinPrefix = "PLUGIN_SHA256_"

// knownSettings is the set of the host's settings (lower case): every key the
// section readers read, whatever the store selected.
var knownSettings = sync.OnceValue(func() map[string]bool {
	dry := newReader(map[string]string{}, nil)
	new(Config).read(dry)
	dry.redis()
	dry.mongo()
	dry.firestore()
	for _, s := range sharedSettings {
		dry.read[s] = true
	}
	return dry.read
})

func (c *Config) known() map[string]bool { return c.knownKeys }

// Warnings lists what is suspicious but does not stop SMS+: unknown setting
// names and public development secrets. bridges are the bridges found or
// enabled; the enabled ones are added when missing.
func (c *Config) Warnings(bridges ...Namespace) []string {
	bridges = c.withEnabled(bridges)
	out := slices.Clone(c.warnings)
	for _, key := range slices.Sorted(maps.Keys(c.from)) {
		if w := c.unknown(key, bridges); w != "" {
			out = append(out, w)
		}
	}
	return out
}

func (c *Config) withEnabled(bridges []Namespace) []Namespace {
	for _, id := range c.EnabledBridges {
		if !slices.ContainsFunc(bridges, func(b Namespace) bool { return b.ID == id }) {
			bridges = append(bridges, Namespace{ID: id, Prefixes: []string{strings.ToUpper(strings.ReplaceAll(id, "-", "_")) + "_"}})
		}
	}
	return bridges
}

// unknown is the warning about the setting key, or "".
func (c *Config) unknown(key string, bridges []Namespace) string {
	n, base := envName(key), strings.TrimSuffix(key, fileSuffix)
	if c.knownKeys[key] || c.knownKeys[base] || c.foreign(key) {
		return ""
	}
	where := n + " (" + c.from[key] + ")"
	if id, ok := strings.CutPrefix(n, pinPrefix); ok {
		return pinWarning(where, id, bridges)
	}
	if b, ok := c.owner(envName(base), bridges); ok {
		return b.undeclared(where, n, envName(base), c.candidates(bridges))
	}
	if s := nearest(n, c.candidates(bridges)); s != "" {
		return where + ": not a setting SMS+ knows; did you mean " + s + "?"
	}
	if strings.HasPrefix(c.from[key], "config file") || c.family(n) {
		return where + ": not a setting SMS+ knows (configs/.env.example lists them all)"
	}
	return ""
}

// foreign says whether key is a name that others set: Kubernetes' service
// links, the project's tooling, other software under a prefix of SMS+'s.
func (c *Config) foreign(key string) bool {
	n := envName(key)
	return kubernetesLink.MatchString(n) || tooling.MatchString(n) || others.MatchString(n) ||
		strings.HasSuffix(n, "_PORT") && serviceLinkHint(c.raw[key]) != ""
}

// pinWarning warns about a checksum pin of a bridge neither found nor enabled.
func pinWarning(where, id string, bridges []Namespace) string {
	id = strings.ToLower(strings.ReplaceAll(id, "_", "-"))
	var pins []string
	for _, b := range bridges {
		if b.ID == id {
			return ""
		}
		pins = append(pins, pinPrefix+strings.ToUpper(strings.ReplaceAll(b.ID, "-", "_")))
	}
	w := fmt.Sprintf("%s: pins bridge %s, which is neither found nor enabled", where, id)
	if s := nearest(pinPrefix+strings.ToUpper(strings.ReplaceAll(id, "-", "_")), pins); s != "" {
		w += "; did you mean " + s + "?"
	}
	return w
}

// owner is the bridge whose namespace holds name: the longest prefix wins. A
// name under a word of the host's settings is never a bridge's.
func (c *Config) owner(name string, bridges []Namespace) (Namespace, bool) {
	if word, _, _ := strings.Cut(name, "_"); slices.Contains(c.hostWords(), word) {
		return Namespace{}, false
	}
	var best Namespace
	longest := 0
	for _, b := range bridges {
		for _, p := range b.Prefixes {
			if strings.HasPrefix(name, p) && len(p) > longest {
				best, longest = b, len(p)
			}
		}
	}
	return best, longest > 0
}

// undeclared warns about name (base without _FILE) in b's namespace when b
// declares neither. The suggestion is b's closest setting, or else the closest
// of all (others): OKTA_PREVEIW_SHARED_SECRET falls in okta's namespace but is
// meant for the instance okta-preview's OKTA_PREVIEW_SHARED_SECRET.
func (b Namespace) undeclared(where, name, base string, others []string) string {
	if !b.Declared || slices.Contains(b.Settings, base) || slices.Contains(b.Settings, name) {
		return ""
	}
	w := where + ": bridge " + b.ID + " does not read this setting"
	s := nearest(name, withFileForms(b.Settings))
	if s == "" {
		s = nearest(name, others)
	}
	if s != "" {
		w += "; did you mean " + s + "?"
	}
	return w
}

// hostWords are the first words of the host's settings, and SMSPLUS.
func (c *Config) hostWords() []string {
	words := []string{"SMSPLUS"}
	for key := range c.knownKeys {
		word, _, _ := strings.Cut(envName(key), "_")
		if !slices.Contains(words, word) {
			words = append(words, word)
		}
	}
	return words
}

// family says whether name starts with a word only SMS+ settings start with.
func (c *Config) family(name string) bool {
	word, _, ok := strings.Cut(name, "_")
	return ok && slices.Contains(c.hostWords(), word) && !slices.Contains(genericWords, word)
}

// candidates are the names a typo may be meant for: the host's settings and the
// bridges' declared ones, with their _FILE forms.
func (c *Config) candidates(bridges []Namespace) []string {
	var names []string
	for key := range c.knownKeys {
		names = append(names, envName(key))
	}
	for _, b := range bridges {
		names = append(names, b.Settings...)
	}
	slices.Sort(names)
	return withFileForms(names)
}

func withFileForms(names []string) []string {
	out := slices.Clone(names)
	for _, n := range names {
		out = append(out, n+strings.ToUpper(fileSuffix))
	}
	return out
}

// nearest is the candidate closest to name within a distance that a typo makes
// (none for names under 5 characters, 1 under 10, else 2), or "".
func nearest(name string, candidates []string) string {
	limit := 2
	switch {
	case len(name) < 5:
		return ""
	case len(name) < 10:
		limit = 1
	}
	best, bestD := "", limit+1
	for _, cand := range candidates {
		if d := distance(name, cand); d > 0 && d < bestD {
			best, bestD = cand, d
		}
	}
	return best
}

// distance is the optimal string alignment distance between a and b: the
// insertions, deletions, substitutions and swaps of neighbours that turn a into b.
func distance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
