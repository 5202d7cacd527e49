package host

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serve refuses a configuration with problems and shows the warnings with them:
// a typo explains a missing setting.
func TestServeConfigProblemsShowWarnings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	envFile := filepath.Join(dir, "empty.env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code := Main(context.Background(), []string{"serve", "--env-file", envFile},
		[]string{"HASH_SALTT=pepper", "PLUGIN_DIR=" + dir, "DATA_DIR=" + dir}, &out, &out)
	if code != ExitFailed {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{"HASH_SALT: is required", "HASH_SALTT (environment): not a setting SMS+ knows; did you mean HASH_SALT?"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
}
