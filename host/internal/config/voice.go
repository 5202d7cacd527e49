package config

import (
	"regexp"
	"slices"
	"strings"

	sdkphone "github.com/smsplus/smsplus/sdk/phone"
)

// Voice is what the host does with a vendor's request to speak a code
// (docs/bridges.md, "Voice requests"). A link cannot be spoken, and a code read
// aloud reaches whoever holds the phone: the attack SMS+ exists to stop.
type Voice struct {
	// Policy (VOICE_POLICY): VoiceRefuse (the default: the vendor's failure,
	// unsupported_channel), VoiceFailClosed (the vendor's success, nothing
	// sent: the vendor neither retries nor speaks the code itself) or
	// VoiceSMSLink (the link texted to the same number, as for an SMS).
	Policy string
}

// VOICE_POLICY values.
const (
	VoiceRefuse     = "refuse"
	VoiceFailClosed = "fail_closed"
	VoiceSMSLink    = "sms_link"
)

func (r *reader) voice() Voice {
	v := strings.ToLower(strings.TrimSpace(r.str("voice_policy")))
	switch v {
	case "":
		v = VoiceRefuse
	case VoiceRefuse, VoiceFailClosed, VoiceSMSLink:
	default:
		r.problem("%s: must be %s, %s or %s, got %q", envName("voice_policy"), VoiceRefuse, VoiceFailClosed, VoiceSMSLink, r.raw["voice_policy"])
		v = VoiceRefuse
	}
	return Voice{Policy: v}
}

// Notices are the settings of code-free notices a bridge asks the host to
// text as is (Auth0's blocked_account with AUTH0_NOTICES=deliver...).
type Notices struct {
	// Senders (NOTICE_SENDERS) are the vendor senders a notice may be texted
	// from: an E.164 number, a short code (3 to 8 digits) or an alphanumeric
	// sender id (1 to 11 letters, digits and spaces, at least one letter). A
	// notice whose vendor sender is not on the list, or that names none, goes
	// from SMS+'s own sender. Empty (the default): always SMS+'s own. The list
	// is the operator's, because a sender is what a user trusts a text by, and
	// the provider must own it.
	Senders []string
}

// alphanumericSender is a GSM alphanumeric sender id.
var alphanumericSender = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)

// shortCode is a carrier short code.
var shortCode = regexp.MustCompile(`^[0-9]{3,8}$`)

// validSender reports whether s is a sender NOTICE_SENDERS may name.
func validSender(s string) bool {
	switch {
	case strings.HasPrefix(s, "+"):
		return sdkphone.IsE164(s)
	case shortCode.MatchString(s):
		return true
	}
	return alphanumericSender.MatchString(s) && strings.ContainsFunc(s, func(c rune) bool {
		return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
	}) && strings.TrimSpace(s) == s
}

func (r *reader) notices() Notices {
	var n Notices
	for _, s := range r.list("notice_senders") {
		if !validSender(s) {
			r.problem("%s: %q is not a sender: an E.164 number (+15550100), a short code (3 to 8 digits) or an alphanumeric sender id (1 to 11 letters, digits and spaces)",
				envName("notice_senders"), s)
			continue
		}
		if !slices.Contains(n.Senders, s) {
			n.Senders = append(n.Senders, s)
		}
	}
	return n
}
