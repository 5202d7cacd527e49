package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/smsplus/smsplus/host/internal/challenge"
	"github.com/smsplus/smsplus/sdk/bridge"
)

// respondBudget is kept back from the hook budget for rendering the answer.
const respondBudget = 250 * time.Millisecond

// handleHook runs one IAM webhook: parse in the bridge, start the challenge, and
// answer in the vendor's format, always before the vendor's deadline.
func (s *Server) handleHook(c echo.Context) error {
	start := time.Now()
	id := c.Param("bridge")
	hook, ok := s.Hooks(id)
	if !ok {
		return c.JSON(http.StatusNotFound, map[string]string{"code": "unknown_bridge", "message": "No enabled bridge has this id."})
	}
	budget := s.HookBudget
	if d := hook.Deadline(); d > 0 && d-respondBudget*2 < budget {
		budget = d - respondBudget*2
	}
	deadline := start.Add(budget)
	rid := requestID(c)

	// The body is read before the hook takes an admission slot, under its own
	// short deadline, and one client address may read only HookMaxPerClient
	// bodies at a time (refused at once beyond that, before a byte is read): a
	// client that trickles bodies over many sockets never holds a slot, so it
	// cannot make SMS+ refuse the vendor's real hooks (and a refused hook makes
	// some vendors text the raw code themselves). Once read, a hook is limited by
	// admission only, so a vendor's burst while the SMS provider is slow is not
	// refused for coming from one address.
	client := c.RealIP()
	if !s.clients.enter(client) {
		stopReading(c)
		return s.answer(c, hook, deadline, &bridge.Outcome{Kind: bridge.OutcomeFailed, Code: bridge.CodeOverloaded,
			Message: "SMS+ is overloaded"}, start)
	}
	body, err := s.readHookBody(c)
	s.clients.leave(client)
	if err != nil {
		switch {
		case errors.Is(err, errBodyTooLarge):
			return s.answer(c, hook, deadline, &bridge.Outcome{Kind: bridge.OutcomeRejected, Code: bridge.CodeBodyTooLarge,
				Message: "Request body too large", Status: http.StatusRequestEntityTooLarge}, start)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return s.answer(c, hook, deadline, &bridge.Outcome{Kind: bridge.OutcomeRejected, Code: bridge.CodeMalformed,
				Message: "Request body did not arrive in time", Status: http.StatusRequestTimeout}, start)
		}
		return s.answer(c, hook, deadline, &bridge.Outcome{Kind: bridge.OutcomeRejected, Code: bridge.CodeMalformed,
			Message: "Request body could not be read", Status: http.StatusBadRequest}, start)
	}

	if !hook.Alive() {
		return s.answerUnavailable(c, hook, start)
	}

	// Admission: wait for a slot only briefly. A hook that cannot start now would
	// only answer late, and a late answer makes the vendor text the raw code.
	select {
	case s.inflight <- struct{}{}:
		defer func() { <-s.inflight }()
	default:
		wait := time.NewTimer(budget / 20)
		select {
		case s.inflight <- struct{}{}:
			wait.Stop()
			defer func() { <-s.inflight }()
		case <-wait.C:
			return s.answer(c, hook, deadline, &bridge.Outcome{Kind: bridge.OutcomeFailed, Code: bridge.CodeOverloaded,
				Message: "SMS+ is overloaded"}, start)
		}
	}

	ctx, cancel := context.WithDeadline(c.Request().Context(), deadline.Add(-respondBudget))
	defer cancel()
	res, err := hook.Parse(ctx, toBridgeRequest(c.Request(), body, rid))
	if err != nil {
		s.log.Error("bridge parse", "request_id", rid, "bridge", id, "err", err)
		if !hook.Alive() {
			return s.answerUnavailable(c, hook, start)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return s.answer(c, hook, deadline, failed(bridge.CodeDeadline, "SMS+ ran out of time"), start)
		}
		return s.answer(c, hook, deadline, failed(bridge.CodeInternal, "SMS+ bridge error"), start)
	}

	var out *bridge.Outcome
	switch {
	case res.Rejection != nil:
		rj := res.Rejection
		s.log.Info("hook rejected", "request_id", rid, "bridge", id, "code", rj.Code)
		out = &bridge.Outcome{Kind: bridge.OutcomeRejected, Code: rj.Code, Message: rj.Message, Status: rj.Status}
	case res.TestPing != nil:
		out = &bridge.Outcome{Kind: bridge.OutcomeTestOK, Metadata: res.TestPing.Metadata}
	case res.OTP != nil:
		out = s.startChallenge(ctx, id, rid, res.OTP)
	}
	return s.answer(c, hook, deadline, out, start)
}

