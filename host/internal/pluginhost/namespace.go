package pluginhost

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// A plugin is a separate trust domain. It receives the value of every setting it
// declares in Info, so which settings it may declare is the host's decision, never
// the plugin's. A bridge may read:
//
//   - the settings in its namespace: its id upper-cased with '-' as '_', then '_'
//     (okta: OKTA_..., okta-preview: OKTA_PREVIEW_...);
//   - for a bridge SMS+ ships whose setting names predate that rule, the legacy
//     prefix in legacyPrefixes (pingone: PING_...);
//   - the settings in AllowedHostSettings: host settings that are not secret.
//
// Two exceptions keep namespaces disjoint:
//
//   - a name under a longer prefix of another bridge belongs to that bridge:
//     OKTA_PREVIEW_SHARED_SECRET is okta-preview's, not okta's;
//   - a name that starts with a word the host uses for its own settings (HASH_,
//     DATA_, TWILIO_, REDIS_, ...) is never a bridge's: a bridge named "twilio" or
//     "data-encryption" would otherwise read TWILIO_API_SECRET or
//     DATA_ENCRYPTION_KEY.
//
// A plugin that declares anything else is refused at launch, before Configure:
// it never receives a value.

// AllowedHostSettings are the host settings every bridge may read. Only settings
// that are not secret belong here: a bridge is third-party code.
var AllowedHostSettings = []string{
	"DEFAULT_PHONE_REGION", // sdk/phone: the region of numbers sent without a country code
}

// legacyPrefixes are extra namespaces of bridges SMS+ ships, for setting names
// that operators of the Node SMS+ already have in their .env and must keep
// (DESIGN: every seed variable keeps its name). The table is the host's and fixed:
// a prefix the plugin declared itself would let any plugin claim HASH_ or OKTA_.
// Only shipped bridges are listed; a new bridge uses its id's namespace.
var legacyPrefixes = map[string][]string{
	"pingone": {"PING_"}, // PING_SHARED_SECRET, PING_USERNAME, PING_AUTH_HEADER
}

// hostWords are the first words of the host's own setting names (see
// host/internal/config; TestHostWordsCoverTheConfig keeps the two in step).
// Whole words are reserved rather than today's names, so that a host setting
// added later never falls into a bridge's namespace by accident. AWS is no
// setting of the config's: the AWS SDK reads AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from the environment itself, as
// the SNS provider's credentials, and a bridge named aws would get them.
var hostWords = []string{
	"ALLOWED", "AWS", "BASE", "BIOMETRICS", "CHALLENGE", "DATA", "DEFAULT", "ENABLED", "FIREBASE", "FIRESTORE",
	"GOOGLE", "HASH", "HOOK", "LOCAL", "LOCKOUT", "LOG", "MAX", "METRICS", "MONGO", "NOTICE", "PAGE", "PER",
	"PLUGIN", "PORT", "PPROF", "REDIS", "REFUSED", "RESET", "SHUTDOWN", "SMS", "SMSPLUS", "SUPPORTED", "TRUSTED",
	"TWILIO", "TYPINGDNA", "VOICE",
}

// SettingsPrefix is the namespace of bridge id: OKTA_ for okta, OKTA_PREVIEW_ for
// okta-preview.
func SettingsPrefix(id string) string {
	return strings.ToUpper(strings.ReplaceAll(id, "-", "_")) + "_"
}

// namespace returns every prefix bridge id may read settings under.
func namespace(id string) []string {
	return append([]string{SettingsPrefix(id)}, legacyPrefixes[id]...)
}

// claim says that the settings under prefix belong to bridge id.
type claim struct {
	prefix string
	id     string
	legacy bool
}

// settingsRule decides which settings each bridge may read.
type settingsRule struct {
	ids []string
	// claims of every bridge the host knows of, longest prefix first, so that the
	// first claim matching a name is its owner.
	claims []claim
	// reserved are setting prefixes the host reads for others than bridges
	// (Options.Reserved): prefix → whose they are.
	reserved map[string]string
}

