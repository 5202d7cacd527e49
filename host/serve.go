package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/smsplus/smsplus/host/internal/challenge"
	"github.com/smsplus/smsplus/host/internal/profiling"
)

const serveHelp = `smsplus serve [--config FILE] [--env-file FILE]

Run the service: the IAM hooks, the challenge pages, /healthz, /readyz and
/metrics. Configuration problems are all reported at once and nothing starts.
On SIGTERM or SIGINT, /readyz answers 503 for SHUTDOWN_DRAIN_MS (a second
signal cuts that short), then new connections are refused, requests in flight
finish (hooks within their budget), and the bridge plugins stop.`

// shutdownGrace lets in-flight requests finish; it is stretched to outlast the
// hook budget when HOOK_BUDGET_MS is longer.
const shutdownGrace = 5 * time.Second

// runServe is `smsplus serve`: it wires the host (app.go), listens, and on a
// signal drains, then shuts down without cutting off a hook.
func runServe(ctx context.Context, args []string, p proc) error {
	var src sourceFlags
	fs := newFlagSet("serve", serveHelp, p.stderr)
	src.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := src.load(p.environ)
	if err != nil {
		// The warnings too: HASH_SALTT explains why HASH_SALT is missing.
		var rep report
		rep.add(err)
		if cfg != nil {
			rep.warn(cfg.Warnings(namespaces(cfg, nil)...)...)
		}
		rep.print(p.stderr)
		return errors.New("not started: fix the configuration (smsplus check-config lists every problem)")
	}
	log := newLogger(cfg, p.stderr)

	app, err := build(ctx, cfg, log, p.stdout, p.stderr)
	if err != nil {
		return err
	}
	defer log.Info("stopped")
	defer app.close() // last: the bridges, the audit log, the store

	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.Port))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w", cfg.Port, err)
	}
	srv := &http.Server{
		Handler:           app.api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	bridges := make([]string, 0, len(app.plugins.Plugins()))
	for _, b := range app.plugins.Plugins() {
		bridges = append(bridges, b.ID)
	}
	log.Info("smsplus listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "store", cfg.DataStore,
		"sms", smsProviders(cfg), "biometrics", cfg.BiometricsEngine, "bridges", strings.Join(bridges, ","),
		"sealing_key", sealingKeySource(cfg), "unknown_device_policy", cfg.Device.UnknownPolicy,
		"voice_policy", cfg.Voice.Policy)
	if cfg.Device.UnknownPolicy == challenge.DevicePolicyStrict && !app.svc.StrictMatch() {
		log.Warn("UNKNOWN_DEVICE_POLICY=strict, but the biometrics engine has no strict match: verifications from unknown devices are refused",
			"biometrics", cfg.BiometricsEngine)
	}
	if cfg.SMSProvider == "console" {
		fmt.Fprintf(p.stdout, "SMS+ development mode: SMS are printed here, not sent. Listening on %s\n", cfg.BaseURL)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if cfg.PprofAddr != "" {
		stop, err := serveProfiler(cfg.PprofAddr, cfg.PprofAllowNonLoopback, log)
		if err != nil {
			_ = srv.Close()
			return err
		}
		defer stop()
	}
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Unready first: /readyz answers 503 while every route keeps serving, so load
	// balancers stop sending work before the listener closes. A second signal
	// cuts the wait short.
	app.api.Drain()
	log.Info("draining: /readyz answers 503", "drain", cfg.ShutdownDrain.String())
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	drain := time.NewTimer(cfg.ShutdownDrain)
	select {
	case <-drain.C:
	case <-again:
		drain.Stop()
	}
	signal.Stop(again)
	// Stop accepting, and let requests in flight finish: every hook answers
	// within its budget, below its vendor's deadline.
	log.Info("shutting down: no new connections; finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), max(shutdownGrace, cfg.HookBudget+time.Second))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	// Texts that outlived their hook (answered PENDING) finish before the store closes.
	if err := app.svc.Wait(sctx); err != nil {
		log.Warn("background sends did not finish", "err", err)
	}
	return nil
}

// serveProfiler serves Go's profiler on addr (PPROF_ADDR), apart from the
// service's port; stop closes it.
func serveProfiler(addr string, allowAny bool, log *slog.Logger) (stop func(), err error) {
	ln, err := profiling.Listen(addr, allowAny)
	if err != nil {
		return nil, fmt.Errorf("PPROF_ADDR: %w", err)
	}
	// No WriteTimeout: a CPU profile or trace streams for as long as asked.
	srv := &http.Server{Handler: profiling.Handler(allowAny), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()
	log.Warn("profiler listening: no authentication, keep this address private", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}
