package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// SMS is one text the console sender printed.
type SMS struct {
	To   string
	Body string
}

var linkRE = regexp.MustCompile(`(https?://[^\s/]+)/([A-Za-z0-9_-]{22})(?:[^A-Za-z0-9_-]|$)`)

// Link returns the challenge link in the text and its challenge id ("" if none).
func (m SMS) Link() (link, cid string) {
	sub := linkRE.FindStringSubmatch(m.Body)
	if sub == nil {
		return "", ""
	}
	return sub[1] + "/" + sub[2], sub[2]
}

// SMSWait bounds the wait for a text that a hook's answer says was sent.
const SMSWait = 5 * time.Second

// The console sender prints each text as a block (host/internal/sms/console.go):
//
//	=== SMS+ DEVELOPMENT MODE: SMS NOT SENT (SMS_PROVIDER=console) ===
//	sms to: <phone>
//	sms body: <first line of the body>
//	<further lines of the body>
//	=== END OF SMS <id> ===
const (
	smsTo   = "sms to: "
	smsBody = "sms body: "
	smsEnd  = "=== END OF SMS "
)

// parseSMS reads the complete texts printed on stdout so far.
func parseSMS(stdout string) []SMS {
	var out []SMS
	var cur *SMS
	var body []string
	for line := range strings.SplitSeq(stdout, "\n") {
		switch {
		case strings.HasPrefix(line, smsTo):
			cur, body = &SMS{To: strings.TrimPrefix(line, smsTo)}, nil
		case cur != nil && body == nil && strings.HasPrefix(line, smsBody):
			body = []string{strings.TrimPrefix(line, smsBody)}
		case cur != nil && body != nil && strings.HasPrefix(line, smsEnd):
			cur.Body = strings.Join(body, "\n")
			out = append(out, *cur)
			cur, body = nil, nil
		case cur != nil && body != nil:
			body = append(body, line)
		}
	}
	return out
}

// SMS returns every text printed so far, in order. Since the server's output goes
// to a file, a text sent before a hook was answered is here once the answer is.
func (s *Server) SMS() []SMS {
	return parseSMS(s.Stdout())
}

// SMSTo returns every text printed so far to phone.
func (s *Server) SMSTo(phone string) []SMS {
	var out []SMS
	for _, m := range s.SMS() {
		if m.To == phone {
			out = append(out, m)
		}
	}
	return out
}

// LastSMS returns the latest text printed to phone.
func (s *Server) LastSMS(phone string) (SMS, bool) {
	all := s.SMSTo(phone)
	if len(all) == 0 {
		return SMS{}, false
	}
	return all[len(all)-1], true
}

// NextSMS returns the next text to phone that NextSMS has not returned yet,
// waiting up to SMSWait for it.
func (s *Server) NextSMS(t testing.TB, phone string) SMS {
	t.Helper()
	s.mu.Lock()
	if s.smsTaken == nil {
		s.smsTaken = map[string]int{}
	}
	n := s.smsTaken[phone]
	s.mu.Unlock()
	deadline := time.Now().Add(SMSWait)
	for {
		if all := s.SMSTo(phone); len(all) > n {
			s.mu.Lock()
			s.smsTaken[phone] = n + 1
			s.mu.Unlock()
			return all[n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no text to %s within %s (%d printed to it before)", phone, SMSWait, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
