package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/smsplus/smsplus/host/internal/audit"
	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/biometrics/local"
	"github.com/smsplus/smsplus/host/internal/biometrics/typingdna"
	"github.com/smsplus/smsplus/host/internal/challenge"
	"github.com/smsplus/smsplus/host/internal/config"
	"github.com/smsplus/smsplus/host/internal/hookflow"
	"github.com/smsplus/smsplus/host/internal/httpapi"
	"github.com/smsplus/smsplus/host/internal/i18n"
	"github.com/smsplus/smsplus/host/internal/metrics"
	"github.com/smsplus/smsplus/host/internal/phrase"
	"github.com/smsplus/smsplus/host/internal/pluginhost"
	"github.com/smsplus/smsplus/host/internal/seal"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/backend"
	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/web"
)

// shutdownGrace lets in-flight requests finish; it is stretched to outlast the
// hook budget when HOOK_BUDGET_MS is longer.
const shutdownGrace = 5 * time.Second

func runServe(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	var src sourceFlags
	fs := newFlagSet("serve", stderr)
	src.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := src.load(environ)
	if err != nil {
		// The warnings too: HASH_SALTT explains why HASH_SALT is missing.
		var rep report
		rep.add(err)
		if cfg != nil {
			rep.warn(cfg.Warnings(namespaces(cfg, nil)...)...)
		}
		rep.print(stderr)
		return errors.New("not started: fix the configuration (smsplus check-config lists every problem)")
	}
	log := newLogger(cfg, stderr)

	app, err := build(ctx, cfg, log, stdout, stderr)
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
	for _, p := range app.plugins.Plugins() {
		bridges = append(bridges, p.ID)
	}
	log.Info("smsplus listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "store", cfg.DataStore,
		"sms", cfg.SMSProvider, "biometrics", cfg.BiometricsEngine, "bridges", strings.Join(bridges, ","),
		"sealing_key", sealingKeySource(cfg), "unknown_device_policy", cfg.Device.UnknownPolicy)
	if cfg.Device.UnknownPolicy == challenge.DevicePolicyStrict && !app.svc.StrictMatch() {
		log.Warn("UNKNOWN_DEVICE_POLICY=strict, but the biometrics engine has no strict match: verifications from unknown devices are refused",
			"biometrics", cfg.BiometricsEngine)
	}
	if cfg.SMSProvider == "console" {
		fmt.Fprintf(stdout, "SMS+ development mode: SMS are printed here, not sent. Listening on %s\n", cfg.BaseURL)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
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

// app is a wired SMS+ host.
type app struct {
	svc     *challenge.Service
	store   storage.Store
	audit   *audit.Log
	plugins *pluginhost.Manager
	sealer  *seal.Sealer
	api     *httpapi.Server
}

func (a *app) close() {
	a.plugins.Stop()
	a.audit.Close()
	_ = a.store.Close()
}

func build(ctx context.Context, cfg *config.Config, log *slog.Logger, stdout, stderr io.Writer) (*app, error) {
	sealer, err := newSealer(cfg)
	if err != nil {
		return nil, err
	}
	db, err := backend.Open(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("open %s store: %w", cfg.DataStore, err)
	}
	// Metrics count through decorators of what the challenge service uses.
	met := metrics.New()
	store := met.Store(db)
	plugins, err := startPlugins(ctx, cfg, stderr)
	if err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("bridges not started:\n%w", err)
	}
	declared := declaredSettings(ctx, cfg, plugins, false)
	if problems := bridgeSettingProblems(cfg, declared); len(problems) > 0 {
		_ = store.Close()
		plugins.Stop()
		return nil, &config.Error{Problems: problems}
	}
	for _, w := range cfg.Warnings(namespaces(cfg, declared)...) {
		log.Warn("configuration warning", "warning", w)
	}
	verifier, sender, texts, err := newEngines(cfg, store, sealer, log, stdout)
	if err != nil {
		_ = store.Close()
		plugins.Stop()
		return nil, err
	}
	sender = met.Sender(sender)
	auditLog := audit.New(store, audit.Options{Log: log})
	met.CounterFunc("audit_dropped_total", "Audit entries dropped because the audit buffer was full.",
		func() float64 { return float64(auditLog.Dropped()) })
	met.Plugins(func() []metrics.Plugin {
		var out []metrics.Plugin
		for _, p := range plugins.Plugins() {
			out = append(out, metrics.Plugin{ID: p.ID, Restarts: p.Restarts(), Up: p.Alive()})
		}
		return out
	})
	svc := challenge.New(challenge.Settings{
		BaseURL:                       cfg.BaseURL,
		HashSalt:                      cfg.HashSalt,
		DefaultLanguage:               cfg.DefaultLanguage,
		ChallengeTTL:                  cfg.ChallengeTTL,
		PerChallengeMaxFailedAttempts: cfg.PerChallengeMaxFailedAttempts,
		MaxFailedAttempts:             cfg.MaxFailedAttempts,
		LockoutDuration:               cfg.LockoutDuration,
		BiometricsFailurePolicy:       cfg.BiometricsFailurePolicy,
		MaxSMSPerPhonePerHour:         cfg.MaxSMSPerPhonePerHour,
		AllowedCountries:              cfg.AllowedCountries,
		RefusedNumberTypes:            cfg.RefusedNumberTypes,
		MaxSMSPerRangePerHour:         cfg.MaxSMSPerRangePerHour,
		MaxSMSPerHour:                 cfg.MaxSMSPerHour,
		ResetDelayShort:               cfg.ResetDelayNewUser,
		ResetDelayLong:                cfg.ResetDelay,
		ResetFewPatterns:              cfg.ResetEstablishedPatterns,
		DevicePolicy:                  cfg.Device.UnknownPolicy,
		MaxDevices:                    cfg.Device.MaxPerUser,
		DeviceTTL:                     cfg.Device.TTL,
	}, challenge.Deps{
		Store:    store,
		Sender:   sender,
		Texts:    texts,
		Verifier: verifier,
		Sealer:   sealer,
		Audit:    met.Auditor(auditLog),
		NewPhrase: func(lang string) (challenge.Phrase, error) {
			p, err := phrase.New(lang)
			return challenge.Phrase{Text: p.Text, TextID: p.TextID}, err
		},
		Log: log,
	})
	flow := hookflow.New(svc, hookflow.Options{Budget: cfg.HookBudget, Observer: met, Log: log})
	api := httpapi.New(httpapi.Options{
		Service: svc,
		Flow:    flow,
		Hooks: func(id string) (httpapi.Hook, bool) {
			p, ok := plugins.Get(id)
			return p, ok
		},
		Static: web.Static(),
		Ready: func(ctx context.Context) error {
			if err := store.Ping(ctx); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			return plugins.Ready()
		},
		ReadyDetail:       func() any { return map[string]any{"plugins": plugins.Status()} },
		Engine:            verifier.Name(),
		Log:               log,
		LogRequests:       cfg.LogRequests,
		MaxBodyBytes:      cfg.MaxBodyBytes,
		HookBodyTimeout:   cfg.HookBodyTimeout,
		HookMaxPerClient:  cfg.HookMaxPerClient,
		Metrics:           met.Handler(),
		MetricsToken:      cfg.MetricsToken,
		PageRatePerMinute: cfg.PageRatePerMinute,
		TrustedProxies:    cfg.TrustedProxies,
		PageOptions: httpapi.PageOptions{Texts: texts, RecorderURL: cfg.TypingDNA.RecorderURL,
			SecureCookies: strings.HasPrefix(cfg.BaseURL, "https://")},
	})
	return &app{svc: svc, store: store, audit: auditLog, plugins: plugins, sealer: sealer, api: api}, nil
}

// newSealer seals at rest with DATA_ENCRYPTION_KEY when it is set, and otherwise
// with a key derived from HASH_SALT, so that codes and typing profiles are never
// stored in clear. The derived key also opens what it sealed after a key is set.
func newSealer(cfg *config.Config) (*seal.Sealer, error) {
	return seal.New(cfg.DataKey, seal.DeriveKey(cfg.HashSalt))
}

// sealingKeySource names where the sealing key comes from, for the start log.
func sealingKeySource(cfg *config.Config) string {
	if cfg.DataKey != nil {
		return "DATA_ENCRYPTION_KEY"
	}
	return "derived from HASH_SALT"
}

func pluginDirs(cfg *config.Config) []string {
	if cfg.PluginDir != "" {
		return []string{cfg.PluginDir}
	}
	return pluginhost.DefaultDirs()
}

// pluginOptions are the plugin manager's settings. The manager answers each
// bridge's declared settings through Setting, and only those in the bridge's
// namespace (pluginhost.SettingsPrefix); PLUGIN_SHA256_<ID> pins are read there too.
func pluginOptions(cfg *config.Config, log hclog.Logger) pluginhost.Options {
	return pluginhost.Options{
		Setting:                  cfg.Setting,
		RestartBackoff:           cfg.PluginRestartBackoff,
		AllowInsecurePermissions: cfg.PluginAllowInsecurePermissions,
		Logger:                   log,
	}
}

func startPlugins(ctx context.Context, cfg *config.Config, stderr io.Writer) (*pluginhost.Manager, error) {
	return startBridges(ctx, cfg, cfg.EnabledBridges, stderr)
}

// startBridges launches and configures the bridges ids, as `smsplus serve` does,
// and supervises them until the manager stops.
func startBridges(ctx context.Context, cfg *config.Config, ids []string, stderr io.Writer) (*pluginhost.Manager, error) {
	found, err := pluginhost.Discover(pluginDirs(cfg))
	if err != nil {
		return nil, err
	}
	level := hclog.LevelFromString(cfg.LogLevel)
	opts := pluginOptions(cfg, hclog.New(&hclog.LoggerOptions{
		Name: "bridge", Output: stderr, Level: level, JSONFormat: cfg.LogFormat == "json",
	}))
	// A developer's bridges running under a debugger (bridge.Main -debug).
	if v := cfg.ReattachBridges; v != "" {
		if opts.Reattach, err = bridge.ParseReattach(v); err != nil {
			return nil, err
		}
	}
	m := pluginhost.NewManager(opts)
	if err := m.Start(ctx, found, ids); err != nil {
		return nil, err // every bridge's problems, joined
	}
	return m, nil
}

// newEngines builds the configured biometrics engine, SMS sender and texts. It
// contacts nothing, so check-config can use it to report their problems; each
// problem is its own error in the join, and names its setting.
func newEngines(cfg *config.Config, store storage.Store, sealer *seal.Sealer, log *slog.Logger, console io.Writer) (biometrics.Verifier, sms.Sender, *i18n.Catalog, error) {
	var problems []error
	// Enrolled timings are biometric data: sealed at rest like the codes.
	var verifier biometrics.Verifier = local.New(store, local.Options{EnrollSamples: cfg.LocalEnrollSamples, Sealer: sealer})
	// Without a key or a secret the configuration has said so already (check-config
	// goes on past its problems).
	if cfg.BiometricsEngine == "typingdna" && cfg.TypingDNA.APIKey != "" && cfg.TypingDNA.APISecret != "" {
		eng, err := typingdna.New(typingdna.Options{
			Server: cfg.TypingDNA.Server, APIKey: cfg.TypingDNA.APIKey, APISecret: cfg.TypingDNA.APISecret,
			Timeout: cfg.TypingDNA.Timeout, Logger: log,
		})
		problems = append(problems, split(err)...)
		verifier = eng
	}
	var sender sms.Sender = sms.NewConsole(console)
	if cfg.SMSProvider == "twilio" {
		tw := cfg.Twilio
		tws, err := sms.NewTwilio(sms.TwilioConfig{
			AccountSID: tw.AccountSID, APIKey: tw.APIKey, APISecret: tw.APISecret, AuthToken: tw.AuthToken,
			FromNumber: tw.FromNumber, MessagingServiceSID: tw.MessagingServiceSID, StatusCallback: tw.StatusCallback,
			Timeout: tw.Timeout, Edge: tw.Edge, Region: tw.Region, BaseURL: tw.BaseURL, Log: log,
		})
		problems = append(problems, split(err)...) // each names its TWILIO_* setting
		sender = tws
	}
	texts, warning, err := catalog(cfg)
	if warning != "" {
		// A Node SMS+ .env may name a language we have no texts for; keep running.
		log.Warn("configuration warning", "warning", warning)
	}
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, nil, nil, errors.Join(problems...)
	}
	return verifier, sender, texts, nil
}

// catalog is the texts of the configured languages. warning is set when
// DEFAULT_LANGUAGE has no texts (the catalog's default is used instead).
func catalog(cfg *config.Config) (texts *i18n.Catalog, warning string, err error) {
	texts, err = i18n.Builtin().WithDefault(cfg.DefaultLanguage)
	if err != nil {
		warning = fmt.Sprintf("DEFAULT_LANGUAGE: SMS+ has no texts for %q; the catalog's default language is used (%v)", cfg.DefaultLanguage, err)
		texts = i18n.Builtin()
	}
	if texts, err = texts.Only(cfg.SupportedLanguages...); err != nil {
		return nil, warning, fmt.Errorf("SUPPORTED_LANGUAGES: %w", err)
	}
	return texts, warning, nil
}

// split returns the errors joined in err, or err alone.
func split(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err != nil {
		return []error{err}
	}
	return nil
}
