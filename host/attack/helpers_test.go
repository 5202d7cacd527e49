package attack_test

import (
	"fmt"
	"sort"
	"strings"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// brief names what a vendor was told, in a few words: Okta's status or error
// reason, another bridge's status or error code.
func brief(bridge string, a e2e.Answer) string {
	if bridge == "okta" {
		if st := a.OktaStatus(); st != "" {
			return fmt.Sprintf("HTTP %d %s", a.Status, st)
		}
		if r := a.OktaReason(); r != "" {
			return fmt.Sprintf("HTTP %d error %s", a.Status, r)
		}
		return a.String()
	}
	m := a.JSON()
	if m == nil {
		return a.String()
	}
	if e, ok := m["error"].(string); ok && e != "" {
		return fmt.Sprintf("HTTP %d error %s", a.Status, e)
	}
	if st, ok := m["status"].(string); ok {
		return fmt.Sprintf("HTTP %d %s", a.Status, st)
	}
	return a.String()
}

// tally counts equal strings: "3x a, 1x b".
func tally(items []string) string {
	n := map[string]int{}
	for _, it := range items {
		n[it]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%dx %s", n[k], k)
	}
	return strings.Join(parts, "; ")
}
