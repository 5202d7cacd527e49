package e2e

import (
	"strings"
	"testing"
)

// Challenge is a live challenge as its phone sees it.
type Challenge struct {
	Phone  string
	OTP    string
	SMS    SMS
	Link   string
	CID    string
	TextID string
	Len    int // the phrase's length
	// Hook is the vendor's answer to the hook that made the challenge.
	Hook Answer
}

// NewChallenge sends a hook through bridge for phone and otp, checks that the
// vendor was told the code was sent, reads the text and opens the page.
func (s *Server) NewChallenge(t testing.TB, bridge, phone, otp string) Challenge {
	t.Helper()
	c := s.NewLink(t, bridge, phone, otp)
	c.TextID, c.Len = s.Page(t, c.Link)
	return c
}

// NewLink is NewChallenge without opening the page (TextID and Len are unset): a
// locked user's page, for one, does not open.
func (s *Server) NewLink(t testing.TB, bridge, phone, otp string) Challenge {
	t.Helper()
	a := s.Hook(t, bridge, phone, otp)
	if !a.Delivered(bridge) {
		t.Fatalf("%s hook for a legitimate user: %s", bridge, a)
	}
	m := s.NextSMS(t, phone)
	link, cid := m.Link()
	if cid == "" {
		t.Fatalf("the text to %s carries no challenge link", phone)
	}
	return Challenge{Phone: phone, OTP: otp, SMS: m, Link: link, CID: cid, Hook: a}
}

// Enroll submits typist's samples on c from the server's Phone until the engine
// says the user is enrolled (at most max samples), and returns how many it
// took. The first sample binds the Phone to the user.
func (s *Server) Enroll(t testing.TB, c Challenge, ty *Typist, max int) int {
	t.Helper()
	return s.enroll(t, s.Phone(), c, ty, max)
}

func (s *Server) enroll(t testing.TB, d *Device, c Challenge, ty *Typist, max int) int {
	t.Helper()
	for i := 1; i <= max; i++ {
		a := s.VerifyFrom(t, d, c.CID, c.TextID, ty.Type(c.TextID, c.Len))
		res := a.JSON()
		if a.Status != 200 || res["action"] != "enroll" {
			t.Fatalf("enrollment sample %d: %s", i, a)
		}
		enr, _ := res["enrollment"].(map[string]any)
		if enr != nil && enr["samples"] == enr["required"] {
			return i
		}
	}
	t.Fatalf("not enrolled after %d samples", max)
	return 0
}

// Pass has the owner typist pass the check on c: up to tries attempts (the
// engine may refuse a genuine attempt now and then). It returns the verify
// answer that revealed the code.
func (s *Server) Pass(t testing.TB, c Challenge, owner *Typist, tries int) Answer {
	t.Helper()
	return s.pass(t, s.Phone(), c, owner, tries)
}

func (s *Server) pass(t testing.TB, d *Device, c Challenge, owner *Typist, tries int) Answer {
	t.Helper()
	var last Answer
	for range tries {
		last = s.VerifyFrom(t, d, c.CID, c.TextID, owner.Type(c.TextID, c.Len))
		if last.Status == 200 && last.JSON()["otp"] == c.OTP {
			return last
		}
		if last.Status != 200 {
			break
		}
	}
	t.Fatalf("the owner did not pass on %s: %s", c.Phone, last)
	return Answer{}
}

// EnrollingText reports whether the text carries the code (an enrolling user's
// SMS does).
func (c Challenge) EnrollingText() bool { return strings.Contains(c.SMS.Body, c.OTP) }
