package host_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// TestDocsTimeoutTableMatchesDeadlines: the one table of timeouts, retries and
// failover in docs/bridges.md states, for each vendor, the deadline its bridge
// declares (the plugin's Info, exported as smsplus_bridge_deadline_seconds and
// drawn on the dashboard). It is read here from the running plugins, so the
// table cannot drift from the code.
func TestDocsTimeoutTableMatchesDeadlines(t *testing.T) {
	skipShort(t)
	root, err := e2e.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "bridges.md"))
	if err != nil {
		t.Fatal(err)
	}
	header, rows := markdownTable(t, string(doc), "## Timeouts, retries and failover, per vendor")
	col := -1
	for i, h := range header {
		if strings.Contains(h, "smsplus_bridge_deadline_seconds") {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("the table has no column for the bridge's deadline (smsplus_bridge_deadline_seconds): %q", header)
	}

	s := e2e.Shipped(t).Start(t, "ENABLED_BRIDGES="+strings.Join(e2e.ShippedBridges, ","), "PINGONE_ALLOW_GET=true")
	m := s.Metrics(t)
	// Each row names its vendor first; a vendor may have several rows (Auth0's
	// Action and legacy gateway are one bridge).
	vendors := map[string]string{"okta": "Okta", "auth0": "Auth0", "pingone": "PingOne", "fusionauth": "FusionAuth", "cyberark": "CyberArk"}
	for _, id := range e2e.ShippedBridges {
		deadline, ok := m.Lookup("smsplus_bridge_deadline_seconds", "bridge", id)
		if !ok {
			t.Fatalf("no smsplus_bridge_deadline_seconds for %s", id)
		}
		want := fmt.Sprintf("%g s", deadline)
		found := 0
		for _, r := range rows {
			if !strings.HasPrefix(r[0], vendors[id]) {
				continue
			}
			found++
			if col >= len(r) || !strings.HasPrefix(r[col], want) {
				t.Errorf("docs/bridges.md, %s: the deadline column says %q; the bridge declares %s", r[0], r[min(col, len(r)-1)], want)
			}
		}
		if found == 0 {
			t.Errorf("docs/bridges.md: no row for %s (%s)", vendors[id], id)
		}
	}
}

// markdownTable returns the cells of the first table after the heading line.
func markdownTable(t *testing.T, doc, heading string) (header []string, rows [][]string) {
	t.Helper()
	_, after, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("no heading %q", heading)
	}
	cells := func(line string) []string {
		parts := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts
	}
	in := false
	for line := range strings.Lines(after) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if in {
				break
			}
			continue
		}
		switch {
		case !in:
			header, in = cells(line), true
		case strings.HasPrefix(line, "| ---") || strings.HasPrefix(line, "|---"):
		default:
			rows = append(rows, cells(line))
		}
	}
	if len(rows) == 0 {
		t.Fatalf("no table after %q", heading)
	}
	return header, rows
}
