package host

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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
	if _, _, _, err := newEngines(cfg, nil, nil, slog.New(slog.DiscardHandler), io.Discard); err != nil {
		printProblems(stdout, err)
		return fmt.Errorf("configuration has problems")
	}
	fmt.Fprintf(stdout, "configuration OK: store %s, sms %s, biometrics %s, bridges [%s], base URL %s\n",
		cfg.DataStore, cfg.SMSProvider, cfg.BiometricsEngine, strings.Join(cfg.EnabledBridges, ","), cfg.BaseURL)
	return nil
}

func runPlugins(ctx context.Context, args, environ []string, stdout io.Writer) error {
	var src sourceFlags
	var server string
	fs := newFlagSet("plugins", stdout)
	src.register(fs)
	fs.StringVar(&server, "url", "", "base `URL` of the running server to ask which bridges run (default: http://localhost:PORT)")
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
	if server == "" {
		server = fmt.Sprintf("http://localhost:%d", cfg.Port)
	}
	running, reachable := runningBridges(ctx, server)
	fmt.Fprintf(stdout, "plugin directories: %s\n", strings.Join(dirs, ", "))
	if !reachable {
		fmt.Fprintf(stdout, "no SMS+ server answers at %s: RUNNING is unknown (?)\n", server)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFOUND\tENABLED\tRUNNING\tVERSION\tPROTOCOL\tSHA256\tPATH")
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	for _, f := range found {
		pin := cfg.Setting(pluginhost.ChecksumSetting(f.ID))
		version, protocol := "?", "?"
		if info, err := pluginhost.Describe(ctx, f, 5*time.Second, pin); err == nil {
			version, protocol = info.Version, fmt.Sprint(info.Protocol)
		} else {
			version = "error: " + firstLine(err.Error())
		}
		sum, _ := pluginhost.Checksum(f.Path)
		if len(sum) > 16 {
			sum = sum[:16] + "…"
		}
		switch {
		case pin == "":
			sum += " (not pinned)"
		case strings.HasPrefix(strings.ToLower(strings.TrimSpace(pin)), strings.TrimSuffix(sum, "…")):
			sum += " (pinned)"
		default:
			sum += " (MISMATCH with " + pluginhost.ChecksumSetting(f.ID) + ")"
		}
		enabled := slices.Contains(cfg.EnabledBridges, f.ID)
		run := "?"
		if reachable {
			run = yesNo(running[f.ID])
		}
		fmt.Fprintf(tw, "%s\tyes\t%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, yesNo(enabled), run, version, protocol, sum, f.Path)
	}
	for _, id := range cfg.EnabledBridges {
		if !slices.ContainsFunc(found, func(f pluginhost.Found) bool { return f.ID == id }) {
			fmt.Fprintf(tw, "%s\tno\tyes\t-\tmissing\t-\t-\tno %s%s binary found\n", id, pluginhost.Prefix, id)
		}
	}
	return tw.Flush()
}

// runningBridges asks a running server's /readyz which bridges are running.
func runningBridges(ctx context.Context, base string) (map[string]bool, bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/readyz", nil)
	if err != nil {
		return nil, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	var body struct {
		Detail struct {
			Plugins []pluginhost.Status `json:"plugins"`
		} `json:"detail"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return nil, false
	}
	out := map[string]bool{}
	for _, p := range body.Detail.Plugins {
		out[p.ID] = p.Running
	}
	return out, true
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
