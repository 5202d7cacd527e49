package challenge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
)

// Event is a validated-to-be OTP delivery request from a bridge.
type Event struct {
	Bridge  string
	Phone   string
	OTP     string
	Voice   bool
	Locale  string
	Subject string
}

// Started describes the challenge a hook created.
type Started struct {
	ChallengeID string
	// TransactionID names the delivery to the vendor and in the audit log. It is
	// derived from the challenge id but does not reveal it: the challenge id is the
	// link's secret, and vendors log transaction ids where their admins can read them.
	TransactionID string
	Enrolling     bool
	SMSID         string
}

// Start creates a challenge for the event and texts the link. On any error no
// challenge is left behind.
func (s *Service) Start(ctx context.Context, ev Event) (Started, error) {
	phone := strings.TrimSpace(ev.Phone)
	if !e164.MatchString(phone) {
		return Started{}, ErrInvalidPhone
	}
	if !otpShape.MatchString(ev.OTP) {
		return Started{}, ErrInvalidOTP
	}
	if ev.Voice {
		return Started{}, ErrUnsupportedChannel
	}
	lang := s.language(ev.Locale)
	uid := UserID(phone, s.set.HashSalt)
	u, err := s.loadOrCreateUser(ctx, uid, lang)
	if err != nil {
		return Started{}, err
	}
	enr, err := s.Verifier.Enrollment(ctx, uid, u.TextID)
	if err != nil {
		return Started{}, fmt.Errorf("enrollment of user: %w", err)
	}

	now := s.Now()
	rec := record{UserID: uid, Bridge: ev.Bridge, Language: lang, CreatedAt: now, ExpiresAt: now.Add(s.set.ChallengeTTL)}
	var cid string
	for attempt := 0; ; attempt++ {
		cid = newID()
		rec.SealedOTP = s.Sealer.Seal([]byte(ev.OTP), sealContext(cid))
		val, _ := json.Marshal(rec)
		err = s.Store.Create(ctx, storage.Challenges, cid, val, s.set.ChallengeTTL)
		// A collision of 128 random bits is not expected in the life of the universe;
		// one retry keeps a broken random source from turning into a silent overwrite.
		if !errors.Is(err, storage.ErrExists) || attempt > 0 {
			break
		}
	}
	if err != nil {
		return Started{}, fmt.Errorf("create challenge: %w", err)
	}

	link := s.set.BaseURL + "/" + cid
	body := "Open " + link + " to see your sign-in code."
	if !enr.Enrolled {
		// While enrolling the user has no profile to check against, so the code
		// travels in the SMS (as in the Node SMS+) and the page collects samples.
		body = "Your code is " + ev.OTP + ". Set up SMS+ protection: " + link
	}
	receipt, err := s.Sender.Send(ctx, sms.Message{To: phone, Body: body})
	if err != nil {
		// Delete with a fresh context: the hook's may be what ran out.
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if derr := s.Store.Delete(cleanup, storage.Challenges, cid); derr != nil {
			s.Log.Warn("delete challenge after failed send", "err", derr)
		}
		return Started{}, errors.Join(ErrSMS, err)
	}
	txn := TransactionID(cid)
	s.audit("challenge_created", uid, map[string]any{"bridge": ev.Bridge, "enrolling": !enr.Enrolled, "transaction": txn})
	return Started{ChallengeID: cid, TransactionID: txn, Enrolling: !enr.Enrolled, SMSID: receipt.ID}, nil
}

func (s *Service) loadOrCreateUser(ctx context.Context, uid, lang string) (user, error) {
	if u, err := s.getUser(ctx, uid); !errors.Is(err, storage.ErrNotFound) {
		return u, err
	}
	p, err := s.NewPhrase(lang)
	if err != nil {
		return user{}, fmt.Errorf("new phrase: %w", err)
	}
	u := user{Phrase: p.Text, TextID: p.TextID, Language: lang, CreatedAt: s.Now()}
	val, _ := json.Marshal(u)
	err = s.Store.Create(ctx, storage.Users, uid, val, 0)
	if errors.Is(err, storage.ErrExists) {
		// Two first hooks for one phone raced; the other one's phrase wins.
		return s.getUser(ctx, uid)
	}
	if err != nil {
		return user{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

func (s *Service) getUser(ctx context.Context, uid string) (user, error) {
	val, err := s.Store.Get(ctx, storage.Users, uid)
	if err != nil {
		return user{}, fmt.Errorf("get user: %w", err)
	}
	var u user
	if err := json.Unmarshal(val, &u); err != nil {
		return user{}, fmt.Errorf("decode user: %w", err)
	}
	return u, nil
}

// language picks the challenge language from the vendor's locale ("EN-US" -> "en").
func (s *Service) language(locale string) string {
	l := strings.ToLower(locale)
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i]
	}
	if len(l) == 2 {
		return l
	}
	return s.set.DefaultLanguage
}

// audit records what happened, off the request path (see package audit).
func (s *Service) audit(event, uid string, fields map[string]any) {
	s.Audit.Record(event, uid, fields)
}
