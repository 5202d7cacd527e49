package auth

import (
	"encoding/base64"
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
