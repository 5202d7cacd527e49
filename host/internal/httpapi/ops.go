package httpapi

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// HookObserver hears about every answered hook of an enabled bridge, once, after
// the answer is written (the metrics).
type HookObserver interface {
	ObserveHook(bridge, outcome, reason string, took time.Duration)
}

// OutcomeUnavailable is the outcome reported when the bridge's plugin could not
// be called and its pre-rendered failure answer went out.
const OutcomeUnavailable = "unavailable"

// knownReasons are the reason codes reported as they are; a bridge may invent
// others, which are reported as "other" so that no caller can grow the metrics.
var knownReasons = map[string]bool{}

func init() {
	for _, c := range []string{bridge.CodeUnauthorized, bridge.CodeMalformed, bridge.CodeMissingField,
		bridge.CodeBodyTooLarge, bridge.CodeMethod, bridge.CodeInvalidPhone, bridge.CodeInvalidOTP,
		bridge.CodeUnsupported, bridge.CodeSMSFailed, bridge.CodeDeadline, bridge.CodeOverloaded,
		bridge.CodeUnavailable, bridge.CodeStoreFailed, bridge.CodeInternal, bridge.CodeRateLimited,
		bridge.CodeCountryNotAllowed, bridge.CodeDestinationRefused, bridge.CodeBiometricsOff, bridge.CodeMediaType,
		bridge.CodeNotOTP} {
		knownReasons[c] = true
	}
}

func (s *Server) observeHook(c echo.Context, outcome, reason string, start time.Time) {
	if s.Observer == nil {
		return
	}
	if reason != "" && !knownReasons[reason] {
		reason = "other"
	}
	s.Observer.ObserveHook(c.Param("bridge"), outcome, reason, time.Since(start))
}

// answerUnavailable writes the bridge's failure answer for when its plugin
// cannot be called.
func (s *Server) answerUnavailable(c echo.Context, hook Hook, start time.Time) error {
	err := s.writeBridgeResponse(c, hook.Unavailable())
	s.observeHook(c, OutcomeUnavailable, bridge.CodeUnavailable, start)
	return err
}

// Drain makes /readyz answer 503 from now on, so that load balancers stop
// sending new work, while every route keeps serving what still arrives. Answers
// also ask clients to close their connection, so kept-alive connections move to
// other replicas. Call it first on shutdown, then wait, then shut the server down.
func (s *Server) Drain() { s.draining.Store(true) }

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

var errMetricsAuth = &apiError{Status: http.StatusUnauthorized, Code: 401, Name: "unauthorized",
	Message: "Send the metrics token as Authorization: Bearer <token>."}

// handleMetrics serves the Prometheus metrics, behind a bearer token when one
// is configured (METRICS_TOKEN).
func (s *Server) handleMetrics(c echo.Context) error {
	if s.MetricsToken != "" {
		got, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.MetricsToken)) != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			return errMetricsAuth
		}
	}
	s.Metrics.ServeHTTP(c.Response(), c.Request())
	return nil
}
