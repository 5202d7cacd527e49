// Package fake is a TypingDNA Authentication API server for tests: a real HTTP
// server (httptest) that follows the documented contract (typingdna/api.md) for
// the calls SMS+ makes, so that the production client cannot tell it from
// TypingDNA:
//
//   - HTTP Basic auth with the key and secret it was made with; anything else is
//     401 with message_code 32.
//   - GET and DELETE /user/{id} (type, textid, device filters), POST /verify/{id}
//     (tp, quality, position_only or positionOnly), /save/{id} and /auto/{id}.
//     POST bodies must be application/x-www-form-urlencoded (else 400/31).
//   - User ids of 6-256 characters (else 444/35); unknown routes 404/38, wrong
//     methods 405/34.
//   - Patterns: same-text diagrams (type 1 or 2) in the recorder's layout. A
//     malformed one is 445/36; a mobile one without motion data 453/46; several
//     joined by ";" must share device (448/40), type (450/44), text id and length
//     (449/41); at most 10 per call (459/56). Pattern writes valid ones.
//   - Profiles per user, text id, device and type. /verify with auto-enroll on
//     (the default) enrolls while the user has no comparable pattern (same text
//     id and device), answering action "enroll"; after that it compares: a match
//     is also enrolled ("verify;enroll") while there are fewer than 20, a
//     mismatch is "verify" with result 0. With auto-enroll off, a user without
//     patterns gets HTTP 200 {success:0, message_code:4}. /auto enrolls while
//     there are fewer than 3 comparable patterns, then compares likewise.
//   - Replay protection: a pattern submitted before to /verify, /save or /auto
//     for the user is HTTP 200 {success:0, message_code:2}. Position-only calls
//     neither store nor remember the pattern.
//   - position_only answers {message_code:1, positions:[…]} without success,
//     like the documented example.
//
// What the test controls:
//
//   - The verdict of a comparison: SetVerdict(user, VerdictPass|VerdictFail), or
//     with SetVerdict("", …) for every user without one. By default
//     (VerdictTypist) a pattern matches when its typist tag (the device-signature
//     hash field, which Pattern sets from Typing.Typist) equals that of the
//     user's first comparable pattern: "alice" passes alice's profile, "mallory"
//     fails it. Real recorder patterns carry the browser's device hash, so the
//     same browser passes.
//   - How a match is scored: SetMatch(user, Match{…}); default score 92,
//     net_score 90, high_confidence 1.
//   - Positions: SetPositions(user, …) or SetPositions("", …); default [3].
//   - Enrolled or not: Seed stores patterns directly; SetAutoEnroll(false).
//   - Failures and latency: AddFault answers chosen calls (by user and/or
//     operation, the next n times or always) with an HTTP status and
//     message_code (401, 5xx, 429, 445…, or 200 with success:0), a raw non-JSON
//     body, and/or after a delay. A delayed call gives up when the client does.
//   - Requests records every call (method, path, query, form, content type,
//     whether auth passed) for assertions.
package fake

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Op names a call.
type Op string

// The calls the fake serves.
const (
	OpGetUser    Op = "get_user"
	OpDeleteUser Op = "delete_user"
	OpVerify     Op = "verify"
	OpPosition   Op = "position" // /verify with position_only
	OpSave       Op = "save"
	OpAuto       Op = "auto"
)

// Verdict decides comparisons.
type Verdict int

const (
	VerdictTypist Verdict = iota // match when the typist tags agree (default)
	VerdictPass                  // always result 1
	VerdictFail                  // always result 0
)

// Fault is a scripted answer.
type Fault struct {
	User  string        // "" = every user
	Op    Op            // "" = every call
	Times int           // answer the next Times matching calls; 0 = all of them
	Delay time.Duration // wait before answering (or until the client gives up)

	Status  int    // HTTP status to answer with; 0 = answer normally after Delay
	Code    int    // message_code; for Status 200 the answer has success:0
	Message string // "" = TypingDNA's message for Code
	Body    string // a raw non-JSON body instead (text/html), e.g. a proxy's page
}

