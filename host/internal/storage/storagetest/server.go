package storagetest

import (
	"os"
	"testing"
)

// ServerEnv returns the value of the environment variable name, which points a
// backend's tests at a real server (SMSPLUS_TEST_REDIS_URL, ...). When it is unset,
// or under -short, the test is skipped on a developer's machine but fails in CI
// (CI=true): there the project's scripts (.ci/services.sh) start every server, so a
// missing one is a broken set-up, not a reason to pass.
func ServerEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	ci := os.Getenv("CI") == "true"
	switch {
	case v == "" && ci:
		t.Fatalf("%s is not set: in CI every storage server must run (make test starts them with .ci/services.sh)", name)
	case v == "":
		t.Skipf("%s is not set: no server to test against (make test starts one with .ci/services.sh)", name)
	case testing.Short() && !ci:
		t.Skipf("-short: skipping the tests against the server in %s", name)
	}
	return v
}
