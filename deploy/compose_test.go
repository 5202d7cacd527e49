package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// docker-compose.yml hangs together: the image built here, the store it
// defaults to, the settings it sets documented, the optional services optional.

// composeDefault returns the default of a "${NAME:-default}" value, or
// the value itself.
func composeDefault(v string) string {
	if m := regexp.MustCompile(`^\$\{[A-Z0-9_]+:-(.*)\}$`).FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return v
}

// documented reports whether configs/.env.example names setting, set or
// commented out.
func documented(t *testing.T, setting string) bool {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "configs", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile(`(?m)^#?\s*` + regexp.QuoteMeta(setting) + `=`).Match(raw)
}

func TestComposeFile(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Build *struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			Image       string         `yaml:"image"`
			Profiles    []string       `yaml:"profiles"`
			EnvFile     []yaml.Node    `yaml:"env_file"`
			Environment map[string]any `yaml:"environment"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
				Required  *bool  `yaml:"required"`
			} `yaml:"depends_on"`
			Volumes  []string `yaml:"volumes"`
			ReadOnly bool     `yaml:"read_only"`
			Tmpfs    []string `yaml:"tmpfs"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}

	app, ok := compose.Services["smsplus"]
	if !ok {
		t.Fatal("no smsplus service")
	}
	if app.Build == nil {
		t.Fatal("the smsplus service is not built from this repository")
	}
	if _, err := os.Stat(filepath.Join(root, app.Build.Context, app.Build.Dockerfile)); err != nil {
		t.Errorf("build: %v", err)
	}
	if got := composeDefault(fmt.Sprint(app.Environment["DATA_STORE"])); got != "redis" {
		t.Errorf("DATA_STORE defaults to %q, want redis", got)
	}
	readsEnv := false
	for _, n := range app.EnvFile {
		file, required := n.Value, true
		if n.Kind == yaml.MappingNode {
			var ef struct {
				Path     string `yaml:"path"`
				Required *bool  `yaml:"required"`
			}
			if err := n.Decode(&ef); err != nil {
				t.Fatal(err)
			}
			file = ef.Path
			required = ef.Required == nil || *ef.Required
		}
		readsEnv = readsEnv || file == ".env"
		if _, err := os.Stat(filepath.Join(root, file)); err != nil && required {
			t.Errorf("env_file %s is required but missing: %v", file, err)
		}
	}
	if !readsEnv {
		t.Error("the smsplus service does not read .env")
	}
	for name := range app.Environment {
		if !documented(t, name) {
			t.Errorf("docker-compose.yml sets %s, which configs/.env.example does not document", name)
		}
	}
	if app.ReadOnly && !slices.Contains(app.Tmpfs, "/tmp") {
		t.Error("a read-only smsplus needs a tmpfs on /tmp for its plugin sockets")
	}

	wantProfiles := map[string][]string{"smsplus": nil, "redis": nil, "mongo": {"mongo"}, "firestore": {"firestore"}}
	for name, want := range wantProfiles {
		svc, ok := compose.Services[name]
		if !ok {
			t.Errorf("no %s service", name)
			continue
		}
		if !slices.Equal(svc.Profiles, want) {
			t.Errorf("%s profiles %v, want %v", name, svc.Profiles, want)
		}
	}
	for name, svc := range compose.Services {
		for dep, d := range svc.DependsOn {
			if _, ok := compose.Services[dep]; !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
			}
			if len(compose.Services[dep].Profiles) > 0 && (d.Required == nil || *d.Required) {
				t.Errorf("%s requires %s, which runs only with --profile %v", name, dep, compose.Services[dep].Profiles)
			}
		}
		for _, v := range svc.Volumes {
			src, _, _ := strings.Cut(v, ":")
			switch {
			case strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/"):
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			default:
				if _, ok := compose.Volumes[src]; !ok {
					t.Errorf("%s uses volume %s, not declared under volumes:", name, src)
				}
			}
		}
	}
	for _, s := range []string{"SHUTDOWN_DRAIN_MS", "METRICS_TOKEN"} {
		if !documented(t, s) {
			t.Errorf("configs/.env.example does not document %s", s)
		}
	}
}
