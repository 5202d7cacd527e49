package host

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smsplus/smsplus/host/internal/pluginhost"
)

func runCheckConfig(ctx context.Context, args, environ []string, stdout io.Writer) error {
	var src sourceFlags
	fs := newFlagSet("check-config", stdout)
	src.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := src.load(environ)
	if err != nil {
		printProblems(stdout, err)
		return fmt.Errorf("configuration has problems")
	}
	// Starting the enabled bridges is the only way to learn what they think of
	// their settings; they are stopped again at once.
	m, err := startPlugins(ctx, cfg, io.Discard)
	if err != nil {
		printProblems(stdout, err)
		return fmt.Errorf("configuration has problems")
	}
	m.Stop()
	fmt.Fprintf(stdout, "configuration OK: store %s, sms %s, biometrics %s, bridges [%s], base URL %s\n",
		cfg.DataStore, cfg.SMSProvider, cfg.BiometricsEngine, strings.Join(cfg.EnabledBridges, ","), cfg.BaseURL)
	return nil
}

func runPlugins(ctx context.Context, args, environ []string, stdout io.Writer) error {
	var src sourceFlags
	fs := newFlagSet("plugins", stdout)
	src.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := src.load(environ)
	if err != nil && cfg == nil {
		return err
	}
	dirs := pluginDirs(cfg)
	found, err := pluginhost.Discover(dirs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "plugin directories: %s\n", strings.Join(dirs, ", "))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tENABLED\tVERSION\tPROTOCOL\tSHA256\tPATH")
	for _, f := range found {
		version, protocol := "?", "?"
		if info, err := pluginhost.Describe(ctx, f, 5*time.Second); err == nil {
			version, protocol = info.Version, fmt.Sprint(info.Protocol)
		} else {
			version = "error: " + firstLine(err.Error())
		}
		sum, _ := pluginhost.Checksum(f.Path)
		if len(sum) > 16 {
			sum = sum[:16] + "…"
		}
		enabled := "no"
		if slices.Contains(cfg.EnabledBridges, f.ID) {
			enabled = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, enabled, version, protocol, sum, f.Path)
	}
	for _, id := range cfg.EnabledBridges {
		if !slices.ContainsFunc(found, func(f pluginhost.Found) bool { return f.ID == id }) {
			fmt.Fprintf(tw, "%s\tyes\tmissing\t-\t-\tno %s%s binary found\n", id, pluginhost.Prefix, id)
		}
	}
	return tw.Flush()
}

func runVersion(stdout io.Writer) error {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(stdout, "smsplus (no build information)")
		return nil
	}
	rev, modified := "unknown", ""
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	fmt.Fprintf(stdout, "smsplus %s, %s, revision %s%s\n", info.Main.Version, info.GoVersion, rev, modified)
	for _, d := range info.Deps {
		if strings.HasPrefix(d.Path, "github.com/smsplus/") {
			fmt.Fprintf(stdout, "  %s %s\n", d.Path, d.Version)
		}
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
