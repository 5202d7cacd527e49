package pluginhost

import (
	"fmt"
	"slices"
	"strings"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// Named instances: an operator runs one plugin under several bridge ids, e.g.
// ENABLED_BRIDGES=okta,okta-preview=okta for a production and a preview Okta
// org. Each instance is a bridge of its own: its route (/hooks/okta-preview),
// its settings namespace (OKTA_PREVIEW_...), its process, its label in metrics
// and audit. The plugin's code is unchanged: it declares and reads its own names
// (OKTA_SHARED_SECRET), and the host answers each name with the instance's
// setting of the same suffix (OKTA_PREVIEW_SHARED_SECRET), never with another
// bridge's: an unset instance setting stays unset, nothing is inherited.
//
// Names are mapped by prefix: the plugin's namespace prefix (OKTA_) becomes the
// instance's (OKTA_PREVIEW_). A shipped plugin's legacy prefix (PingOne's PING_)
// maps the same way, unless the name it gives is also the mapping of a name
// under the plugin's own prefix (PING_SHARED_SECRET and PINGONE_SHARED_SECRET are
// aliases): then only the latter is answered. AllowedHostSettings are shared by
// every bridge and keep their names.

// renaming maps the settings a plugin declares to the names bridge id reads them
// under.
type renaming struct {
	id, plugin string
	// names maps each declared name to the instance's name for it; a declared
	// name mapped to "" is never answered.
	names map[string]string
}

// newRenaming maps declared, the settings plugin declares, for bridge id.
// For id == plugin every name is its own.
func newRenaming(id, plugin string, declared []bridge.Setting) renaming {
	r := renaming{id: id, plugin: plugin, names: map[string]string{}}
	for _, s := range declared {
		r.names[s.Name] = s.Name
	}
	if id == plugin {
		return r
	}
	to := SettingsPrefix(id)
	taken := map[string]bool{}
	// The plugin's own prefix first, so that its names win over legacy aliases.
	for _, prefixes := range [][]string{{SettingsPrefix(plugin)}, legacyPrefixes[plugin]} {
		for _, s := range declared {
			if slices.Contains(AllowedHostSettings, s.Name) {
				continue
			}
			for _, p := range prefixes {
				rest, ok := strings.CutPrefix(s.Name, p)
				if !ok || r.names[s.Name] != s.Name {
					continue
				}
				if name := to + rest; !taken[name] {
					r.names[s.Name], taken[name] = name, true
				} else {
					r.names[s.Name] = ""
				}
			}
		}
	}
	// A name in neither namespace: the settings rule refuses the plugin; it is
	// never answered whatever happens.
	for _, s := range declared {
		if r.names[s.Name] == s.Name && id != plugin && !slices.Contains(AllowedHostSettings, s.Name) {
			r.names[s.Name] = ""
		}
	}
	return r
}

// settings are the declared settings under the instance's names, their
// descriptions renamed too; the ones never answered are left out.
func (r renaming) settings(declared []bridge.Setting) []bridge.Setting {
	out := make([]bridge.Setting, 0, len(declared))
	for _, s := range declared {
		if name := r.names[s.Name]; name != "" {
			s.Name, s.Description = name, r.text(s.Description)
			out = append(out, s)
		}
	}
	return out
}

// text renames the plugin's setting names in a text the plugin wrote (a
// description, a Configure problem), so that it names what the operator sets:
// "OKTA_SHARED_SECRET is required" becomes "OKTA_PREVIEW_SHARED_SECRET is
// required" for okta-preview. Whole words only; any other word under the
// plugin's prefix (OKTA_OAUTH_, in "any OKTA_OAUTH_ setting") gets the
// instance's prefix.
func (r renaming) text(s string) string {
	if r.id == r.plugin {
		return s
	}
	var b strings.Builder
	word := func(c byte) bool { return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' }
	for i := 0; i < len(s); {
		if !word(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && word(s[j]) {
			j++
		}
		w := s[i:j]
		if name, ok := r.names[w]; ok && name != "" {
			w = name
		} else if rest, ok := strings.CutPrefix(w, SettingsPrefix(r.plugin)); ok {
			w = SettingsPrefix(r.id) + rest
		}
		b.WriteString(w)
		i = j
	}
	return b.String()
}

// InstanceSettings are the settings bridge id, a named instance of plugin, reads:
// plugin's declared settings under the instance's names. For id == plugin they
// are declared as is.
func InstanceSettings(id, plugin string, declared []bridge.Setting) []bridge.Setting {
	return newRenaming(id, plugin, declared).settings(declared)
}

// instanceProblem says why bridge id may not run plugin under its own id, or "".
// found are the plugin binaries found.
func instanceProblem(id, plugin string, found map[string]Found, rule settingsRule) string {
	if id == plugin {
		return ""
	}
	if f, ok := found[id]; ok {
		return fmt.Sprintf("bridge %s is a named instance of plugin %s, but a plugin named %s is installed too (%s): "+
			"an instance may not take another plugin's name (its route and settings); choose another id", id, plugin, id, f.Path)
	}
	if word, _, _ := strings.Cut(SettingsPrefix(id), "_"); slices.Contains(hostWords, word) {
		return fmt.Sprintf("bridge %s (a named instance of plugin %s): its settings would be named %s..., and names that "+
			"start with %s_ are the host's; choose another id", id, plugin, SettingsPrefix(id), word)
	}
	if owner := rule.reservedOwner(SettingsPrefix(id)); owner != "" {
		return fmt.Sprintf("bridge %s (a named instance of plugin %s): its settings would be named %s..., which are %s's; "+
			"choose another id", id, plugin, SettingsPrefix(id), owner)
	}
	return ""
}
