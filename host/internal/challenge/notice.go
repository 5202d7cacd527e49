package challenge

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/smsplus/smsplus/host/internal/i18n"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/sdk/otp"
)

// Notices: a bridge may ask the host to text a message that carries no
// one-time code (Auth0's blocked_account, a FusionAuth or PingOne message
// without a code), as is and without a link, where the operator enabled it in
// the bridge's settings. It is still a text SMS+ pays for, sent to a number
// the caller chose: the destination checks and the hourly caps apply as to a
// challenge text. And it is still texted in clear, so a text that may hold a
// code is refused whatever the bridge says.

// Errors of Notify.
var (
	// ErrNoticeEmpty: the notice has no text.
	ErrNoticeEmpty = errors.New("challenge: notice without text")
	// ErrNoticeMayHoldCode: the notice's text holds something that may be a
	// code (digits that read as one, or a number character outside ASCII); texting it
	// in clear could hand a code to whoever holds the phone.
	ErrNoticeMayHoldCode = errors.New("challenge: notice text may hold a code")
	// ErrNoticeTooLong: the text takes more than MaxNoticeSegments.
	ErrNoticeTooLong = errors.New("challenge: notice text too long")
)

// MaxNoticeSegments bounds a notice's text, in SMS segments as the provider
// bills them: 1530 GSM-7 characters, or 670 in UCS-2 (any character outside
// GSM-7). A vendor's notice is a sentence or two, and the hourly caps count a
// notice as one text whatever its length.
const MaxNoticeSegments = 10

// Notice is a code-free message a bridge asks the host to text as is.
type Notice struct {
	Bridge  string
	Phone   string // E.164
	Message string
	// Sender is the vendor's sender (Auth0's from), used only when it is one of
	// Settings.NoticeSenders.
	Sender string
	// Kind is the vendor's name for the message (blocked_account), for the
	// logs, the metrics and the audit trail; anything but lower-case letters,
	// digits and '_' (at most 64) is recorded as "other".
	Kind              string
	VendorTransaction string
	Budget            Budget
}

// Sent describes a notice that went out.
type Sent struct {
	// TransactionID names the send to the vendor and in the audit trail.
	TransactionID string
	SMSID         string
	// Pending: the SMS provider had not answered by Budget.AnswerBy; the send
	// goes on in the background.
	Pending bool
	// VendorSender: the vendor's sender was used (it is on the allow-list).
	VendorSender bool
}

var noticeKind = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// kindLabel is a notice's kind as logs, metrics and the audit trail show it.
func kindLabel(k string) string {
	if noticeKind.MatchString(k) {
		return k
	}
	return "other"
}

// Notify texts a notice as is, after the checks a challenge text gets: the
// phone, the destination's country and type, and the hourly caps per phone,
// per range and in total. A text that may hold a code is refused.
func (s *Service) Notify(ctx context.Context, n Notice) (Sent, error) {
	phone := strings.TrimSpace(n.Phone)
	if !validPhone(phone) {
		return Sent{}, ErrInvalidPhone
	}
	ev := Event{Bridge: n.Bridge, VendorTransaction: n.VendorTransaction}
	uid := UserID(phone, s.set.HashSalt)
	kind := kindLabel(n.Kind)
	body := strings.TrimSpace(n.Message)
	switch {
	case body == "":
		return Sent{}, ErrNoticeEmpty
	case i18n.MeasureSMS(body).Segments > MaxNoticeSegments:
		return Sent{}, ErrNoticeTooLong
	case mayHoldCode(body):
		// The bridges check this already; a bridge that did not is buggy or
		// hostile, and the host is the last place a code can be stopped.
		s.audit("notice_refused_code", uid, ev.fields("kind", kind))
		s.Log.Warn("notice refused: its text may hold a code", "bridge", n.Bridge, "kind", kind)
		return Sent{}, ErrNoticeMayHoldCode
	}
	if !s.countryAllowed(phone) {
		s.audit("refused_country", "", ev.fields("region", region(phone), "kind", kind))
		return Sent{}, ErrCountryNotAllowed
	}
	if t, refused := refusedType(phone, s.set.RefusedNumberTypes); refused {
		s.audit("refused_number_type", "", ev.fields("type", t, "kind", kind))
		return Sent{}, ErrDestinationRefused
	}
	if err := s.countText(ctx, ev, phone, uid); err != nil {
		return Sent{}, err
	}
	m := sms.Message{To: phone, Body: body}
	st := Sent{TransactionID: TransactionID(newID())}
	if n.Sender != "" && slices.Contains(s.set.NoticeSenders, n.Sender) {
		m.From, st.VendorSender = n.Sender, true
	}
	receipt, pending, err := s.send(ctx, n.Budget.AnswerBy, m, func(err error) {
		s.audit("notice_failed_after_pending", uid, ev.fields("kind", kind, "transaction", st.TransactionID))
		s.Log.Warn("notice failed after pending answer", "transaction", st.TransactionID, "err", err)
	})
	if err != nil {
		s.audit("notice_failed", uid, ev.fields("kind", kind, "transaction", st.TransactionID))
		return Sent{}, errors.Join(ErrSMS, err)
	}
	st.SMSID, st.Pending = receipt.ID, pending
	s.audit("notice_sent", uid, ev.fields("kind", kind, "transaction", st.TransactionID, "pending", pending,
		"vendor_sender", st.VendorSender))
	s.Log.Info("notice sent", "bridge", n.Bridge, "kind", kind, "user", shortID(uid), "transaction", st.TransactionID,
		"pending", pending, "vendor_sender", st.VendorSender)
	return st, nil
}

// mayHoldCode reports whether a notice's text may carry a code: a run of 4 to
// 10 ASCII digits that stands alone or digits grouped as one code (sdk/otp,
// year-like ones included), or any number character outside ASCII: digits of
// another script, full-width, superscript or circled digits (④⑧②), which no
// bridge reads as a code and a phone shows as one all the same.
func mayHoldCode(text string) bool {
	if otp.MayHoldCode(text) {
		return true
	}
	return strings.ContainsFunc(text, func(r rune) bool { return r > unicode.MaxASCII && unicode.IsNumber(r) })
}
