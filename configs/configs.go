// Package configs embeds the sample vendor payloads that `smsplus simulate` posts.
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