// Request is a call the fake received.
type Request struct {
	Op          Op
	Method      string
	Path        string
	User        string
	Query       url.Values
	Form        url.Values
	ContentType string
	Authorized  bool
}

const (
	maxPatternsPerCall = 10
	maxEnrolled        = 20 // /verify stops auto-enrolling matches here
	autoEnrollments    = 3  // /auto enrolls until this many
)

// Server is the fake TypingDNA. It is safe for concurrent use.
type Server struct {
	URL         string
	Key, Secret string

	srv       *httptest.Server
	closing   chan struct{}
	closeOnce sync.Once

	mu         sync.Mutex
	profiles   map[string][]parsed        // user -> enrolled patterns
	seen       map[string]map[string]bool // user -> patterns submitted
	verdicts   map[string]Verdict         // user ("" = default) -> verdict
	matches    map[string]Match           // user -> how a match is scored
	positions  map[string][]int           // user ("" = default) -> positions
	faults     []*fault
	noAutoEnr  bool
	requests   []Request
	defaultPos []int
}

type fault struct {
	Fault
	left int // -1 = unlimited
}

// New starts a fake that accepts key and secret. Close it when done.
func New(key, secret string) *Server {
	s := &Server{
		Key: key, Secret: secret, closing: make(chan struct{}),
		profiles: map[string][]parsed{}, seen: map[string]map[string]bool{},
		verdicts: map[string]Verdict{}, matches: map[string]Match{}, positions: map[string][]int{}, defaultPos: []int{3},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Start is New with the credentials "fake-key" / "fake-secret", closed when
// the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := New("fake-key", "fake-secret")
	t.Cleanup(s.Close)
	return s
}

// Close stops the server; delayed answers are abandoned.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.srv.Close()
}

// SetVerdict fixes the verdict of comparisons for a user, or with user "" for
// every user without one of their own.
func (s *Server) SetVerdict(user string, v Verdict) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.verdicts[user] = v
}

// Match is how the fake scores a comparison that matches (result 1). By
// default: score 92, net_score 90, high_confidence 1.
type Match struct {
	Score, NetScore float64
	HighConfidence  bool
}

// SetMatch fixes how a user's matching comparisons are scored, for tests of
// what a client makes of a weak match. Only matches: the verdict still decides
// whether there is one.
func (s *Server) SetMatch(user string, m Match) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.matches[user] = m
}

// SetPositions fixes the positions a position-only call answers for a user, or
// with user "" for every user without their own.
func (s *Server) SetPositions(user string, positions ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := slices.Clone(positions)
	if p == nil {
		p = []int{}
	}
	if user == "" {
		s.defaultPos = p
		return
	}
	s.positions[user] = p
}

// SetAutoEnroll turns /verify's auto-enroll (a TypingDNA dashboard setting) on
// or off; it is on by default.
func (s *Server) SetAutoEnroll(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noAutoEnr = !on
}

// AddFault scripts an answer; the first matching fault with calls left wins.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := f.Times
	if left <= 0 {
		left = -1
	}
	s.faults = append(s.faults, &fault{Fault: f, left: left})
}

// ClearFaults removes every scripted answer.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Seed enrolls n patterns of t for the user without a call, as if they had
// been typed before.
func (s *Server) Seed(user string, t Typing, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		p, a := parse(Pattern(t))
		if a != nil {
			panic("fake: Seed: Pattern wrote an invalid pattern")
		}
		s.profiles[user] = append(s.profiles[user], p)
	}
}

// Patterns counts the user's enrolled patterns for a text id.
func (s *Server) Patterns(user, textID string) (desktop, mobile int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.profiles[user] {
		if p.textID != textID {
			continue
		}
		if p.mobile {
			mobile++
		} else {
			desktop++
		}
	}
	return desktop, mobile
}

