package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/smsplus/smsplus/host/internal/admission"
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
	"github.com/smsplus/smsplus/host/internal/receipt"
	"github.com/smsplus/smsplus/host/internal/seal"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/backend"
	"github.com/smsplus/smsplus/web"
)

// The composition root: build wires the host's parts from the configuration,
// as serve runs them; check-config builds the engines alone to hear their
// problems.

// app is a wired SMS+ host.
type app struct {
	svc     *challenge.Service
	store   storage.Store
	audit   *audit.Log
	plugins *pluginhost.Manager
	sealer  *seal.Sealer
	api     *httpapi.Server
	tracker *receipt.Tracker
}

func (a *app) close() {
	a.plugins.Stop()
	a.tracker.Wait() // send records and re-sends in flight, before the store closes
	a.audit.Close()
	_ = a.store.Close()
}

// build opens the store, starts the bridges, and wires the challenge service,
// the hook flow and the HTTP API over them, counting through the metrics.
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
	// smsObserver hears the router and the receipts (the per-provider metrics).
	smsObserver := met.SMSObserver()
	verifier, router, texts, err := newEngines(cfg, store, sealer, smsObserver, log, stdout)
	if err != nil {
		_ = store.Close()
		plugins.Stop()
		return nil, err
	}
	auditLog := audit.New(store, audit.Options{Log: log})
	met.AuditDropped(func() float64 { return float64(auditLog.Dropped()) })
	tracker := newTracker(cfg, store, sealer, router, smsObserver, met.Auditor(auditLog), log)
	sender := met.Sender(tracker.Sender(router))
	met.Plugins(func() []metrics.Plugin {
		var out []metrics.Plugin
		for _, p := range plugins.Plugins() {
			out = append(out, metrics.Plugin{ID: p.ID, Restarts: p.Restarts(), Up: p.Alive(), Deadline: p.Deadline()})
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
		VoicePolicy:                   cfg.Voice.Policy,
		NoticeSenders:                 cfg.Notices.Senders,
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
	flow := hookflow.New(svc, hookflow.Options{Budget: cfg.HookBudget, Observer: met, Log: log,
		Admission: admission.Options{Max: cfg.HookMaxInFlight, Min: cfg.HookMinInFlight, Fixed: cfg.AdmissionMode == "fixed"}})
	met.GaugeFunc("hook_admission_limit", "Hooks that may be in flight at once (HOOK_ADMISSION: adaptive follows the hooks' latency).",
		func() float64 { return float64(flow.AdmissionLimit()) })
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
		Receipts:          tracker,
		PublicBaseURL:     cfg.BaseURL,
		PageOptions: httpapi.PageOptions{Texts: texts, RecorderURL: cfg.TypingDNA.RecorderURL,
			SecureCookies: strings.HasPrefix(cfg.BaseURL, "https://"),
			// An image outlives its challenge by nothing: it is kept no longer.
			PhraseImages: phrase.NewCache(cfg.PageImageCache, cfg.ChallengeTTL)},
	})
	return &app{svc: svc, store: store, audit: auditLog, plugins: plugins, sealer: sealer, api: api, tracker: tracker}, nil
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

// newEngines builds the configured biometrics engine, SMS sender and texts. It
// contacts nothing, so check-config can use it to report their problems; each
// problem is its own error in the join, and names its setting.
func newEngines(cfg *config.Config, store storage.Store, sealer *seal.Sealer, smsObserver sms.Observer, log *slog.Logger, console io.Writer) (biometrics.Verifier, *sms.Router, *i18n.Catalog, error) {
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
	router, err := newRouter(cfg, smsObserver, log, console)
	problems = append(problems, split(err)...) // each names its setting
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
	return verifier, router, texts, nil
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

// newLogger is the host's one logger: JSON, or text for LOG_FORMAT=text.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
