package host_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// TestEveryBridgeSettingIsDocumented: every setting a shipped bridge declares
// (as `smsplus plugins` lists them, from each plugin's Info) is in
// configs/.env.example and on its vendor's page, docs/<id>.md. Another name
// for a setting ("Another name for ...") is covered by the .env.example's
// note that <ID>_SHARED_SECRET works for every bridge.
func TestEveryBridgeSettingIsDocumented(t *testing.T) {
	skipShort(t)
	bin := e2e.Shipped(t)
	root, err := e2e.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	read := func(rel string) string {
		raw, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	example := read("configs/.env.example")
	code, out := bin.Run(t, []string{"PATH=" + os.Getenv("PATH"), "PLUGIN_DIR=" + bin.PluginDir}, "plugins")
	if code != 0 {
		t.Logf("smsplus plugins exited %d", code) // no server answers; the listing is all we read
	}
	header := regexp.MustCompile(`^([a-z0-9-]+) \(.*\) reads:$`)
	setting := regexp.MustCompile(`^  ([A-Z][A-Z0-9_]*) +(required|optional)`)
	named := func(text, name string) bool {
		return regexp.MustCompile(`(^|[^A-Z0-9_])` + name + `([^A-Z0-9_]|$)`).MatchString(text)
	}
	seen := map[string]int{}
	id := ""
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		if m := header.FindStringSubmatch(line); m != nil {
			id = m[1]
			continue
		}
		m := setting.FindStringSubmatch(line)
		if m == nil || id == "" {
			continue
		}
		seen[id]++
		name := m[1]
		if strings.Contains(line, "Another name for") {
			continue
		}
		if !named(example, name) {
			t.Errorf("configs/.env.example does not name %s (bridge %s)", name, id)
		}
		if name != "DEFAULT_PHONE_REGION" && !named(read("docs/"+id+".md"), name) {
			t.Errorf("docs/%s.md does not name %s", id, name)
		}
	}
	for _, id := range e2e.ShippedBridges {
		if seen[id] == 0 {
			t.Errorf("smsplus plugins lists no setting of %s:\n%s", id, out)
		}
	}
}
