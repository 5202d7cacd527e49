package challenge

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/sms"
)

// slowFailingSender holds the first send until released, then fails it; later
// sends go through.
type slowFailingSender struct {
	release chan struct{}
	mu      sync.Mutex
	sent    int
}

func (s *slowFailingSender) Send(_ context.Context, m sms.Message) (sms.Receipt, error) {
	s.mu.Lock()
	s.sent++
	first := s.sent == 1
	s.mu.Unlock()
	if first {
		<-s.release
		return sms.Receipt{}, errors.New("provider gave up")
	}
	return sms.Receipt{ID: "SM2"}, nil
}

func (s *slowFailingSender) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// orderingAudit lets the first send fail, and its late failure finish, while
// the hook is still recording challenge_created: the hook's own answer is then
// remembered after the late failure let go of the claim.
type orderingAudit struct {
	auditTrail
	release    chan struct{}
	lateDone   chan struct{}
	onceCreate sync.Once
}

func (a *orderingAudit) Record(event, uid string, fields map[string]any) {
	a.auditTrail.Record(event, uid, fields)
	switch event {
	case "challenge_created":
		a.onceCreate.Do(func() {
			close(a.release)
			<-a.lateDone
		})
	case "sms_failed_after_pending":
		close(a.lateDone)
	}
}

// A send answered PENDING that fails while the hook is still finishing must
// leave the delivery unclaimed: the vendor's retry of the same code sends an
// SMS, instead of getting "pending" again for the challenge TTL while no text
// and no challenge exist.
func TestLateFailureBeforeHookSettlesFreesTheDelivery(t *testing.T) {
	t.Parallel()
	sender := &slowFailingSender{release: make(chan struct{})}
	audit := &orderingAudit{release: sender.release, lateDone: make(chan struct{})}
	f := newFixtureWith(t, nil, func(_ *Settings, d *Deps) {
		d.Sender = sender
		d.Audit = audit
	})
	ev := Event{Bridge: "okta", Phone: phone, OTP: "730519", Budget: Budget{AnswerBy: time.Now().Add(20 * time.Millisecond)}}
	st, err := f.svc.Start(context.Background(), ev)
	if err != nil || !st.Pending {
		t.Fatalf("first hook = %+v, %v; want pending", st, err)
	}
	if err := f.svc.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev.Budget = Budget{}
	again, err := f.svc.Start(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if again.ChallengeID == "" || sender.count() != 2 {
		t.Fatalf("retry after the failed send = %+v with %d sends; want a new challenge and a second SMS", again, sender.count())
	}
}
