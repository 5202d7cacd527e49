package host

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
)

const versionHelp = `smsplus version

Print the version, the Go version, the VCS revision the binary was built from,
and the versions of the SMS+ modules in it.`

// runVersion is `smsplus version`: what the binary was built from.
func runVersion(_ context.Context, args []string, p proc) error {
	stdout := p.stdout
	if len(args) > 0 && isHelpArg(args[0]) {
		fmt.Fprintf(stdout, "Usage: %s\n%s", versionHelp, exitCodesHelp)
		return nil
	}
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
