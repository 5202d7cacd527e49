package fake

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics"
)

// These tests speak raw HTTP to the fake, so that the contract it serves is
// checked without the client it is meant to test.

const user = "0123456789abcdef0123456789abcdef"

type reply struct {
	status int
	body   map[string]any
}

func (r reply) num(k string) float64 {
	v, _ := r.body[k].(float64)
	return v
}

func do(t *testing.T, s *Server, method, path string, form url.Values, mod func(*http.Request)) reply {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(s.Key, s.Secret)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if mod != nil {
		mod(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", method, path, err)
	}
	if st, _ := m["status"].(float64); int(st) != resp.StatusCode {
		t.Errorf("%s %s: envelope status %v, HTTP %d", method, path, m["status"], resp.StatusCode)
	}
	return reply{resp.StatusCode, m}
}

func tp(p string) url.Values { return url.Values{"tp": {p}} }

func TestAuthAndRouting(t *testing.T) {
	t.Parallel()
	s := Start(t)
	tests := map[string]struct {
		method, path string
		form         url.Values
		mod          func(*http.Request)
		status, code int
	}{
		"no auth":        {"GET", "/user/" + user, nil, func(r *http.Request) { r.Header.Del("Authorization") }, 401, 32},
		"wrong secret":   {"GET", "/user/" + user, nil, func(r *http.Request) { r.SetBasicAuth(s.Key, "nope") }, 401, 32},
		"wrong key":      {"GET", "/user/" + user, nil, func(r *http.Request) { r.SetBasicAuth("nope", s.Secret) }, 401, 32},
		"short user id":  {"GET", "/user/abc", nil, nil, 444, 35},
		"unknown route":  {"GET", "/quote/" + user, nil, nil, 404, 38},
		"wrong method":   {"PUT", "/user/" + user, nil, nil, 405, 34},
		"verify by GET":  {"GET", "/verify/" + user, nil, nil, 405, 34},
		"JSON body":      {"POST", "/verify/" + user, nil, func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, 400, 31},
		"no tp":          {"POST", "/verify/" + user, url.Values{"quality": {"2"}}, nil, 400, 31},
		"bad type query": {"GET", "/user/" + user + "?type=9", nil, nil, 400, 31},
		"bad device":     {"DELETE", "/user/" + user + "?device=tv", nil, nil, 400, 31},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := do(t, s, tc.method, tc.path, tc.form, tc.mod)
			if got.status != tc.status || int(got.num("message_code")) != tc.code || got.body["name"] == nil {
				t.Errorf("got HTTP %d %v, want %d code %d with a name", got.status, got.body, tc.status, tc.code)
			}
		})
	}
	refused := 0
	for _, r := range s.Requests() {
		if !r.Authorized {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("%d requests recorded as unauthorized, want 3 (no auth, wrong secret, wrong key)", refused)
	}
}

func TestPatternErrors(t *testing.T) {
	t.Parallel()
	s := Start(t)
	good := Pattern(Typing{Text: "blue river", Typist: "a"})
	head, keys, _ := strings.Cut(good, "|")
	tests := map[string]struct {
		tp           string
		status, code int
	}{
		"garbage":          {"hello", 445, 36},
		"any-text type 0":  {"12,180,33,0.5,1,2,3,4,5,6,7,8", 445, 36},
		"too few keys":     {head + "|" + strings.SplitN(keys, "|", 2)[1], 445, 36},
		"no motion":        {Pattern(Typing{Text: "blue river", NoMotion: true}), 453, 46},
		"empty motion":     {strings.SplitN(good, "#", 2)[0] + "##", 453, 46},
		"desktop + motion": {Pattern(Typing{Text: "blue river", Desktop: true}) + "#1#2", 445, 36},
		"mixed devices":    {good + ";" + Pattern(Typing{Text: "blue river", Desktop: true}), 448, 40},
		"mixed types":      {good + ";" + Pattern(Typing{Text: "blue river", Extended: true}), 450, 44},
		"mixed texts":      {good + ";" + Pattern(Typing{Text: "red river"}), 449, 41},
		"eleven patterns":  {strings.Repeat(good+";", 10) + good, 459, 56},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := do(t, s, "POST", "/verify/"+user, tp(tc.tp), nil)
			if got.status != tc.status || int(got.num("message_code")) != tc.code {
				t.Errorf("got HTTP %d %v, want %d/%d", got.status, got.body, tc.status, tc.code)
			}
		})
	}
	if d, m := s.Patterns(user, biometrics.TextID("blue river")); d+m != 0 {
		t.Errorf("invalid submissions enrolled %d patterns", d+m)
	}
}

