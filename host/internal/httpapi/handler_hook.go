package httpapi

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/smsplus/smsplus/host/internal/hookflow"
	"github.com/smsplus/smsplus/sdk/bridge"
)

// handleHook adapts one IAM webhook call to the hook flow (package hookflow),
// which owns its admission, deadlines, bridge calls and reasons: this handler
// routes it, reads its body, and writes the flow's answer.
func (s *Server) handleHook(c echo.Context) error {
	arrived := time.Now()
	id := c.Param("bridge")
	b, ok := s.Hooks(id)
	if !ok {
		return c.JSON(http.StatusNotFound, map[string]string{"code": "unknown_bridge", "message": "No enabled bridge has this id."})
	}
	rid := requestID(c)
	h := hookflow.Hook{BridgeID: id, Bridge: b, Arrived: arrived, RequestID: rid}
	ctx := c.Request().Context()

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
		return s.writeHookResult(c, s.Flow.Refuse(ctx, h, hookflow.TooManyFromClient))
	}
	body, err := s.readHookBody(c)
	s.clients.leave(client)
	if err != nil {
		why := hookflow.BodyUnreadable
		switch {
		case errors.Is(err, errBodyTooLarge):
			why = hookflow.BodyTooLarge
		case errors.Is(err, os.ErrDeadlineExceeded):
			why = hookflow.BodyTooSlow
		}
		return s.writeHookResult(c, s.Flow.Refuse(ctx, h, why))
	}
	return s.writeHookResult(c, s.Flow.Run(ctx, h, toBridgeRequest(c.Request(), body, rid)))
}

// Headers on every hook answer that say, in the same words for every vendor,
// what SMS+ did: the outcome kind (delivered, pending, fallback_delivered,
// failed, rejected, withheld, unavailable...) and, for failures and refusals,
// the stable reason code. A vendor's answer format does not always tell
// (Okta answers a refusal with 200 and an error object), and `smsplus
// simulate` and an operator's curl read these instead of each vendor's format.
// They carry nothing the vendor's own answer does not already say.
const (
	HeaderOutcome = "SMSPlus-Outcome"
	HeaderReason  = "SMSPlus-Reason"
)

// isOutcomeHeader reports whether name is one of the host's outcome headers,
// which a bridge's answer cannot set.
func isOutcomeHeader(name string) bool {
	return strings.EqualFold(name, HeaderOutcome) || strings.EqualFold(name, HeaderReason)
}

// writeHookResult writes the vendor's answer with the outcome headers.
func (s *Server) writeHookResult(c echo.Context, r hookflow.Result) error {
	h := c.Response().Header()
	h.Set(HeaderOutcome, r.Outcome)
	if r.Reason != "" {
		h.Set(HeaderReason, r.Reason)
	}
	return s.writeBridgeResponse(c, r.Response)
}

// hopHeaders are owned by the HTTP server, not by a bridge's answer.
var hopHeaders = map[string]bool{"content-length": true, "connection": true, "transfer-encoding": true, "keep-alive": true, "upgrade": true}

func (s *Server) writeBridgeResponse(c echo.Context, r *bridge.Response) error {
	h := c.Response().Header()
	for _, hd := range r.Headers {
		if hopHeaders[strings.ToLower(hd.Name)] || isOutcomeHeader(hd.Name) {
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
