package metrics

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/smsplus/smsplus/host/internal/config"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
)

// Auditor is the challenge service's audit trail (challenge.Auditor).
type Auditor interface {
	Record(event, user string, fields map[string]any)
}

// Verification results, from the audit events that report them.
var verificationEvents = map[string]string{
	"otp_revealed":      "match",
	"verify_failed":     "mismatch",
	"enrollment_sample": "enroll_sample",
	"wrong_position":    "wrong_position",
	"phrase_mismatch":   "phrase_mismatch",
}

// unknownDeviceEvent is audited for each verification from a device the user
// has not bound; its policy and outcome become labels, from fixed sets only.
const unknownDeviceEvent = "unknown_device"

var (
	devicePolicies = []string{"refuse", "strict"}
	deviceOutcomes = []string{"refused", "proof_invalid", "strict_unavailable", "strict_failed", "strict_passed"}
)

func oneOf(fields map[string]any, key string, allowed []string) string {
	if v, ok := fields[key].(string); ok && slices.Contains(allowed, v) {
		return v
	}
	return "other"
}

// lockoutEvent is audited when a user is locked out.
const lockoutEvent = "user_locked"

// Reasons a text was refused before sending, from the audit events that report
// them (challenge.Start and its caps).
var refusalEvents = map[string]string{
	"refused_number_type":   "number_type",
	"refused_country":       "country",
	"refused_rate":          "phone_cap",
	"refused_range_cap":     "range_cap",
	"refused_global_budget": "global_budget",
}

// refusedTypeLabel is the type label of a refused_number_type event: one of the
// types REFUSED_NUMBER_TYPES can name, else "other", so that nothing else (a
// number, above all) can become a label.
func refusedTypeLabel(fields map[string]any) string {
	if t, ok := fields["type"].(string); ok && slices.Contains(config.NumberTypes, t) {
		return t
	}
	return "other"
}

// Auditor returns next, counting every event on its way: all of them by name,
// verifications by result, lockouts, and texts refused by reason.
func (m *Metrics) Auditor(next Auditor) Auditor {
	for _, result := range verificationEvents {
		m.verifications.WithLabelValues(result) // export zeros from the start
	}
	for _, reason := range refusalEvents {
		m.smsRefused.WithLabelValues(reason)
	}
	return &auditor{m: m, next: next}
}

type auditor struct {
	m    *Metrics
	next Auditor
}

func (a *auditor) Record(event, user string, fields map[string]any) {
	a.m.events.WithLabelValues(event).Inc()
	if result, ok := verificationEvents[event]; ok {
		a.m.verifications.WithLabelValues(result).Inc()
	}
	if event == lockoutEvent {
		a.m.lockouts.Inc()
	}
	if event == unknownDeviceEvent {
		a.m.unknownDevs.WithLabelValues(oneOf(fields, "policy", devicePolicies), oneOf(fields, "outcome", deviceOutcomes)).Inc()
	}
	if reason, ok := refusalEvents[event]; ok {
		a.m.smsRefused.WithLabelValues(reason).Inc()
		if reason == "number_type" {
			a.m.refusedTypes.WithLabelValues(refusedTypeLabel(fields)).Inc()
		}
	}
	a.next.Record(event, user, fields)
}

// SMS send results.
const (
	SendSent        = "sent"        // the provider accepted the message
	SendRejected    = "rejected"    // the provider refused it for good (sms.ErrRejected)
	SendTimeout     = "timeout"     // no answer in time
	SendUnavailable = "unavailable" // the provider could not take it (sms.ErrUnavailable)
	SendError       = "error"       // anything else
)

// Sender returns next, counting each send by result and timing it.
func (m *Metrics) Sender(next sms.Sender) sms.Sender {
	for _, r := range []string{SendSent, SendRejected, SendTimeout, SendUnavailable, SendError} {
		m.smsSends.WithLabelValues(r)
	}
	return &sender{m: m, next: next}
}

type sender struct {
	m    *Metrics
	next sms.Sender
}