func (s *Server) startChallenge(ctx context.Context, bridgeID, rid string, ev *bridge.OTPEvent) *bridge.Outcome {
	started, err := s.Service.Start(ctx, challenge.Event{
		Bridge: bridgeID, Phone: ev.Phone, OTP: ev.OTP, Message: ev.Message, Voice: ev.Channel == bridge.ChannelVoice,
		Locale: ev.Locale, Subject: ev.Subject,
	})
	if err == nil {
		kind := bridge.OutcomeDelivered
		switch {
		case started.Fallback:
			kind = bridge.OutcomeFallbackDelivered
		case started.Pending:
			kind = bridge.OutcomePending
		}
		s.log.Info("hook handled", "request_id", rid, "bridge", bridgeID, "outcome", kind.String(), "enrolling", started.Enrolling)
		return &bridge.Outcome{Kind: kind, TransactionID: started.TransactionID, Metadata: ev.Metadata}
	}
	if errors.Is(err, challenge.ErrInProgress) {
		// The same delivery is being made by another hook; it will finish the job.
		return &bridge.Outcome{Kind: bridge.OutcomePending, Metadata: ev.Metadata}
	}
	out := failed(bridge.CodeInternal, "SMS+ could not deliver the code")
	out.Metadata = ev.Metadata
	switch {
	case errors.Is(err, challenge.ErrInvalidPhone):
		out.Code, out.Message = bridge.CodeInvalidPhone, "Phone number is not in international format"
	case errors.Is(err, challenge.ErrInvalidOTP):
		out.Code, out.Message = bridge.CodeInvalidOTP, "One-time code is malformed"
	case errors.Is(err, challenge.ErrUnsupportedChannel):
		out.Code, out.Message = bridge.CodeUnsupported, "Voice delivery is not supported by SMS+"
	case errors.Is(err, challenge.ErrSMS):
		out.Code, out.Message = bridge.CodeSMSFailed, "SMS provider did not accept the message"
	case errors.Is(err, challenge.ErrRateLimited):
		out.Code, out.Message = bridge.CodeRateLimited, "Hourly cap on texts reached"
	case errors.Is(err, challenge.ErrCountryNotAllowed):
		out.Code, out.Message = bridge.CodeCountryNotAllowed, "Destination country not allowed"
	case errors.Is(err, challenge.ErrDestinationRefused):
		out.Code, out.Message = bridge.CodeDestinationRefused, "Destination type refused"
	case errors.Is(err, challenge.ErrBiometricsDown):
		out.Code, out.Message = bridge.CodeBiometricsOff, "Typing biometrics unavailable"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		out.Code, out.Message = bridge.CodeDeadline, "SMS+ ran out of time"
	}
	level := s.log.Warn
	if out.Code == bridge.CodeInternal {
		level = s.log.Error
	}
	level("challenge not sent", "request_id", rid, "bridge", bridgeID, "code", out.Code, "err", err)
	return out
}

func failed(code, msg string) *bridge.Outcome {
	return &bridge.Outcome{Kind: bridge.OutcomeFailed, Code: code, Message: msg}
}

