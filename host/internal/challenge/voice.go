package challenge

import "errors"

// Voice policies (VOICE_POLICY): what Start does with a vendor's request to
// speak a code. A link cannot be spoken, and a code read aloud reaches
// whoever holds the phone, which is the attack SMS+ exists to stop.
const (
	// VoiceRefuse: the vendor's failure (ErrUnsupportedChannel). Some vendors
	// (Okta) then speak the code themselves. The default: it is what SMS+ did
	// before the policy existed.
	VoiceRefuse = "refuse"
	// VoiceFailClosed: the vendor's success, nothing sent (Started.Withheld),
	// so that the vendor neither retries nor falls back to speaking the code.
	// The user hears nothing and chooses SMS instead.
	VoiceFailClosed = "fail_closed"
	// VoiceSMSLink: the request is served as an SMS one: the link is texted to
	// the same number, with every check an SMS gets. A request without a code
	// (the vendor spelled it out where no bridge can read it) has nothing to
	// protect behind a link and is refused as under VoiceRefuse.
	VoiceSMSLink = "sms_link"
)

// errNoCode is why a voice request without a code is refused under
// VoiceSMSLink: the audit trail says so.
var errNoCode = errors.New("no code")

// voice applies the voice policy to a voice request for phone, before its code
// or its destination is checked: fail_closed works without a code, and sends
// nothing a check would have to guard. done is false when the request goes on
// as an SMS one (VoiceSMSLink with a code).
func (s *Service) voice(ev Event, phone string) (st Started, done bool, err error) {
	uid := UserID(phone, s.set.HashSalt)
	switch s.set.VoicePolicy {
	case VoiceFailClosed:
		// A transaction id of its own, so that the vendor's log and the audit
		// trail can be matched; it names no challenge (none exists).
		st = Started{Withheld: true, TransactionID: TransactionID(newID())}
		s.audit("voice_withheld", uid, ev.fields("transaction", st.TransactionID))
		s.Log.Info("voice request withheld: answered success, nothing sent", "bridge", ev.Bridge,
			"user", shortID(uid), "transaction", st.TransactionID)
		return st, true, nil
	case VoiceSMSLink:
		if ev.OTP != "" {
			return Started{}, false, nil
		}
		s.audit("voice_refused", uid, ev.fields("policy", VoiceSMSLink, "why", errNoCode.Error()))
		return Started{}, true, ErrUnsupportedChannel
	}
	s.audit("voice_refused", uid, ev.fields("policy", VoiceRefuse))
	return Started{}, true, ErrUnsupportedChannel
}