// newSettingsRule knows the bridges ids and the shipped bridges' legacy prefixes.
// Every bridge found on disk or enabled should be among ids, so that no bridge
// reads another's settings, even one that is installed but not enabled.
// reserved are the prefixes no bridge may read (Options.Reserved).
func newSettingsRule(ids []string, reserved map[string]string) settingsRule {
	r := settingsRule{reserved: reserved}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || !validID(id) {
			continue
		}
		seen[id] = true
		r.ids = append(r.ids, id)
		r.claims = append(r.claims, claim{prefix: SettingsPrefix(id), id: id})
	}
	for id, prefixes := range legacyPrefixes {
		for _, p := range prefixes {
			r.claims = append(r.claims, claim{prefix: p, id: id, legacy: true})
		}
	}
	// Longest prefix first; on a tie the legacy claim wins, so that a new bridge
	// named "ping" cannot read PingOne's PING_SHARED_SECRET.
	sort.SliceStable(r.claims, func(i, j int) bool {
		a, b := r.claims[i], r.claims[j]
		if len(a.prefix) != len(b.prefix) {
			return len(a.prefix) > len(b.prefix)
		}
		return a.legacy && !b.legacy
	})
	return r
}

// check returns an error naming every setting bridge id declares but may not
// read, and the rule; nil when all are allowed.
func (r settingsRule) check(id string, declared []bridge.Setting) error {
	if !slices.Contains(r.ids, id) {
		r = newSettingsRule(append(slices.Clone(r.ids), id), r.reserved)
	}
	var bad []string
	for _, s := range declared {
		if why := r.refusal(id, s.Name); why != "" && !slices.Contains(bad, why) {
			bad = append(bad, why)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	var own []string
	for _, p := range namespace(id) {
		own = append(own, p+"*")
	}
	return fmt.Errorf("declares settings outside its namespace: %s. A bridge may read only the settings named %s and %s; "+
		"refused before any value was passed to it", strings.Join(bad, ", "), strings.Join(own, " or "),
		strings.Join(AllowedHostSettings, ", "))
}

// refusal says why bridge id may not read the setting name, or "" if it may.
func (r settingsRule) refusal(id, name string) string {
	if slices.Contains(AllowedHostSettings, name) {
		return ""
	}
	if !validSettingName(name) {
		return fmt.Sprintf("%q (not an upper-case setting name)", name)
	}
	if word, _, _ := strings.Cut(name, "_"); slices.Contains(hostWords, word) {
		return name + " (a host setting)"
	}
	if owner := r.reservedOwner(name); owner != "" {
		return name + " (" + owner + "'s)"
	}
	for _, c := range r.claims {
		if strings.HasPrefix(name, c.prefix) {
			if c.id == id {
				return ""
			}
			return name + " (bridge " + c.id + "'s)"
		}
	}
	return name
}

// validSettingName accepts the flat environment names settings have. Anything
// else is refused, not normalized: the configuration answers names in any case,
// so "hash_salt" would read HASH_SALT.
func validSettingName(name string) bool {
	if name == "" || name[0] < 'A' || name[0] > 'Z' {
		return false
	}
	for _, c := range name {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validID accepts the ids ENABLED_BRIDGES accepts: lower-case letters, digits
// and '-' (not first).
func validID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for i, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0) {
			return false
		}
	}
	return true
}

// checkInstance returns an error naming every setting that bridge id, a named
// instance of plugin, would read under a name it may not (settings: plugin's
// declared ones under the instance's names, named.go); nil when all are
// allowed. It happens when another bridge's namespace lies within the
// instance's: with the instances okta-preview and okta-preview-oauth of okta,
// the first would read OKTA_PREVIEW_OAUTH_ISSUER, in the second's namespace.
func (r settingsRule) checkInstance(id, plugin string, settings []bridge.Setting) error {
	if id == plugin {
		return nil
	}
	if !slices.Contains(r.ids, id) {
		r = newSettingsRule(append(slices.Clone(r.ids), id), r.reserved)
	}
	var bad []string
	for _, s := range settings {
		if why := r.refusal(id, s.Name); why != "" && !slices.Contains(bad, why) {
			bad = append(bad, why)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("as a named instance of plugin %s, bridge %s would read %s, outside its namespace %s*; choose another id. "+
		"Refused before any value was passed to it", plugin, id, strings.Join(bad, ", "), SettingsPrefix(id))
}

// reservedOwner is whose reserved prefix name starts with, or "".
func (r settingsRule) reservedOwner(name string) string {
	for _, p := range slices.Sorted(maps.Keys(r.reserved)) {
		if strings.HasPrefix(name, p) {
			return r.reserved[p]
		}
	}
	return ""
}
