package attack_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// TestAttackCodeFormattedPastTheNoticeCheck.
//
// Attacker: a SIM holder (or whoever reads the victim's texts) waiting for a
// code SMS+ texts in clear. With FUSIONAUTH_NON_MFA=deliver, a FusionAuth
// message from which the bridge reads no code and that "may hold no code" is
// texted as is, as a notice. FusionAuth before 1.67 sends the code only in the
// text, and an admin's template may format it the way many services do:
// grouped ("482 913", "482-913"), spelled digit by digit ("4 8 2 9 1 3"), or
// with an invisible character inside ("482\u200b913"). The phone shows each as
// the code.
//
// Defence proved: a text whose digits read as a code once grouped is no
// notice: the bridge refuses it (and the host would too), nothing is texted.
// A code-free message is still delivered, so the refusal is not a blanket one.
func TestAttackCodeFormattedPastTheNoticeCheck(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t, "ENABLED_BRIDGES=fusionauth", "FUSIONAUTH_NON_MFA=deliver")
	formats := []string{
		"Your code is 482 913",
		"Your code is 482-913",
		"Your code is 4 8 2 9 1 3",
		"Your code is 482\u200b913",
		"Your code is 4\u20e38\u20e32\u20e39\u20e31\u20e33\u20e3",
	}
	for i, text := range formats {
		phone := fmt.Sprintf("+1303555%04d", 1300+i)
		a := s.PostHook(t, "fusionauth", e2e.AuthHeaders("fusionauth"),
			[]byte(fmt.Sprintf(`{"phoneNumber":%q,"textMessage":%q,"type":"SMS"}`, phone, text)))
		if a.Status == 200 {
			t.Errorf("%q: answered %s, want a refusal", text, brief("fusionauth", a))
		}
		for _, m := range s.SMSTo(phone) {
			t.Errorf("%q: texted %q", text, m.Body)
		}
	}
	// Control: a message with no digits at all still goes out as a notice.
	const phone, clean = "+13035551399", "Your verification code is K7Q2ZP"
	a := s.PostHook(t, "fusionauth", e2e.AuthHeaders("fusionauth"),
		[]byte(fmt.Sprintf(`{"phoneNumber":%q,"textMessage":%q,"type":"SMS"}`, phone, clean)))
	if a.Status != 200 {
		t.Fatalf("code-free notice: %s", brief("fusionauth", a))
	}
	if m := s.NextSMS(t, phone); !strings.Contains(m.Body, clean) {
		t.Errorf("code-free notice texted as %q", m.Body)
	}
}
