package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func load(t *testing.T, env ...string) (*Config, error) {
	t.Helper()
	return Load(Sources{Environ: append([]string{"HASH_SALT=pepper"}, env...)})
}

func TestRedisSettings(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		env  []string
		want Redis
	}{
		"seed defaults": {
			env:  []string{"DATA_STORE=redis"},
			want: Redis{Addrs: []string{"localhost:6379"}, KeyPrefix: "smsplus:"},
		},
		"seed names": {
			env:  []string{"DATA_STORE=redis", "REDIS_HOST=cache", "REDIS_PORT=6380", "REDIS_PASSWORD=pw", "REDIS_DB=2"},
			want: Redis{Addrs: []string{"cache:6380"}, Password: "pw", DB: 2, KeyPrefix: "smsplus:"},
		},
		"url wins over host and port": {
			env: []string{"DATA_STORE=redis", "REDIS_URL=rediss://app:s3cret@r.example:6390/3", "REDIS_HOST=ignored",
				"REDIS_KEY_PREFIX=sms:"},
			want: Redis{Addrs: []string{"r.example:6390"}, Username: "app", Password: "s3cret", DB: 3, TLS: true, KeyPrefix: "sms:"},
		},
		"url without password keeps REDIS_PASSWORD": {
			env:  []string{"DATA_STORE=redis", "REDIS_URL=redis://r.example", "REDIS_PASSWORD=pw", "REDIS_TLS=true"},
			want: Redis{Addrs: []string{"r.example:6379"}, Password: "pw", TLS: true, KeyPrefix: "smsplus:"},
		},
		"ipv6 url": {
			env:  []string{"DATA_STORE=redis", "REDIS_URL=redis://[::1]:7000/0"},
			want: Redis{Addrs: []string{"[::1]:7000"}, KeyPrefix: "smsplus:"},
		},
		"cluster": {
			env:  []string{"DATA_STORE=redis", "REDIS_ADDRS=n1:7000, n2:7000,,n3:7000", "REDIS_USERNAME=app"},
			want: Redis{Addrs: []string{"n1:7000", "n2:7000", "n3:7000"}, Cluster: true, Username: "app", KeyPrefix: "smsplus:"},
		},
		"sentinel": {
			env: []string{"DATA_STORE=redis", "REDIS_ADDRS=s1:26379,s2:26379", "REDIS_SENTINEL_MASTER=mymaster",
				"REDIS_SENTINEL_PASSWORD=spw", "REDIS_DB=1"},
			want: Redis{Addrs: []string{"s1:26379", "s2:26379"}, SentinelMaster: "mymaster", SentinelPassword: "spw", DB: 1,
				KeyPrefix: "smsplus:"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, tc.env...)
			if err != nil {
				t.Fatal(err)
			}
			if c.Redis == nil || c.Mongo != nil || c.Firestore != nil {
				t.Fatalf("backend settings = %+v %+v %+v, want only Redis", c.Redis, c.Mongo, c.Firestore)
			}
			if got := *c.Redis; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Redis = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMongoAndFirestoreSettings(t *testing.T) {
	t.Parallel()
	c, err := load(t, "DATA_STORE=mongo", "MONGO_URI=mongodb://u:p@db1,db2/?replicaSet=rs0")
	if err != nil {
		t.Fatal(err)
	}
	if c.Mongo == nil || c.Mongo.URI != "mongodb://u:p@db1,db2/?replicaSet=rs0" || c.Mongo.Database != "smsplus" || c.Redis != nil {
		t.Errorf("mongo settings = %+v", c.Mongo)
	}

	key := filepath.Join(t.TempDir(), "key.json")
	write(t, key, `{"type":"service_account","project_id":"p","private_key":"-----BEGIN PRIVATE KEY-----"}`)
	for _, cred := range []string{key, `{"type":"service_account","project_id":"p"}`} {
		c, err = load(t, "DATA_STORE=firestore", "FIREBASE_PROJECT_ID=proj", "FIREBASE_DATABASE_ID=sms-db", "FIREBASE_CREDENTIAL="+cred)
		if err != nil {
			t.Fatal(err)
		}
		f := c.Firestore
		if f == nil || f.ProjectID != "proj" || f.DatabaseID != "sms-db" || !strings.Contains(string(f.Credential), "service_account") {
			t.Errorf("firestore settings with FIREBASE_CREDENTIAL=%.20s… = %+v", cred, f)
		}
	}
	c, err = load(t, "DATA_STORE=firestore", "FIREBASE_PROJECT_ID=proj", "FIRESTORE_EMULATOR_HOST=127.0.0.1:8681")
	if err != nil || c.Firestore.EmulatorHost != "127.0.0.1:8681" || c.Firestore.Credential != nil {
		t.Errorf("emulator settings = %+v, %v", c.Firestore, err)
	}
	// Unselected backends are not checked: a seed .env may carry them all.
	if _, err := load(t, "DATA_STORE=embedded", "REDIS_URL=bogus", "MONGO_URI=bogus", "FIREBASE_CREDENTIAL=/nope"); err != nil {
		t.Errorf("settings of an unselected store reported: %v", err)
	}
}

// Every problem of a backend's settings is reported at once, each naming its
// setting, and none quotes a secret.
func TestStorageProblems(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-secret"
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "key.json")
	write(t, notJSON, secret)
	tests := map[string]struct {
		env  []string
		want []string
	}{
		"mongo without uri": {
			env:  []string{"DATA_STORE=mongo", "MONGO_DB_NAME=a.b"},
			want: []string{"MONGO_URI: is required", "MONGO_DB_NAME"},
		},
		"mongo bad scheme": {
			env:  []string{"DATA_STORE=mongo", "MONGO_URI=http://u:" + secret + "@h/"},
			want: []string{"MONGO_URI: must start with mongodb://"},
		},
		"redis url and addrs": {
			env:  []string{"DATA_STORE=redis", "REDIS_URL=redis://:" + secret + "@h", "REDIS_ADDRS=a:1"},
			want: []string{"REDIS_URL and REDIS_ADDRS"},
		},
		"redis bad url": {
			env:  []string{"DATA_STORE=redis", "REDIS_URL=http://:" + secret + "@h:99999/x?tls=1"},
			want: []string{"REDIS_URL: must look like"},
		},
		"redis bad url parts": {
			env:  []string{"DATA_STORE=redis", "REDIS_URL=redis://:" + secret + "@h:99999/x?tls=1"},
			want: []string{"REDIS_URL: query options", "REDIS_URL: the port", "REDIS_URL: the path"},
		},
		"redis cluster problems": {
			env:  []string{"DATA_STORE=redis", "REDIS_ADDRS=a:1,nonsense", "REDIS_DB=3", "REDIS_TLS=maybe", "REDIS_KEY_PREFIX=a b"},
			want: []string{`REDIS_ADDRS: "nonsense"`, "REDIS_DB: a Redis Cluster", "REDIS_TLS", "REDIS_KEY_PREFIX"},
		},
		"redis sentinel without addrs": {
			env:  []string{"DATA_STORE=redis", "REDIS_SENTINEL_MASTER=m", "REDIS_PORT=0"},
			want: []string{"REDIS_SENTINEL_MASTER: needs REDIS_ADDRS", "REDIS_PORT"},
		},
		"firestore problems": {
			env: []string{"DATA_STORE=firestore", "FIREBASE_DATABASE_ID=Bad_DB", "FIRESTORE_EMULATOR_HOST=nohost",
				"FIREBASE_CREDENTIAL=" + notJSON},
			want: []string{"FIREBASE_PROJECT_ID: is required", "FIREBASE_DATABASE_ID", "FIRESTORE_EMULATOR_HOST", "FIREBASE_CREDENTIAL: is not valid JSON"},
		},
		"firestore credential problems": {
			env:  []string{"DATA_STORE=firestore", "FIREBASE_PROJECT_ID=p", `FIREBASE_CREDENTIAL={"private_key":"` + secret + `"}`},
			want: []string{`FIREBASE_CREDENTIAL: the JSON has no "type"`},
		},
		"firestore missing credential file": {
			env:  []string{"DATA_STORE=firestore", "FIREBASE_PROJECT_ID=p", "FIREBASE_CREDENTIAL=" + filepath.Join(dir, "missing.json")},
			want: []string{"FIREBASE_CREDENTIAL: is neither a JSON object nor a readable file"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tc.env...)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *Error", err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("problems do not mention %q:\n%v", want, err)
				}
			}
			if len(ce.Problems) != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%v", len(ce.Problems), len(tc.want), err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("problems quote a secret:\n%v", err)
			}
			if strings.Contains(err.Error(), "not available") {
				t.Errorf("a server store is still reported unavailable:\n%v", err)
			}
		})
	}
}
