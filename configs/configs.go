// Package configs embeds sample vendor payloads, fixed bytes for the tests that
// alter a vendor's own call (host/attack) and for the browser test. (The other
// end-to-end tests and `smsplus simulate` ask each bridge's plugin for its
// example.)
package configs

import (
	"embed"
	"fmt"
)

//go:embed samples/*.json
var samples embed.FS

// Sample returns the example payload of a vendor, with {{PLACEHOLDERS}} unfilled.
func Sample(vendor string) ([]byte, error) {
	b, err := samples.ReadFile("samples/" + vendor + ".json")
	if err != nil {
		return nil, fmt.Errorf("no sample payload for %q", vendor)
	}
	return b, nil
}
