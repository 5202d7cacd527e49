package i18n

import (
	"strings"
	"testing"
)

// A realistic link: BASE_URL + "/" + a 22-character base64url challenge id.
const realisticLink = "https://sms.example.com/Zq3_x-9KpL0aBcDeFgHiJk"

// The texts are sized for links up to 60 characters.
var link60 = "https://sms.example.com/" + strings.Repeat("x", 60-len("https://sms.example.com/"))

func TestChallengeSMSFitOneSegment(t *testing.T) {
	t.Parallel()
	if len(realisticLink) != 46 || len(link60) != 60 {
		t.Fatalf("link lengths %d, %d", len(realisticLink), len(link60))
	}
	c := Builtin()
	for _, lang := range c.Languages() {
		for _, link := range []string{realisticLink, link60} {
			for _, code := range []string{"1234", "482913", "9876543210"} {
				enroll := c.EnrollSMS(lang, code, link)
				if !strings.Contains(enroll, link) || !strings.Contains(enroll, code) {
					t.Errorf("%s enroll text lacks the link or the code: %q", lang, enroll)
				}
				checkOneGSMSegment(t, lang, enroll)
			}
			text := c.LinkSMS(lang, link)
			if !strings.Contains(text, link) {
				t.Errorf("%s link text lacks the link: %q", lang, text)
			}
			if strings.ContainsAny(strings.ReplaceAll(text, link, ""), "0123456789") {
				t.Errorf("%s link text carries digits (a code?): %q", lang, text)
			}
			checkOneGSMSegment(t, lang, text)
		}
	}
}

// Every language shipped so far can be written in GSM-7, and must be: with UCS-2
// (70 units) a 46-character link leaves no room for the rest.
func checkOneGSMSegment(t *testing.T, lang, text string) {
	t.Helper()
	m := MeasureSMS(text)
	if m.Encoding != GSM7 || m.Segments != 1 {
		var bad []string
		for _, r := range text {
			if GSM7Septets(r) == 0 {
				bad = append(bad, string(r))
			}
		}
		t.Errorf("%s: %s, %d units, %d segments (non-GSM: %q): %q", lang, m.Encoding, m.Units, m.Segments, bad, text)
	}
}

func TestSMSLinkBudget(t *testing.T) {
	t.Parallel()
	c := Builtin()
	budget := c.SMSLinkBudget()
	if budget < 60 {
		t.Fatalf("budget %d: the texts must leave room for a 60-character link", budget)
	}
	code := strings.Repeat("9", MaxCodeLen)
	segments := func(linkLen int) (most int) {
		link := "https://" + strings.Repeat("a", linkLen-len("https://"))
		for _, lang := range c.Languages() {
			most = max(most, MeasureSMS(c.EnrollSMS(lang, code, link)).Segments, MeasureSMS(c.LinkSMS(lang, link)).Segments)
		}
		return most
	}
	if got := segments(budget); got != 1 {
		t.Errorf("a %d-character link (the budget) gives %d segments", budget, got)
	}
	if got := segments(budget + 1); got != 2 {
		t.Errorf("a %d-character link (budget+1) gives %d segments, want 2: the budget is not the limit", budget+1, got)
	}
}