// Requests returns the calls received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Calls counts the calls of one operation received so far.
func (s *Server) Calls(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Op == op {
			n++
		}
	}
	return n
}

// answer is a reply: HTTP status and JSON body.
type answer struct {
	status int
	body   map[string]any
	raw    string
}

// messages are TypingDNA's names and messages for the codes the fake sends.
var messages = map[int][2]string{
	1:  {"", "Done"},
	2:  {"", "Duplicate typing pattern(s)"},
	4:  {"", "No previous valid typing patterns found"},
	31: {"Bad request", "Invalid parameter in request body: Syntax error."},
	32: {"Not authenticated", "apiKey/apiSecret combination is invalid"},
	33: {"Invalid apiKey", "You provided an invalid apiKey"},
	34: {"Method not allowed", "The method received in the request is known but not supported by the target resource"},
	35: {"Invalid user id", "Invalid parameter user id (should be between 6 and 256 characters long and a hash or id instead of an email or phone number)"},
	36: {"Invalid typing pattern", "One or more submitted typing patterns are invalid."},
	38: {"Not found", "The requested resource could not be found."},
	40: {"Mixed typing patterns", "Matching mobile and desktop typing patterns against each other is not supported."},
	41: {"The typing patterns have different textid or length", "You are trying to match diagrams that have different length or text id."},
	42: {"Maximum request size exceeded", "You have exceeded the maximum accepted request size."},
	43: {"Maximum request number exceeded", "You have exceeded the maximum accepted request number for this IP address."},
	44: {"Different pattern types", "You are trying to match different types of patterns."},
	45: {"Server maintenance", "The server is inactive for maintenance."},
	46: {"Mobile pattern without motion data", "The pattern you are trying to use comes from a mobile device but has no motion data."},
	47: {"Match server unavailable", "Matching is not possible at the moment."},
	48: {"Internal server error", "The server encountered an internal error."},
	49: {"Service unavailable", "The server is currently unable to handle the request due to a temporary condition."},
	52: {"Too many requests", "You have reached your account request throughput limitation."},
	56: {"Too many typing patterns submitted", "Too many typing patterns submitted for verification."},
}

// errAnswer is TypingDNA's failure answer: the error envelope, or for HTTP 200
// the success:0 one.
func errAnswer(status, code int) *answer {
	return msgAnswer(status, code, "")
}

func msgAnswer(status, code int, msg string) *answer {
	m := messages[code]
	if msg == "" {
		msg = m[1]
	}
	if status == http.StatusOK {
		return &answer{status: status, body: map[string]any{"message": msg, "message_code": code, "success": 0, "status": status}}
	}
	name := m[0]
	if name == "" {
		name = http.StatusText(status)
	}
	return &answer{status: status, body: map[string]any{"name": name, "message": msg, "message_code": code, "status": status}}
}

func done(fields map[string]any) *answer {
	body := map[string]any{"message": "Done", "message_code": 1, "success": 1, "status": 200}
	for k, v := range fields {
		body[k] = v
	}
	return &answer{status: http.StatusOK, body: body}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	a := s.handle(r)
	if a.raw != "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.raw))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(a.status)
	_ = json.NewEncoder(w).Encode(a.body)
}

