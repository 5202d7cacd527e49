package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The Dockerfile builds with the Makefile's own command, and the image runs the
// way the host expects: non-root, plugins where smsplus looks for them, a health
// check without a shell.

type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
}

// parseDockerfile returns the instructions, continuation lines joined and
// comments dropped.
func parseDockerfile(t *testing.T, file string) []instruction {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		cont := strings.HasSuffix(trimmed, "\\")
		cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
		if cont {
			continue
		}
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		cmd, args, _ := strings.Cut(text, " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " ")})
	}
	return out
}

// execForm decodes a JSON-array (exec form) argument list, or fails.
func execForm(t *testing.T, in instruction, s string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(s), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("Dockerfile:%d: %s must use the exec form [\"...\"] (the image has no shell): %q", in.line, in.cmd, s)
	}
	return argv
}

// dockerFlags separates leading --flag=value words from the rest.
func dockerFlags(args string) (map[string]string, []string) {
	flags := map[string]string{}
	words := strings.Fields(args)
	for len(words) > 0 && strings.HasPrefix(words[0], "--") {
		k, v, _ := strings.Cut(strings.TrimPrefix(words[0], "--"), "=")
		flags[k] = v
		words = words[1:]
	}
	return flags, words
}

func TestDockerfileBuildsWithTheMakefile(t *testing.T) {
	t.Parallel()
	ins := parseDockerfile(t, filepath.Join(root, "Dockerfile"))

	// The image builds only through `make static`, with no flags of its own.
	// Only the target platform may be chosen (GOOS, GOARCH: what, not how).
	makeStatic := regexp.MustCompile(`(^|[;&|]\s*)((GOOS|GOARCH)=\S*\s+)*make\s+(\S+\s+)*static(\s|$)`)
	forbidden := regexp.MustCompile(`\bgo\s+(build|install)\b|CGO_ENABLED|-ldflags|-trimpath|GOFLAGS`)
	var binDir string
	var stages []string
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			stages = append(stages, in.args)
		case "RUN":
			_, words := dockerFlags(in.args) // --mount=...
			run := strings.Join(words, " ")
			if forbidden.MatchString(run) {
				t.Errorf("Dockerfile:%d: RUN builds by itself instead of calling make: %s", in.line, run)
			}
			if makeStatic.MatchString(run) {
				m := regexp.MustCompile(`\bBIN=(\S+)`).FindStringSubmatch(run)
				if m == nil {
					t.Fatalf("Dockerfile:%d: make static without BIN=DIR", in.line)
				}
				if binDir != "" {
					t.Errorf("Dockerfile:%d: make static runs twice", in.line)
				}
				binDir = m[1]
				if extra := regexp.MustCompile(`\b(LDFLAGS|BUILD|GO|CGO_ENABLED)=`).FindString(run); extra != "" {
					t.Errorf("Dockerfile:%d: make static overrides %s: the image must build as the Makefile does", in.line, extra)
				}
			}
		case "ENV", "ARG":
			if regexp.MustCompile(`(^|\s)(CGO_ENABLED|GOFLAGS|LDFLAGS|BUILD|GO)=`).MatchString(in.args) {
				t.Errorf("Dockerfile:%d: %s changes the build: %s", in.line, in.cmd, in.args)
			}
		}
	}
	if binDir == "" {
		t.Fatal("the Dockerfile never runs `make static BIN=DIR`")
	}

	// The runtime stage: distroless static (or scratch), non-root, the binary and
	// its plugins in the default plugin directory, a shell-free health check.
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("runtime stage is %q, want distroless static or scratch", final)
	}
	finalStart := slices.IndexFunc(ins, func(in instruction) bool { return in.cmd == "FROM" && in.args == final })
	var exe, pluginDir, user string
	var entry, health []string
	for _, in := range ins[finalStart:] {
		switch in.cmd {
		case "COPY":
			flags, words := dockerFlags(in.args)
			if flags["from"] == "" || len(words) != 2 {
				continue
			}
			switch words[0] {
			case path.Join(binDir, "smsplus"):
				exe = words[1]
			case path.Join(binDir, "plugins") + "/":
				pluginDir = strings.TrimSuffix(words[1], "/")
			}
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = execForm(t, in, in.args)
		case "HEALTHCHECK":
			_, words := dockerFlags(in.args)
			if len(words) < 2 || words[0] != "CMD" {
				t.Fatalf("Dockerfile:%d: HEALTHCHECK without CMD: %q", in.line, in.args)
			}
			health = execForm(t, in, strings.Join(words[1:], " "))
		}
	}
	if exe == "" || pluginDir == "" {
		t.Fatalf("the runtime stage must copy %s/smsplus and %s/plugins/ (got %q, %q)", binDir, binDir, exe, pluginDir)
	}
	if pluginDir != path.Join(path.Dir(exe), "plugins") {
		t.Errorf("plugins go to %s, but smsplus looks next to %s, in %s", pluginDir, exe, path.Join(path.Dir(exe), "plugins"))
	}
	if uid := strings.Split(user, ":")[0]; uid == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: the image must run as a non-root user", user)
	}
	if len(entry) == 0 || entry[0] != exe {
		t.Errorf("ENTRYPOINT %q, want %s", entry, exe)
	}
	if len(health) < 2 || health[0] != exe || health[1] != "healthcheck" {
		t.Errorf("HEALTHCHECK %q, want [%q, \"healthcheck\", ...]", health, exe)
	}

	// Every file the build copies from the context exists.
	for _, in := range ins {
		flags, words := dockerFlags(in.args)
		if in.cmd != "COPY" || flags["from"] != "" || len(words) < 2 {
			continue
		}
		for _, src := range words[:len(words)-1] {
			if _, err := os.Stat(filepath.Join(root, src)); err != nil {
				t.Errorf("Dockerfile:%d: COPY %s: %v", in.line, src, err)
			}
		}
	}

	// The Makefile's static target runs only its static, trimmed, stripped build
	// command, for the host and for every plugin.
	out, err := exec.Command(need(t, "make"), "--no-print-directory", "-n", "-C", root, "static", "BIN="+binDir).CombinedOutput()
	if err != nil {
		t.Fatalf("make -n static: %v\n%s", err, out)
	}
	builds := 0
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, "go build") {
			continue
		}
		builds++
		for _, want := range []string{"CGO_ENABLED=0 ", " -trimpath ", " -ldflags='-s -w' ", " -o " + binDir + "/"} {
			if !strings.Contains(line, want) {
				t.Errorf("make static builds without %q: %s", strings.TrimSpace(want), line)
			}
		}
	}
	if builds == 0 || !strings.Contains(string(out), "./cmd/smsplus") || !strings.Contains(string(out), "./plugins/$p") {
		t.Errorf("make static does not build the host and the plugins:\n%s", out)
	}
}