func (s *sender) Send(ctx context.Context, msg sms.Message) (sms.Receipt, error) {
	start := time.Now()
	r, err := s.next.Send(ctx, msg)
	s.m.smsSeconds.Observe(time.Since(start).Seconds())
	s.m.smsSends.WithLabelValues(sendResult(err)).Inc()
	return r, err
}

func sendResult(err error) string {
	switch {
	case err == nil:
		return SendSent
	case errors.Is(err, context.DeadlineExceeded):
		return SendTimeout
	case errors.Is(err, sms.ErrRejected):
		return SendRejected
	case errors.Is(err, sms.ErrUnavailable):
		return SendUnavailable
	}
	return SendError
}

// Store error kinds.
const (
	StoreUnavailable = "unavailable" // storage.ErrUnavailable: down, unreachable
	StoreTimeout     = "timeout"     // the call's deadline passed
	StoreOther       = "other"
)

// Store returns next, counting the calls that fail. ErrNotFound and ErrExists
// are answers, not failures, and a call whose caller went away
// (context.Canceled) is not the store's fault.
func (m *Metrics) Store(next storage.Store) storage.Store { return &store{m: m, next: next} }

type store struct {
	m    *Metrics
	next storage.Store
}

var (
	_ storage.Store   = (*store)(nil)
	_ storage.Batcher = (*store)(nil)
)

func (s *store) count(op string, err error) {
	s.m.storeCalls.WithLabelValues(op).Inc()
	switch {
	case err == nil, errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrExists), errors.Is(err, context.Canceled):
		return
	case errors.Is(err, context.DeadlineExceeded):
		s.m.storeErrors.WithLabelValues(op, StoreTimeout).Inc()
	case errors.Is(err, storage.ErrUnavailable):
		s.m.storeErrors.WithLabelValues(op, StoreUnavailable).Inc()
	default:
		s.m.storeErrors.WithLabelValues(op, StoreOther).Inc()
	}
}

func (s *store) Create(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	err := s.next.Create(ctx, ns, key, value, ttl)
	s.count("create", err)
	return err
}

func (s *store) Put(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	err := s.next.Put(ctx, ns, key, value, ttl)
	s.count("put", err)
	return err
}

func (s *store) Get(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	v, err := s.next.Get(ctx, ns, key)
	s.count("get", err)
	return v, err
}

func (s *store) Take(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	v, err := s.next.Take(ctx, ns, key)
	s.count("take", err)
	return v, err
}

func (s *store) Delete(ctx context.Context, ns storage.Namespace, key string) error {
	err := s.next.Delete(ctx, ns, key)
	s.count("delete", err)
	return err
}

func (s *store) Incr(ctx context.Context, ns storage.Namespace, key string, ttl time.Duration) (int64, error) {
	n, err := s.next.Incr(ctx, ns, key, ttl)
	s.count("incr", err)
	if err == nil && ns == storage.SMSGlobalRate {
		// The budget's counter is shared by every replica, so its value is the
		// whole deployment's use of the hour, read here for free.
		s.m.budgetUsed.Set(float64(n))
	}
	return n, err
}

// Batch passes a batch on whole (storage.Run), so that the backend still runs
// it as one unit.
func (s *store) Batch(ctx context.Context, ops []storage.Op) ([]storage.Result, error) {
	res, err := storage.Run(ctx, s.next, ops)
	s.count("batch", err)
	for i, o := range ops {
		if err == nil && res[i].Ran && o.Kind == storage.OpIncr && o.NS == storage.SMSGlobalRate {
			s.m.budgetUsed.Set(float64(res[i].N))
		}
	}
	return res, err
}

func (s *store) Count(ctx context.Context, ns storage.Namespace, key string) (int64, error) {
	n, err := s.next.Count(ctx, ns, key)
	s.count("count", err)
	return n, err
}

func (s *store) Ping(ctx context.Context) error {
	err := s.next.Ping(ctx)
	s.count("ping", err)
	return err
}

func (s *store) Close() error {
	err := s.next.Close()
	s.count("close", err)
	return err
}

// Unwrap returns the decorated store, for code that looks for a backend's
// optional interfaces.
func (s *store) Unwrap() storage.Store { return s.next }
