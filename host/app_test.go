package host

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/config"
)

// Codes and profiles are sealed with no setting beyond the required HASH_SALT,
// and setting DATA_ENCRYPTION_KEY later keeps what was sealed before readable.
func TestSealedByDefault(t *testing.T) {
	t.Parallel()
	derivedOnly, err := newSealer(&config.Config{Core: config.Core{HashSalt: "salt"}})
	if err != nil || !derivedOnly.Encrypted() {
		t.Fatalf("without DATA_ENCRYPTION_KEY values must still be encrypted (err %v)", err)
	}
	old := derivedOnly.Seal([]byte("123456"), "challenge:x")
	withKey, err := newSealer(&config.Config{Core: config.Core{HashSalt: "salt"}, Storage: config.Storage{DataKey: bytes.Repeat([]byte{3}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := withKey.Open(old, "challenge:x"); err != nil || string(got) != "123456" {
		t.Fatalf("value sealed before DATA_ENCRYPTION_KEY was set: %q, %v", got, err)
	}
	otherSalt, _ := newSealer(&config.Config{Core: config.Core{HashSalt: "other"}})
	if _, err := otherSalt.Open(old, "challenge:x"); err == nil {
		t.Fatal("a key derived from another salt opened the value")
	}
}

// serve logs the warnings at start, and refuses a bridge's placeholder secret
// the configuration did not catch (checked in check-config's test).
func TestServeLogsConfigWarnings(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(config.Sources{Environ: []string{"HASH_SALT=pepper", "HASH_SALTT=pepper",
		"DATA_DIR=" + t.TempDir(), "PLUGIN_DIR=" + t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	a, err := build(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a.close()
	if !strings.Contains(logs.String(), `"warning":"HASH_SALTT (environment): not a setting SMS+ knows; did you mean HASH_SALT?"`) {
		t.Errorf("logs:\n%s", logs.String())
	}
}
