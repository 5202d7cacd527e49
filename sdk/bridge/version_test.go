package bridge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SDKVersion is the one place the SDK's version is written; what names it
// elsewhere (the example's requirement, the docs) must agree. Files outside
// this module's tree are checked only in a checkout of the repository.
func TestVersionAgreesEverywhere(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]string{
		"../examples/minimal/go.mod": "github.com/smsplus/smsplus/sdk v" + SDKVersion + "\n",
		"../README.md":               "git tag -a sdk/v" + SDKVersion,
		"../../docs/bridges.md":      `"sdk_version":"` + SDKVersion + `"`,
	} {
		b, err := os.ReadFile(filepath.FromSlash(file))
		if os.IsNotExist(err) {
			t.Logf("%s: not in this tree", file)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not name SDK version %s (want %q in it): update it with bridge.SDKVersion", file, SDKVersion, want)
		}
	}
}
