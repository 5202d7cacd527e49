package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/smsplus/smsplus/host/internal/config"
)

const checkConfigHelp = `smsplus check-config [--config FILE] [--env-file FILE]

Report every configuration problem at once, in plain words: the settings (a
placeholder such as replace-me is refused as a secret), each enabled bridge's
own check of its settings, the SMS provider's and the biometrics engine's.
Exit 1 if there is any. Warnings (a name that looks like a setting but is
none, such as HASH_SALTT) are listed apart and do not change the exit code.
Any setting X may be read from the file X_FILE names.`

// runCheckConfig is `smsplus check-config`: every problem of the configuration,
// in one pass.
func runCheckConfig(ctx context.Context, args []string, p proc) error {
	stdout := p.stdout
	var src sourceFlags
	fs := newFlagSet("check-config", checkConfigHelp, stdout)
	src.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var rep report
	cfg, err := src.load(p.environ)
	rep.add(err)
	if cfg == nil { // a file could not be read: nothing else can be checked
		rep.print(stdout)
		return errors.New("configuration has problems")
	}
	checkSettings(ctx, cfg, &rep)
	rep.print(stdout)
	if len(rep.problems) > 0 {
		return errors.New("configuration has problems")
	}
	fmt.Fprintf(stdout, "configuration OK: store %s, sms %s, biometrics %s, bridges [%s], base URL %s\n",
		cfg.DataStore, smsProviders(cfg), cfg.BiometricsEngine, strings.Join(cfg.EnabledBridges, ","), cfg.BaseURL)
	return nil
}

// checkSettings adds to rep what the configuration alone cannot tell: the
// bridges' own checks, the engines' and the sender's. It goes on past problems,
// so that one run lists them all.
func checkSettings(ctx context.Context, cfg *config.Config, rep *report) {
	// Starting the enabled bridges is the only way to learn what they think of
	// their settings; they are stopped again at once.
	m, err := startPlugins(ctx, cfg, io.Discard)
	rep.add(err)
	declared := declaredSettings(ctx, cfg, m, true)
	if m != nil {
		m.Stop()
	}
	rep.problem(bridgeSettingProblems(cfg, declared)...)
	rep.warn(cfg.Warnings(namespaces(cfg, declared)...)...)
	_, _, _, err = newEngines(cfg, nil, nil, nil, slog.New(slog.DiscardHandler), io.Discard)
	rep.add(err)
	_, warning, _ := catalog(cfg)
	rep.warn(warning)
}
