// Package httpapi is the HTTP face of SMS+: the IAM hooks, the challenge page and
// its API, static assets and health endpoints. Route names and JSON field names
// match the Node SMS+ so that existing IAM setups and links keep working.
package httpapi

import (
	"context"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/smsplus/smsplus/host/internal/challenge"
	"github.com/smsplus/smsplus/host/internal/hookflow"
	"github.com/smsplus/smsplus/host/internal/phrase"
)

// Hook is a bridge as the hook flow needs it.
type Hook = hookflow.Bridge

// Options configure the Server.
type Options struct {
	Service *challenge.Service
	// Flow runs the hooks: admission, deadlines, the bridge and challenge calls.
	Flow         *hookflow.Flow
	Hooks        func(id string) (Hook, bool)
	Static       fs.FS
	Ready        func(ctx context.Context) error // nil error = ready
	Engine       string                          // the biometrics engine's name, for the page
	Log          *slog.Logger
	LogRequests  bool
	MaxBodyBytes int64
	// HookBodyTimeout bounds reading a hook's body, which happens before the hook
	// takes an admission slot (0 = 1 s).
	HookBodyTimeout time.Duration
	// HookMaxPerClient caps the hook bodies one client address may be sending
	// at once (0 = 16).
	HookMaxPerClient int
	// ReadyDetail, when set, adds its value to /readyz's answer under "detail"
	// (the bridge plugins' status), ready or not.
	ReadyDetail func() any
	// Metrics, when set, is served at GET /metrics, behind MetricsToken (a bearer
	// token) when that is not empty.
	Metrics      http.Handler
	MetricsToken string
	// PageOptions: the challenge page's texts and TypingDNA recorder (handler_page.go).
	PageOptions
	// PageRatePerMinute limits the page and its API per client IP (0 = no limit).
	// Per-challenge and per-user limits bound guessing on one code; this one slows
	// a script working through many links from one address.
	PageRatePerMinute int
	// TrustedProxies are public proxies whose X-Forwarded-For names the client,
	// beside the loopback, link-local and private peers always believed.
	TrustedProxies []*net.IPNet
	// Receipts, when set, serves the SMS providers' delivery receipts at
	// /sms/receipts/{provider} (handler_receipt.go). PublicBaseURL is BASE_URL:
	// the URL a provider called is PublicBaseURL plus the request's path and
	// query (Twilio signs it).
	Receipts      Receipts
	PublicBaseURL string
}

// Server holds the routes' dependencies.
type Server struct {
	Options
	log      *slog.Logger
	clients  *clientGate // hook bodies being read, per client address
	e        *echo.Echo
	draining atomic.Bool // set by Drain: /readyz answers 503
}

// New builds the echo instance with every route and middleware.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 10
	}
	if o.Flow == nil {
		o.Flow = hookflow.New(o.Service, hookflow.Options{Log: o.Log})
	}
	if o.HookBodyTimeout <= 0 {
		o.HookBodyTimeout = time.Second
	}
	if o.HookMaxPerClient <= 0 {
		o.HookMaxPerClient = 16
	}
	if o.PhraseImages == nil {
		o.PhraseImages = phrase.NewCache(DefaultPhraseImages, 15*time.Minute)
	}
	s := &Server{Options: o, log: o.Log, clients: newClientGate(o.HookMaxPerClient)}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Debug = false
	e.HTTPErrorHandler = s.errorHandler
	// X-Forwarded-For names the client only when the peer is one of
	// TRUSTED_PROXIES, and then the client is the right-most address that is not
	// a trusted proxy. Nothing is trusted by default (echo trusts loopback,
	// link-local and private peers unless told otherwise): a client that reaches
	// SMS+ directly, even from a private network, cannot pick the address its
	// limits are counted against.
	trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range o.TrustedProxies {
		trust = append(trust, echo.TrustIPRange(n))
	}
	e.IPExtractor = echo.ExtractIPFromXFFHeader(trust...)
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: newRequestID}))
	e.Use(s.recoverer)
	e.Use(securityHeaders)
	if o.LogRequests {
		e.Use(s.requestLogger())
	}

	e.POST("/hooks/:bridge", s.handleHook)
	// GET goes to the bridge too: PingOne's sender may use GET (its fields in the
	// query string). Each bridge answers a method it does not read with its
	// vendor's 405. Without these routes a hook URL would fall through to the
	// page route.
	e.GET("/hooks/:bridge", s.handleHook)
	e.Match([]string{http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions},
		"/hooks/:bridge", func(c echo.Context) error {
			c.Response().Header().Set("Allow", http.MethodPost)
			return errMethod
		})
	e.POST("/sms/receipts/:provider", s.handleReceipt)
	e.GET("/sms/receipts/:provider", s.handleReceipt)
	e.GET("/healthz", s.handleHealth)
	e.GET("/readyz", s.handleReady)
	if o.Metrics != nil {
		e.GET("/metrics", s.handleMetrics)
	}
	page := s.pageLimiter()
	e.POST("/verify-otp", s.handleVerify, page...)
	e.POST("/reset-account", s.handleReset, page...)
	e.POST("/reset-account-now", s.handleResetNow, page...)
	e.POST("/disable-account", s.handleDisable, page...)
	if o.Static != nil {
		e.GET("/static/*", echo.WrapHandler(staticHandler(o.Static)))
	}
	e.GET("/:cid", s.handlePage, page...)
	s.e = e
	return s
}

// pageLimiter is the per-IP limit of the page routes, as route middleware.
func (s *Server) pageLimiter() []echo.MiddlewareFunc {
	if s.PageRatePerMinute <= 0 {
		return nil
	}
	perMinute := s.PageRatePerMinute
	store := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate:      rate.Limit(float64(perMinute) / 60),
		Burst:     max(perMinute/2, 1),
		ExpiresIn: 3 * time.Minute,
	})
	return []echo.MiddlewareFunc{middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store:               store,
		IdentifierExtractor: func(c echo.Context) (string, error) { return c.RealIP(), nil },
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set("Retry-After", "60")
			return errRateLimited
		},
		ErrorHandler: func(c echo.Context, _ error) error { return errRateLimited },
	})}
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		w.Header().Set("Connection", "close") // move kept-alive clients to other replicas
	}
	s.e.ServeHTTP(w, r)
}

func (s *Server) handleHealth(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReady(c echo.Context) error {
	status, body := http.StatusOK, map[string]any{"status": "ready"}
	if s.draining.Load() {
		// Shutting down: unready first, so load balancers stop sending work
		// before the listener closes.
		status, body = http.StatusServiceUnavailable, map[string]any{"status": "draining"}
	} else if s.Ready != nil {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			status, body = http.StatusServiceUnavailable, map[string]any{"status": "unavailable"}
		}
	}
	if s.ReadyDetail != nil {
		body["detail"] = s.ReadyDetail()
	}
	return c.JSON(status, body)
}
