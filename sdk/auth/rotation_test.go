package auth

import (
	"strings"
	"testing"
)

// TestRotation: during a rotation both secrets are accepted by every check;
// after it only the current one.
func TestRotation(t *testing.T) {
	const cur, prev, user = "new-secret-0123456789", "old-secret-0123456789", "pingone"
	r, problems := RotatingSecret(map[string]string{"X_SHARED_SECRET": cur, "X_SHARED_SECRET_PREVIOUS": prev}, 16,
		"the vendor's secret", "X_SHARED_SECRET_PREVIOUS", "X_SHARED_SECRET")
	if len(problems) > 0 || r.Current() != cur || r.Previous() != prev || len(r.Values()) != 2 {
		t.Fatalf("RotatingSecret = %+v, %v", r, problems)
	}
	for _, s := range []string{cur, prev} {
		if !r.Equal(s) || !r.Bearer("Bearer "+s) || !r.HeaderSecret(s) || !r.HeaderSecret("Bearer "+s) ||
			!r.Basic(BasicHeader(user, s), user) {
			t.Errorf("secret %q refused during the rotation", s[:3])
		}
	}
	for _, bad := range []string{"", "nope-0123456789abcdef", cur + prev} {
		if r.Equal(bad) || r.Bearer("Bearer "+bad) || r.HeaderSecret(bad) || r.Basic(BasicHeader(user, bad), user) {
			t.Errorf("%q accepted", bad)
		}
	}
	if r.Basic(BasicHeader("other", cur), user) {
		t.Error("another user accepted")
	}
	only := NewRotation(cur, "")
	if only.Equal(prev) || only.Equal("") || !only.Equal(cur) || len(only.Values()) != 1 {
		t.Error("without a previous secret, only the current one is accepted")
	}
}

func TestRotatingSecretProblems(t *testing.T) {
	const name, prevName = "X_SHARED_SECRET", "X_SHARED_SECRET_PREVIOUS"
	for what, tc := range map[string]struct {
		settings map[string]string
		want     string
	}{
		"previous without current": {map[string]string{prevName: "old-secret-0123456789"}, prevName + " is set but"},
		"previous equals current":  {map[string]string{name: "same-secret-0123456789", prevName: "same-secret-0123456789"}, "equals"},
		"previous too short":       {map[string]string{name: "new-secret-0123456789", prevName: "t1ny"}, "shorter than 16"},
	} {
		_, problems := RotatingSecret(tc.settings, 16, "the vendor's secret", prevName, name)
		if !strings.Contains(strings.Join(problems, "\n"), tc.want) {
			t.Errorf("%s: problems %q, want %q", what, problems, tc.want)
		}
		for _, p := range problems {
			for _, v := range tc.settings {
				if strings.Contains(p, v) {
					t.Errorf("%s: a problem quotes a secret: %q", what, p)
				}
			}
		}
	}
}
