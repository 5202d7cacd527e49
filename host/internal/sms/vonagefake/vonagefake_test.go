package vonagefake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func post(t *testing.T, s *Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(s.URL+"/sms/json", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	msgs, _ := body["messages"].([]any)
	if len(msgs) != 1 || body["message-count"] != "1" {
		t.Fatalf("answer %v: want message-count 1 and one message", body)
	}
	return resp.StatusCode, msgs[0].(map[string]any)
}

func TestContract(t *testing.T) {
	t.Parallel()
	s := New(t)
	ok := func(kv ...string) url.Values {
		f := url.Values{"api_key": {s.APIKey}, "api_secret": {s.APISecret}, "from": {"SMSPlus"}, "to": {"447700900123"}, "text": {"hi"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				f.Del(kv[i])
			} else {
				f.Set(kv[i], kv[i+1])
			}
		}
		return f
	}
	tests := map[string]struct {
		form   url.Values
		status string
	}{
		"accepted":        {ok(), "0"},
		"no to":           {ok("to", ""), "2"},
		"no text":         {ok("text", ""), "2"},
		"wrong secret":    {ok("api_secret", "nope"), "4"},
		"to with a plus":  {ok("to", "+447700900123"), "3"},
		"bad type":        {ok("type", "binary"), "3"},
		"bad callback":    {ok("callback", "not a url"), "23"},
		"unicode, ref ok": {ok("type", "unicode", "client-ref", "ref-1"), "0"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, msg := post(t, s, tt.form)
			if code != http.StatusOK || msg["status"] != tt.status {
				t.Fatalf("HTTP %d, message %v: want 200 and status %s", code, msg, tt.status)
			}
			if tt.status == "0" && (msg["message-id"] == "" || msg["to"] != "447700900123") {
				t.Errorf("accepted message %v lacks message-id or to", msg)
			}
			if tt.status != "0" && msg["error-text"] == "" {
				t.Errorf("refusal %v lacks error-text", msg)
			}
		})
	}
}

func TestSignMatchesVonageGuide(t *testing.T) {
	t.Parallel()
	// From the guide's rule, computed with md5sum: printf '&a=1&b=x_y_zsecret'.
	p := map[string]string{"b": "x&y=z", "a": "1", "sig": "ignored"}
	if got := Sign("md5hash", "secret", p); got != "d088c52d7310db7e614291e02965665f" {
		t.Errorf("md5hash %q", got)
	}
	// printf '&a=1&b=x_y_z' | openssl dgst -sha256 -hmac secret, upper case.
	if got := Sign("sha256", "secret", p); got != "DF118F87671493DF4ADACDAC13CFE0589ACD128B696C2EECF46E96E6494C11F5" {
		t.Errorf("sha256 %q", got)
	}
	if Sign("crc", "secret", p) != "" {
		t.Error("unknown method signed")
	}
}