func (s *Server) handle(r *http.Request) *answer {
	route, user, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	ct := r.Header.Get("Content-Type")
	formOK := false
	if r.Method == http.MethodPost {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/x-www-form-urlencoded" {
			r.Body = http.MaxBytesReader(nil, r.Body, 256<<10)
			if err := r.ParseForm(); err != nil {
				return errAnswer(447, 42)
			}
			formOK = true
		}
	}
	op := opOf(r.Method, route, r.PostForm)
	key, secret, hasAuth := r.BasicAuth()
	authorized := hasAuth &&
		subtle.ConstantTimeCompare([]byte(key), []byte(s.Key)) == 1 &&
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.Secret)) == 1

	s.mu.Lock()
	s.requests = append(s.requests, Request{Op: op, Method: r.Method, Path: r.URL.Path, User: user,
		Query: r.URL.Query(), Form: r.PostForm, ContentType: ct, Authorized: authorized})
	f := s.takeFault(user, op)
	s.mu.Unlock()

	if f != nil {
		if f.Delay > 0 && !s.sleep(r.Context(), f.Delay) {
			return &answer{status: http.StatusServiceUnavailable, raw: "gone"} // nobody is listening
		}
		if f.Body != "" {
			return &answer{status: max(f.Status, 200), raw: f.Body}
		}
		if f.Status != 0 {
			return msgAnswer(f.Status, f.Code, f.Message)
		}
	}
	if !authorized {
		return errAnswer(401, 32)
	}
	if op == "" {
		if slices.Contains([]string{"user", "verify", "save", "auto"}, route) {
			return errAnswer(405, 34)
		}
		return errAnswer(404, 38)
	}
	if len(user) < 6 || len(user) > 256 {
		return errAnswer(444, 35)
	}
	if r.Method == http.MethodPost && !formOK {
		return errAnswer(400, 31)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case OpGetUser:
		return s.getUser(user, r.URL.Query())
	case OpDeleteUser:
		return s.deleteUser(user, r.URL.Query())
	}
	patterns, a := parseAll(r.PostForm.Get("tp"))
	if a != nil {
		return a
	}
	if op == OpPosition {
		return s.position(user, patterns)
	}
	for _, p := range patterns {
		if s.seen[user][p.raw] {
			return errAnswer(200, 2)
		}
	}
	comparable := s.comparable(user, patterns[0])
	for _, c := range comparable {
		switch {
		case c.typ != patterns[0].typ:
			return errAnswer(450, 44)
		case c.length != patterns[0].length:
			return errAnswer(449, 41)
		}
	}
	switch op {
	case OpSave:
		s.remember(user, patterns)
		s.enroll(user, patterns)
		return done(nil)
	case OpVerify:
		if len(comparable) == 0 {
			if s.noAutoEnr {
				return errAnswer(200, 4)
			}
			return s.enrollAnswer(user, patterns)
		}
	case OpAuto:
		if len(comparable) < autoEnrollments {
			return s.enrollAnswer(user, patterns)
		}
	}
	return s.compare(user, patterns, comparable)
}

func opOf(method, route string, form url.Values) Op {
	switch {
	case route == "user" && method == http.MethodGet:
		return OpGetUser
	case route == "user" && method == http.MethodDelete:
		return OpDeleteUser
	case route == "verify" && method == http.MethodPost:
		if truthy(form.Get("position_only")) || truthy(form.Get("positionOnly")) {
			return OpPosition
		}
		return OpVerify
	case route == "save" && method == http.MethodPost:
		return OpSave
	case route == "auto" && method == http.MethodPost:
		return OpAuto
	}
	return ""
}

func truthy(v string) bool { return v == "true" || v == "1" }

// takeFault finds and consumes the first matching fault; s.mu held.
func (s *Server) takeFault(user string, op Op) *Fault {
	for _, f := range s.faults {
		if f.left == 0 || (f.User != "" && f.User != user) || (f.Op != "" && f.Op != op) {
			continue
		}
		if f.left > 0 {
			f.left--
		}
		ff := f.Fault
		return &ff
	}
	return nil
}

func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closing:
	}
	return false
}

// filter is GET/DELETE /user's query; ok false for a bad value.
func filter(q url.Values) (match func(parsed) bool, typ string, ok bool) {
	typ, textID, device := q.Get("type"), q.Get("textid"), q.Get("device")
	if !slices.Contains([]string{"", "0", "1", "2", "all"}, typ) || !slices.Contains([]string{"", "all", "desktop", "mobile"}, device) {
		return nil, "", false
	}
	if typ == "" {
		typ = "all"
	}
	return func(p parsed) bool {
		switch {
		case textID != "" && p.textID != textID,
			typ == "0", // the fake stores no "any text" patterns
			typ == "1" && p.typ != 1,
			typ == "2" && p.typ != 2,
			device == "mobile" && !p.mobile,
			device == "desktop" && p.mobile:
			return false
		}
		return true
	}, typ, true
}

