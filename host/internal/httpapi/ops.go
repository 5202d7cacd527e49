package httpapi

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

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
