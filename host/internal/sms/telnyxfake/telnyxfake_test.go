package telnyxfake

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, s *Server, auth, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v2/messages", strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func TestContract(t *testing.T) {
	t.Parallel()
	s := New(t)
	bearer := "Bearer " + s.APIKey
	tests := map[string]struct {
		auth, ct, body string
		status         int
		code           string // "" for success
	}{
		"accepted":            {bearer, "application/json", `{"from":"+15550001111","to":"+15005550006","text":"hi"}`, 200, ""},
		"profile only":        {bearer, "application/json", `{"messaging_profile_id":"p1","to":"+15005550006","text":"hi"}`, 200, ""},
		"no key":              {"", "application/json", `{"from":"+15550001111","to":"+15005550006","text":"hi"}`, 401, "10009"},
		"wrong key":           {"Bearer KEYx", "application/json", `{"from":"+15550001111","to":"+15005550006","text":"hi"}`, 401, "10009"},
		"invalid to":          {bearer, "application/json", `{"from":"+15550001111","to":"15005550006","text":"hi"}`, 400, "40310"},
		"no sender":           {bearer, "application/json", `{"to":"+15005550006","text":"hi"}`, 422, "10004"},
		"not json":            {bearer, "application/x-www-form-urlencoded", `to=%2B15005550006`, 415, "10014"},
		"malformed json body": {bearer, "application/json", `{"to":`, 400, "10015"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			status, out := post(t, s, tt.auth, tt.ct, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, out)
			}
			if tt.code == "" {
				data, _ := out["data"].(map[string]any)
				to, _ := data["to"].([]any)
				if data["id"] == "" || len(to) != 1 || to[0].(map[string]any)["status"] != "queued" {
					t.Errorf("answer %v: want data.id and to[0].status queued", out)
				}
				return
			}
			errs, _ := out["errors"].([]any)
			if len(errs) == 0 || errs[0].(map[string]any)["code"] != tt.code {
				t.Errorf("answer %v: want errors[0].code %s", out, tt.code)
			}
		})
	}
}

func TestEventSignedAsDocumented(t *testing.T) {
	t.Parallel()
	s := New(t)
	status, out := post(t, s, "Bearer "+s.APIKey, "application/json", `{"from":"+15550001111","to":"+15005550006","text":"hi"}`)
	if status != 200 {
		t.Fatal(out)
	}
	id := out["data"].(map[string]any)["id"].(string)
	body, ts, sig, err := s.Event(id, "message.finalized", "delivered", "")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(s.PublicKey)
	raw, _ := base64.StdEncoding.DecodeString(sig)
	if !ed25519.Verify(key, []byte(ts+"|"+string(body)), raw) {
		t.Error("the signature does not verify over timestamp|body with PublicKey")
	}
	var ev struct {
		Data struct {
			EventType string `json:"event_type"`
			Payload   struct {
				ID string
				To []struct{ Status string }
			}
		}
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.Data.EventType != "message.finalized" || ev.Data.Payload.ID != id || ev.Data.Payload.To[0].Status != "delivered" {
		t.Errorf("event %s", body)
	}
}
