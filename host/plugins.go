package host

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smsplus/smsplus/host/internal/config"
	"github.com/smsplus/smsplus/host/internal/pluginhost"
)

const pluginsHelp = `smsplus plugins [--config FILE] [--env-file FILE] [--url URL]

List the bridge plugins found, enabled or not, with versions and checksums.`

// runPlugins is `smsplus plugins`: the bridges found on disk, each checked as a
// launch would check it, and what a running server says of them.
func runPlugins(ctx context.Context, args []string, p proc) error {
	stdout := p.stdout
	var src sourceFlags
	var server string
	fs := newFlagSet("plugins", pluginsHelp, stdout)
	src.register(fs)
	fs.StringVar(&server, "url", "", "base `URL` of the running server to ask which bridges run (default: http://localhost:PORT)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := src.load(p.environ)
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
	// Each binary is checked as a launch would check it, and launched only to read
	// its Info when it passes: no setting is passed to it.
	m := pluginhost.NewManager(pluginOptions(cfg, nil))
	inspections := m.Inspect(ctx, found, cfg.EnabledBridges)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFOUND\tENABLED\tRUNNING\tVERSION\tPROTOCOL\tSHA256\tPATH")
	var problems []string
	for _, in := range inspections {
		version, protocol := "-", "-"
		if in.Info != nil {
			version, protocol = in.Info.Version, fmt.Sprint(in.Info.Protocol)
		}
		st, known := running[in.ID]
		run := "?"
		if reachable {
			run = yesNo(known && st.Running)
		}
		fmt.Fprintf(tw, "%s\tyes\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, enabledAs(cfg, in.ID), run,
			version, protocol, checksumColumn(in, st), in.Path)
		for _, pr := range in.Problems {
			problems = append(problems, in.ID+": "+pr)
		}
		switch {
		case st.Error != "":
			problems = append(problems, in.ID+": the server reports: "+st.Error)
		case st.Running && in.SHA256 != "" && st.SHA256 != in.SHA256:
			problems = append(problems, fmt.Sprintf("%s: the file on disk (SHA-256 %s) is not the one the server runs (%s): "+
				"the server will refuse it when the bridge restarts; put the original back, or pin the new one with %s and restart SMS+",
				in.ID, in.SHA256, st.SHA256, pluginhost.ChecksumSetting(in.ID)))
		}
	}
	for _, id := range cfg.EnabledBridges {
		// A named instance shows on its plugin's line (ENABLED: as okta-preview).
		plugin := cfg.Plugin(id)
		if !slices.ContainsFunc(found, func(f pluginhost.Found) bool { return f.ID == plugin }) {
			fmt.Fprintf(tw, "%s\tno\tyes\t-\tmissing\t-\t-\tno %s%s binary found\n", id, pluginhost.Prefix, plugin)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printBridgeSettings(stdout, inspections, cfg)
	if len(problems) > 0 {
		fmt.Fprintf(stdout, "\nproblems (SMS+ refuses to launch these bridges until they are fixed):\n  - %s\n", strings.Join(problems, "\n  - "))
	}
	return nil
}

// printBridgeSettings lists what each bridge's Info declares: its name and its
// settings (required or not, secret or not, set or not, what they are), never
// a value. Whether the values are right is the bridge's to say (check-config).
func printBridgeSettings(w io.Writer, inspections []pluginhost.Inspection, cfg *config.Config) {
	for _, in := range inspections {
		if in.Info == nil || len(in.Info.Settings) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s (%s) reads:\n", in.ID, in.Info.DisplayName)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, st := range in.Info.Settings {
			kind := "optional"
			if st.Required {
				kind = "required"
			}
			if st.Secret {
				kind += ", secret"
			}
			set := "not set"
			if cfg.Setting(st.Name) != "" {
				set = "set"
			}
			fmt.Fprintf(tw, "  %s\t%s, %s\t%s\n", st.Name, kind, set, st.Description)
		}
		_ = tw.Flush()
	}
}

// enabledAs says whether plugin id is enabled, and as which named instances:
// "yes", "no", "yes, as okta-preview", "as okta-preview, okta-eu".
func enabledAs(cfg *config.Config, id string) string {
	var as []string
	for _, b := range cfg.EnabledBridges {
		if b != id && cfg.Plugin(b) == id {
			as = append(as, b)
		}
	}
	switch own := slices.Contains(cfg.EnabledBridges, id); {
	case len(as) == 0:
		return yesNo(own)
	case own:
		return "yes, as " + strings.Join(as, ", ") + " too"
	}
	return "as " + strings.Join(as, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// checksumColumn shows the start of the binary's SHA-256, whether it is pinned,
// and, when the server runs another binary than the one on disk now, that one's.
func checksumColumn(in pluginhost.Inspection, st pluginhost.Status) string {
	if in.SHA256 == "" {
		return "-"
	}
	out := short(in.SHA256)
	switch {
	case !in.Pinned:
		out += " (not pinned)"
	case slices.ContainsFunc(in.Problems, func(p string) bool { return strings.Contains(p, "does not match") }):
		out += " (MISMATCH with " + pluginhost.ChecksumSetting(in.ID) + ")"
	default:
		out += " (pinned)"
	}
	if st.SHA256 != "" && st.SHA256 != in.SHA256 {
		out += " (server runs " + short(st.SHA256) + ")"
	}
	return out
}

func short(sum string) string {
	if len(sum) > 16 {
		return sum[:16] + "…"
	}
	return sum
}

// runningBridges asks a running server's /readyz for the status of its bridges.
func runningBridges(ctx context.Context, base string) (map[string]pluginhost.Status, bool) {
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
	out := map[string]pluginhost.Status{}
	for _, p := range body.Detail.Plugins {
		out[p.ID] = p
	}
	return out, true
}