func (s *Server) getUser(user string, q url.Values) *answer {
	match, typ, ok := filter(q)
	if !ok {
		return errAnswer(400, 31)
	}
	count, mobile := 0, 0
	for _, p := range s.profiles[user] {
		if !match(p) {
			continue
		}
		if p.mobile {
			mobile++
		} else {
			count++
		}
	}
	return done(map[string]any{"count": count, "mobilecount": mobile, "type": typ})
}

func (s *Server) deleteUser(user string, q url.Values) *answer {
	match, _, ok := filter(q)
	if !ok {
		return errAnswer(400, 31)
	}
	kept := s.profiles[user][:0]
	deleted := 0
	for _, p := range s.profiles[user] {
		if match(p) {
			deleted++
			continue
		}
		kept = append(kept, p)
	}
	if len(kept) == 0 {
		delete(s.profiles, user)
	} else {
		s.profiles[user] = kept
	}
	return done(map[string]any{"deleted": deleted})
}

func (s *Server) position(user string, patterns []parsed) *answer {
	positions := []int{}
	if patterns[0].mobile {
		var ok bool
		if positions, ok = s.positions[user]; !ok {
			positions = s.defaultPos
		}
	}
	return &answer{status: http.StatusOK, body: map[string]any{"message": "Done", "message_code": 1, "positions": positions, "status": 200}}
}

// comparable are the user's patterns the first submitted one is compared with.
func (s *Server) comparable(user string, p parsed) []parsed {
	var out []parsed
	for _, e := range s.profiles[user] {
		if e.textID == p.textID && e.mobile == p.mobile {
			out = append(out, e)
		}
	}
	return out
}

func (s *Server) remember(user string, patterns []parsed) {
	if s.seen[user] == nil {
		s.seen[user] = map[string]bool{}
	}
	for _, p := range patterns {
		s.seen[user][p.raw] = true
	}
}

func (s *Server) enroll(user string, patterns []parsed) {
	s.profiles[user] = append(s.profiles[user], patterns...)
}

func (s *Server) enrollAnswer(user string, patterns []parsed) *answer {
	s.remember(user, patterns)
	s.enroll(user, patterns)
	return done(map[string]any{"action": "enroll", "enrollment": 1, "result": 0, "score": 0, "net_score": 0, "high_confidence": 0})
}

func (s *Server) compare(user string, patterns, comparable []parsed) *answer {
	s.remember(user, patterns)
	v, ok := s.verdicts[user]
	if !ok {
		v = s.verdicts[""]
	}
	match := false
	switch v {
	case VerdictPass:
		match = true
	case VerdictFail:
	default:
		match = patterns[len(patterns)-1].tag == comparable[0].tag
	}
	if !match {
		return done(map[string]any{"action": "verify", "enrollment": 0, "result": 0, "score": 18, "net_score": 15, "high_confidence": 1})
	}
	m, ok := s.matches[user]
	if !ok {
		m = Match{Score: 92, NetScore: 90, HighConfidence: true}
	}
	hc := 0
	if m.HighConfidence {
		hc = 1
	}
	if len(comparable) < maxEnrolled {
		s.enroll(user, patterns)
		return done(map[string]any{"action": "verify;enroll", "enrollment": 1, "result": 1, "score": m.Score, "net_score": m.NetScore, "high_confidence": hc})
	}
	return done(map[string]any{"action": "verify", "enrollment": 0, "result": 1, "score": m.Score, "net_score": m.NetScore, "high_confidence": hc})
}
