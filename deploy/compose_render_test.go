package deploy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// The quick start, exactly as the README and docker-compose.yml write it:
//
//	cp configs/.env.example .env
//	docker compose up
//
// renders to an SMS+ on Redis, at the Redis service of the stack. The file is
// rendered by compose-go, the library Docker Compose itself loads files with, so
// interpolation, .env parsing, env_file merging and profiles follow Compose's
// own rules rather than this test's reading of them.

// renderCompose loads docker-compose.yml as `docker compose` would run in a
// checkout where configs/.env.example was copied to .env, with shell holding
// the variables set on the command line (and nothing else of this process's
// environment), and the given profiles.
func renderCompose(t *testing.T, shell map[string]string, profiles ...string) *types.Project {
	t.Helper()
	dir := t.TempDir()
	for src, dst := range map[string]string{"docker-compose.yml": "docker-compose.yml", "configs/.env.example": ".env"} {
		raw, err := os.ReadFile(filepath.Join(root, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := make([]string, 0, len(shell))
	for k, v := range shell {
		env = append(env, k+"="+v)
	}
	// The options `docker compose` applies, in its order: the shell's variables
	// win over .env's.
	opts, err := cli.NewProjectOptions(nil,
		cli.WithWorkingDirectory(dir),
		cli.WithEnv(env),
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithDefaultConfigPath,
		cli.WithProfiles(profiles),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker compose config: %v", err)
	}
	return project
}

// settingsOf is the environment a service's container gets: its env_file
// merged with its environment, as Compose passes them.
func settingsOf(t *testing.T, p *types.Project, service string) map[string]string {
	t.Helper()
	p, err := p.WithServicesEnvironmentResolved(true)
	if err != nil {
		t.Fatal(err)
	}
	svc, ok := p.Services[service]
	if !ok {
		t.Fatalf("no %s service (services: %v)", service, p.ServiceNames())
	}
	got := map[string]string{}
	for k, v := range svc.Environment {
		if v != nil {
			got[k] = *v
		}
	}
	return got
}

func TestComposeQuickStartRendered(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		shell    map[string]string
		profiles []string
		want     map[string]string // settings the smsplus container must get
		running  []string          // the services `up` starts
		needs    string            // the store service smsplus must wait for
	}{
		"quick start: Redis": {
			want: map[string]string{
				"DATA_STORE": "redis", "REDIS_HOST": "redis", "REDIS_PORT": "6379",
				"FIRESTORE_EMULATOR_HOST": "", "PORT": "8080",
			},
			running: []string{"redis", "smsplus"},
			needs:   "redis",
		},
		"mongo profile": {
			shell:    map[string]string{"DATA_STORE": "mongo"},
			profiles: []string{"mongo"},
			want:     map[string]string{"DATA_STORE": "mongo", "MONGO_URI": "mongodb://mongo:27017", "FIRESTORE_EMULATOR_HOST": ""},
			running:  []string{"mongo", "redis", "smsplus"},
			needs:    "mongo",
		},
		"firestore profile": {
			shell:    map[string]string{"DATA_STORE": "firestore", "FIRESTORE_EMULATOR_HOST": "firestore:8080"},
			profiles: []string{"firestore"},
			want:     map[string]string{"DATA_STORE": "firestore", "FIRESTORE_EMULATOR_HOST": "firestore:8080", "FIREBASE_PROJECT_ID": "smsplus-local"},
			running:  []string{"firestore", "redis", "smsplus"},
			needs:    "firestore",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := renderCompose(t, tc.shell, tc.profiles...)
			got := settingsOf(t, p, "smsplus")
			for k, want := range tc.want {
				if v, ok := got[k]; !ok || v != want {
					t.Errorf("smsplus gets %s=%q (set: %v), want %q", k, v, ok, want)
				}
			}
			names := p.ServiceNames()
			slices.Sort(names)
			if !slices.Equal(names, tc.running) {
				t.Errorf("services started: %v, want %v", names, tc.running)
			}
			if _, ok := p.Services["smsplus"].DependsOn[tc.needs]; !ok {
				t.Errorf("smsplus does not wait for %s", tc.needs)
			}
		})
	}
}
