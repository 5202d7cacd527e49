package deploy

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// root is the repository, from deploy/.
const root = ".."

// inCI reports whether the tests run in CI (CI=true).
func inCI() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// need returns the path of a tool a test runs. Without it the test is skipped
// on a laptop and fails in CI, which runs `make test` in a git checkout.
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if inCI() {
			t.Fatalf("%s is not installed: CI must run this test", tool)
		}
		t.Skipf("%s is not installed", tool)
	}
	return p
}