func TestVerifyLifecycle(t *testing.T) {
	t.Parallel()
	s := Start(t)
	text := "blue river"
	a1 := Pattern(Typing{Text: text, Typist: "alice"})

	// Position only: no success field, positions, nothing stored.
	got := do(t, s, "POST", "/verify/"+user, url.Values{"tp": {a1}, "position_only": {"true"}}, nil)
	if got.status != 200 || got.num("message_code") != 1 || got.body["success"] != nil || !jsonEq(got.body["positions"], []int{3}) {
		t.Errorf("position only: %v", got.body)
	}
	got = do(t, s, "POST", "/verify/"+user, url.Values{"tp": {a1}, "positionOnly": {"true"}}, nil)
	if !jsonEq(got.body["positions"], []int{3}) || s.Calls(OpPosition) != 2 {
		t.Errorf("positionOnly spelling: %v", got.body)
	}

	steps := []struct {
		tp         string
		action     string
		result     float64
		success    float64
		code       float64
		mobileLeft int
	}{
		{a1, "enroll", 0, 1, 1, 1},
		{Pattern(Typing{Text: text, Typist: "alice"}), "verify;enroll", 1, 1, 1, 2},
		{Pattern(Typing{Text: text, Typist: "mallory"}), "verify", 0, 1, 1, 2},
		{a1, "", 0, 0, 2, 2}, // replay
	}
	for i, st := range steps {
		got := do(t, s, "POST", "/verify/"+user, tp(st.tp), nil)
		if got.status != 200 || got.num("success") != st.success || got.num("message_code") != st.code {
			t.Errorf("step %d: %v", i, got.body)
		}
		if st.action != "" && (got.body["action"] != st.action || got.num("result") != st.result) {
			t.Errorf("step %d: action %v result %v, want %s %v", i, got.body["action"], got.body["result"], st.action, st.result)
		}
		if _, m := s.Patterns(user, biometrics.TextID(text)); m != st.mobileLeft {
			t.Errorf("step %d: %d mobile patterns, want %d", i, m, st.mobileLeft)
		}
	}

	counts := do(t, s, "GET", "/user/"+user+"?textid="+biometrics.TextID(text), nil, nil)
	if counts.num("mobilecount") != 2 || counts.num("count") != 0 || counts.num("success") != 1 {
		t.Errorf("GET /user: %v", counts.body)
	}
	del := do(t, s, "DELETE", "/user/"+user, nil, nil)
	if del.num("deleted") != 2 || del.num("success") != 1 {
		t.Errorf("DELETE /user: %v", del.body)
	}
	// After a delete the next pattern enrolls again; replay memory stays.
	got = do(t, s, "POST", "/verify/"+user, tp(Pattern(Typing{Text: text, Typist: "bob"})), nil)
	if got.body["action"] != "enroll" {
		t.Errorf("after delete: %v", got.body)
	}
	if got := do(t, s, "POST", "/verify/"+user, tp(a1), nil); got.num("message_code") != 2 {
		t.Errorf("replay after delete: %v", got.body)
	}
}

