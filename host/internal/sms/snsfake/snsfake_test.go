package snsfake

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRefusesUnsigned: the Query API without SigV4, or signed for another
// key, is refused with AWS's error XML, before anything is published.
func TestRefusesUnsigned(t *testing.T) {
	t.Parallel()
	s := New(t)
	form := url.Values{"Action": {"Publish"}, "Version": {"2010-03-31"}, "PhoneNumber": {"+15005550006"}, "Message": {"hi"}}
	tests := map[string]struct {
		auth string
		code string
	}{
		"no authorization": {"", "MissingAuthenticationToken"},
		"another key": {"AWS4-HMAC-SHA256 Credential=AKIAOTHER/20261207/us-east-1/sns/aws4_request, SignedHeaders=host;x-amz-date, Signature=" +
			strings.Repeat("0", 64), "InvalidClientTokenId"},
		"forged signature": {"AWS4-HMAC-SHA256 Credential=" + s.AccessKeyID + "/20261207/us-east-1/sns/aws4_request, SignedHeaders=host;x-amz-date, Signature=" +
			strings.Repeat("0", 64), "IncompleteSignature"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "<Code>"+tt.code+"</Code>") ||
				!strings.Contains(string(b), "<ErrorResponse") {
				t.Errorf("HTTP %d %s, want 403 ErrorResponse %s", resp.StatusCode, b, tt.code)
			}
		})
	}
	t.Cleanup(func() {
		if n := len(s.Messages()); n != 0 {
			t.Errorf("%d messages published", n)
		}
	})
}