// answer renders out through the bridge and writes it. If the bridge cannot render
// in time, the pre-rendered failure answer goes out instead.
func (s *Server) answer(c echo.Context, hook Hook, deadline time.Time, out *bridge.Outcome, start time.Time) error {
	out.Duration = time.Since(start)
	ctx, cancel := context.WithDeadline(context.WithoutCancel(c.Request().Context()), deadline)
	defer cancel()
	resp, err := hook.Respond(ctx, out)
	if err != nil {
		s.log.Error("bridge respond", "request_id", requestID(c), "err", err)
		resp = hook.Unavailable()
	}
	err = s.writeBridgeResponse(c, resp)
	s.observeHook(c, out.Kind.String(), out.Code, start)
	return err
}

// hopHeaders are owned by the HTTP server, not by a bridge's answer.
var hopHeaders = map[string]bool{"content-length": true, "connection": true, "transfer-encoding": true, "keep-alive": true, "upgrade": true}

func (s *Server) writeBridgeResponse(c echo.Context, r *bridge.Response) error {
	if r == nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"code": bridge.CodeUnavailable, "message": "Bridge unavailable."})
	}
	h := c.Response().Header()
	for _, hd := range r.Headers {
		if hopHeaders[strings.ToLower(hd.Name)] {
			continue
		}
		h.Del(hd.Name)
		for _, v := range hd.Values {
			h.Add(hd.Name, v)
		}
	}
	if h.Get(echo.HeaderContentType) == "" {
		h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	}
	c.Response().WriteHeader(r.Status)
	_, err := c.Response().Write(r.Body)
	return err
}

var errBodyTooLarge = errors.New("body too large")

// readHookBody reads a hook's body by s.HookBodyTimeout. The connection's read
// deadline is lifted again afterwards: net/http keeps reading the connection in
// the background to notice a client that goes away, and a deadline passing there
// would cancel the hook's context while it still works.
//
// When the body cannot be read, reading stops for good (stopReading): after the
// answer net/http would otherwise try to read the rest of the body, at the
// client's pace.
func (s *Server) readHookBody(c echo.Context) ([]byte, error) {
	rc := http.NewResponseController(c.Response().Writer)
	if err := rc.SetReadDeadline(time.Now().Add(s.HookBodyTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return nil, err
	}
	body, err := readBody(c.Request(), s.MaxBodyBytes)
	if err != nil {
		stopReading(c)
		return nil, err
	}
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.log.Debug("clear body read deadline", "err", err)
	}
	return body, nil
}

// stopReading ends reading from a request whose body will not be read: its
// answer closes the connection, and the read deadline is put in the past so
// that net/http's attempt to drain the rest of the body fails at once instead
// of waiting on a client that trickles it.
func stopReading(c echo.Context) {
	c.Response().Header().Set(echo.HeaderConnection, "close")
	rc := http.NewResponseController(c.Response().Writer)
	_ = rc.SetReadDeadline(time.Now())
}

// clientGate counts each client address's hook bodies being read.
type clientGate struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func newClientGate(max int) *clientGate { return &clientGate{max: max, n: map[string]int{}} }

// enter takes one of client's places, or reports that it has none left.
func (g *clientGate) enter(client string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n[client] >= g.max {
		return false
	}
	g.n[client]++
	return true
}

func (g *clientGate) leave(client string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n[client] <= 1 {
		delete(g.n, client) // the map holds only clients with hooks in flight
		return
	}
	g.n[client]--
}

// readBody reads at most limit bytes; a longer body is refused rather than cut.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errBodyTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, errBodyTooLarge
	}
	return body, nil
}

func toBridgeRequest(r *http.Request, body []byte, rid string) *bridge.Request {
	hs := make([]bridge.Header, 0, len(r.Header))
	for name, vals := range r.Header {
		hs = append(hs, bridge.Header{Name: name, Values: vals})
	}
	return &bridge.Request{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Headers: hs, Body: body,
		RemoteAddr: r.RemoteAddr, RequestID: rid,
	}
}