func TestAutoEnrollOffAndAuto(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.SetAutoEnroll(false)
	got := do(t, s, "POST", "/verify/"+user, tp(Pattern(Typing{Text: "x y z", Typist: "a"})), nil)
	if got.status != 200 || got.num("success") != 0 || got.num("message_code") != 4 || got.body["result"] != nil {
		t.Errorf("auto-enroll off: %v", got.body)
	}
	for i, want := range []string{"enroll", "enroll", "enroll", "verify;enroll"} {
		got := do(t, s, "POST", "/auto/"+user, tp(Pattern(Typing{Text: "x y z", Typist: "a"})), nil)
		if got.body["action"] != want {
			t.Errorf("auto %d: %v, want %s", i, got.body, want)
		}
	}
	save := do(t, s, "POST", "/save/"+user, tp(Pattern(Typing{Text: "x y z", Typist: "a"})), nil)
	if save.num("success") != 1 {
		t.Errorf("save: %v", save.body)
	}
	if _, m := s.Patterns(user, biometrics.TextID("x y z")); m != 5 {
		t.Errorf("%d patterns, want 5", m)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s := Start(t)
	other := "ffffffffffffffffffff"
	s.AddFault(Fault{User: user, Op: OpGetUser, Status: 503, Code: 49, Times: 2})
	s.AddFault(Fault{Op: OpDeleteUser, Status: 200, Code: 48})

	for i, want := range []int{503, 503, 200} {
		if got := do(t, s, "GET", "/user/"+user, nil, nil); got.status != want {
			t.Errorf("GET %d: HTTP %d, want %d", i, got.status, want)
		}
	}
	if got := do(t, s, "GET", "/user/"+other, nil, nil); got.status != 200 {
		t.Errorf("the fault hit another user: %v", got.body)
	}
	for _, u := range []string{user, other} {
		got := do(t, s, "DELETE", "/user/"+u, nil, nil)
		if got.status != 200 || got.num("success") != 0 || got.num("message_code") != 48 {
			t.Errorf("DELETE %s: %v, want 200 success:0 code 48", u, got.body)
		}
	}
	// A scripted 401 answers even good credentials.
	s.ClearFaults()
	s.AddFault(Fault{Op: OpVerify, Status: 401, Code: 32})
	if got := do(t, s, "POST", "/verify/"+user, tp("whatever"), nil); got.status != 401 || got.num("message_code") != 32 {
		t.Errorf("scripted 401: %v", got.body)
	}
}

func TestDelayGivesUpWithTheClient(t *testing.T) {
	t.Parallel()
	s := New("k", "s")
	s.AddFault(Fault{Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/user/"+user, nil)
	req.SetBasicAuth("k", "s")
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("a one-minute delay answered within 50 ms")
	}
	start := time.Now()
	s.Close() // waits for the handler: it must have given up
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
}

func TestPatternBuilder(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, ty := range []Typing{
		{Text: "blue river", Typist: "alice"},
		{Text: "Blue River", Typist: "alice", Desktop: true},
		{Text: "ăîșț ünïcödé", Typist: "bob", Extended: true},
	} {
		for range 50 {
			p := Pattern(ty)
			if seen[p] {
				t.Fatalf("Pattern repeated itself: %q", p)
			}
			seen[p] = true
			got, a := parse(p)
			if a != nil {
				t.Fatalf("Pattern(%+v) does not parse: %v", ty, a.body)
			}
			if got.textID != biometrics.TextID(ty.Text) || got.mobile == ty.Desktop || got.tag != tag(ty.Typist) || (got.typ == 2) != ty.Extended {
				t.Errorf("Pattern(%+v) parsed as %+v", ty, got)
			}
		}
	}
	if tag("alice") == tag("mallory") {
		t.Error("two typists share a tag")
	}
}

func jsonEq(v any, want []int) bool {
	arr, ok := v.([]any)
	if !ok || len(arr) != len(want) {
		return false
	}
	for i, x := range arr {
		if f, ok := x.(float64); !ok || int(f) != want[i] {
			return false
		}
	}
	return true
}
