package host

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/smsplus/smsplus/host/internal/challenge"
	"github.com/smsplus/smsplus/host/internal/config"
	"github.com/smsplus/smsplus/host/internal/receipt"
	"github.com/smsplus/smsplus/host/internal/seal"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
)

// smsProviders names the SMS providers for the start log and check-config:
// "twilio", or "twilio,backup(twilio)".
func smsProviders(cfg *config.Config) string {
	var names []string
	for _, p := range cfg.SMSRouting.Providers {
		n := p.Name
		if p.Type != p.Name {
			n += "(" + p.Type + ")"
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}

// newRouter builds the SMS providers and the router over them (docs/sms.md).
// Without SMS_PROVIDERS the router has the one provider SMS_PROVIDER names,
// which it never skips: the same sends as before routing. Each problem names
// its setting.
func newRouter(cfg *config.Config, obs sms.Observer, log *slog.Logger, console io.Writer) (*sms.Router, error) {
	rc := cfg.SMSRouting
	providers := map[string]sms.Sender{}
	var problems []error
	for _, p := range rc.Providers {
		s, err := newProvider(cfg, p, log, console)
		problems = append(problems, split(err)...)
		if s != nil {
			providers[p.Name] = s
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	routes := map[string]sms.Route{}
	for cc, rt := range rc.Countries {
		routes[cc] = sms.Route{Providers: rt.Providers, From: rt.Sender}
	}
	return sms.NewRouter(sms.RouterConfig{
		Providers: providers,
		Routes:    routes,
		Default:   sms.Route{Providers: rc.Default.Providers, From: rc.Default.Sender},
		Breaker:   sms.BreakerSettings{Failures: rc.BreakerFailures, Cooldown: rc.BreakerCooldown},
		Observer:  obs,
		Log:       log,
	})
}

// newProvider builds one named provider from its settings.
func newProvider(cfg *config.Config, p config.SMSProvider, log *slog.Logger, console io.Writer) (sms.Sender, error) {
	switch p.Type {
	case "console":
		return sms.NewConsole(console), nil
	case "twilio":
		tw := p.Twilio
		callback := tw.StatusCallback
		if callback == "" && cfg.SMSRouting.Receipts && tw.AuthToken != "" {
			// Twilio signs its callbacks with the account's auth token: without
			// it they could not be checked, so none are asked for.
			callback = receiptsURL(cfg, p)
		}
		s, err := sms.NewTwilio(sms.TwilioConfig{
			AccountSID: tw.AccountSID, APIKey: tw.APIKey, APISecret: tw.APISecret, AuthToken: tw.AuthToken,
			FromNumber: tw.FromNumber, MessagingServiceSID: tw.MessagingServiceSID, StatusCallback: callback,
			Timeout: tw.Timeout, Edge: tw.Edge, Region: tw.Region, BaseURL: tw.BaseURL, Log: log,
		})
		return s, renamed(err, "TWILIO_", p.Prefix)
	case "sns":
		c := p.SNS
		s, err := sms.NewSNS(sms.SNSConfig{
			Region: c.Region, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
			SMSType: c.SMSType, SenderID: c.SenderID, OriginationNumber: c.OriginationNumber, MaxPrice: c.MaxPrice,
			Endpoint: c.Endpoint, Timeout: c.Timeout, Log: log,
		})
		if err != nil {
			return nil, snsProblems(err, p)
		}
		return s, nil
	}
	if config.IsHTTPType(p.Type) {
		hc, problem := httpConfig(cfg, p)
		hc.Log = log
		s, err := sms.NewHTTP(hc)
		if err != nil || problem != nil {
			return nil, errors.Join(problem, httpProblems(err, p))
		}
		return s, nil
	}
	return nil, fmt.Errorf("SMS_PROVIDERS: provider %s: unknown type %q", p.Name, p.Type)
}

// receiptsURL is where provider p posts its delivery receipts: the receipts
// route on BASE_URL (httpapi, handler_receipt.go).
func receiptsURL(cfg *config.Config, p config.SMSProvider) string {
	return cfg.BaseURL + "/sms/receipts/" + p.Name
}

// renamed gives each problem of a provider named other than twilio its own
// setting names (BACKUP_API_KEY instead of TWILIO_API_KEY).
func renamed(err error, from, to string) error {
	if err == nil || from == to {
		return err
	}
	var out []error
	for _, e := range split(err) {
		out = append(out, errors.New(strings.ReplaceAll(e.Error(), from, to)))
	}
	return errors.Join(out...)
}

// newTracker follows the texts the router sends: receipts, audit, re-sends.
func newTracker(cfg *config.Config, store storage.Store, sealer *seal.Sealer, router *sms.Router,
	obs sms.Observer, auditor receipt.Auditor, log *slog.Logger) *receipt.Tracker {
	rc := cfg.SMSRouting
	o := receipt.Options{
		Store:    store,
		Sealer:   sealer,
		Key:      referenceKey(cfg.HashSalt),
		UserID:   func(phone string) string { return challenge.UserID(phone, cfg.HashSalt) },
		Readers:  router.Readers(),
		TTL:      cfg.ChallengeTTL,
		Observer: obs,
		Audit:    auditor,
		Log:      log,
	}
	if rc.ResendUndelivered {
		o.Resend, o.ResendWithin = router, rc.ResendWithin
		// A used link's challenge is taken out of the store (challenge.reveal),
		// an expired one expires there: either way a re-send is pointless.
		o.Pending = func(ctx context.Context, cid string) (bool, error) {
			_, err := store.Get(ctx, storage.Challenges, cid)
			if errors.Is(err, storage.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		}
	}
	return receipt.New(o)
}

// referenceKey authenticates the references texts carry to their providers.
// It is derived from HASH_SALT, a secret every replica shares.
func referenceKey(salt string) []byte {
	sum := sha256.Sum256([]byte("smsplus-sms-reference-key\x00" + salt))
	return sum[:]
}
