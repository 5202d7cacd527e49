package auth

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestChecks(t *testing.T) {
	t.Parallel()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("svc:p@ss:word"))
	tests := map[string]struct {
		got  bool
		want bool
	}{
		"equal":                    {Equal("s3cret-value", "s3cret-value"), true},
		"different":                {Equal("s3cret-valuE", "s3cret-value"), false},
		"prefix":                   {Equal("s3cret", "s3cret-value"), false},
		"empty secret never":       {Equal("", ""), false},
		"bearer":                   {Bearer("Bearer tok-123", "tok-123"), true},
		"bearer lower scheme":      {Bearer("bearer tok-123", "tok-123"), true},
		"bearer wrong":             {Bearer("Bearer tok-124", "tok-123"), false},
		"bearer no scheme":         {Bearer("tok-123", "tok-123"), false},
		"bearer basic scheme":      {Bearer("Basic tok-123", "tok-123"), false},
		"bearer empty secret":      {Bearer("Bearer ", ""), false},
		"basic":                    {Basic(basic, "svc", "p@ss:word"), true},
		"basic wrong pass":         {Basic(basic, "svc", "p@ss:wordx"), false},
		"basic wrong user":         {Basic(basic, "svd", "p@ss:word"), false},
		"basic bad base64":         {Basic("Basic !!!", "svc", "p"), false},
		"basic bearer scheme":      {Basic("Bearer x", "svc", "p"), false},
		"header raw":               {HeaderSecret("0123456789abcdef", "0123456789abcdef"), true},
		"header bearer":            {HeaderSecret("Bearer 0123456789abcdef", "0123456789abcdef"), true},
		"header wrong":             {HeaderSecret("Bearer 0123456789abcdeg", "0123456789abcdef"), false},
		"header empty secret":      {HeaderSecret("Bearer ", ""), false},
		"header empty both":        {HeaderSecret("", ""), false},
		"header bearer only token": {HeaderSecret("Bearer", ""), false},
	}
	for name, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", name, tc.got, tc.want)
		}
	}
}

func TestSecret(t *testing.T) {
	t.Parallel()
	names := []string{"CYBERARK_PASS", "CYBERARK_SHARED_SECRET"}
	long := "0123456789abcdef-long"
	tests := map[string]struct {
		settings map[string]string
		want     string
		problems []string // substrings, in order
	}{
		"first name":        {settings: map[string]string{"CYBERARK_PASS": long}, want: long},
		"alias":             {settings: map[string]string{"CYBERARK_SHARED_SECRET": " " + long + " "}, want: long},
		"both, same value":  {settings: map[string]string{"CYBERARK_PASS": long, "CYBERARK_SHARED_SECRET": long}, want: long},
		"both, different":   {settings: map[string]string{"CYBERARK_PASS": long, "CYBERARK_SHARED_SECRET": long + "x"}, want: long, problems: []string{"CYBERARK_SHARED_SECRET and CYBERARK_PASS are both set, to different values"}},
		"missing":           {settings: nil, problems: []string{"CYBERARK_PASS (or CYBERARK_SHARED_SECRET) is required: set it to the password of the gateway"}},
		"blank":             {settings: map[string]string{"CYBERARK_PASS": "  "}, problems: []string{"is required"}},
		"short, from alias": {settings: map[string]string{"CYBERARK_SHARED_SECRET": "hunter2"}, want: "hunter2", problems: []string{"CYBERARK_SHARED_SECRET is shorter than 16 characters"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, problems := Secret(tc.settings, 16, "the password of the gateway", names...)
			if got != tc.want || len(problems) != len(tc.problems) {
				t.Fatalf("Secret = %q, %q; want %q and %d problems", got, problems, tc.want, len(tc.problems))
			}
			for i, p := range tc.problems {
				if !strings.Contains(problems[i], p) {
					t.Errorf("problem %d = %q, want %q", i, problems[i], p)
				}
				if got != "" && strings.Contains(problems[i], got) {
					t.Errorf("problem %q reveals the secret", problems[i])
				}
			}
		})
	}
}

func TestValidHeaderName(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{"Authorization": true, "X-API-Key": true, "x_okta.secret": true,
		"": false, "X Auth": false, "Authorization:": false, "bad\nname": false, "Ключ": false} {
		if ValidHeaderName(s) != want {
			t.Errorf("ValidHeaderName(%q) = %v", s, !want)
		}
	}
}
