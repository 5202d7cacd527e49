package config

import (
	"encoding/json"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Redis holds the Redis store settings (DATA_STORE=redis).
//
// One server comes from REDIS_URL, or else from REDIS_HOST and REDIS_PORT (the
// seed's names). REDIS_ADDRS lists seeds instead: the Sentinels when
// REDIS_SENTINEL_MASTER is set, otherwise the nodes of a Redis Cluster.
type Redis struct {
	Addrs            []string // host:port; one for a single server
	Cluster          bool     // Addrs are cluster seeds
	SentinelMaster   string   // Addrs are Sentinels watching this primary
	Username         string   // ACL user, "" = default
	Password         string
	SentinelPassword string
	DB               int
	TLS              bool
	KeyPrefix        string
	// AllowDataLoss (REDIS_ALLOW_DATA_LOSS) starts SMS+ on a Redis that keeps
	// nothing on disk or evicts keys. Off by default: a lost profile makes its user
	// look new, and a new user's text carries the raw code.
	AllowDataLoss bool
}

// Mongo holds the MongoDB store settings (DATA_STORE=mongo).
type Mongo struct {
	URI      string // may hold a password: never log it (mongo.Redact)
	Database string
}

// Firestore holds the Firestore store settings (DATA_STORE=firestore).
type Firestore struct {
	ProjectID  string
	DatabaseID string // "" = "(default)"
	// Credential is the content of FIREBASE_CREDENTIAL (the JSON object itself, or
	// the file it names); nil means Application Default Credentials.
	Credential   []byte
	EmulatorHost string // FIRESTORE_EMULATOR_HOST: use the emulator, no credentials
}

func (r *reader) redis() *Redis {
	c := &Redis{
		Username:         r.str("redis_username"),
		Password:         r.str("redis_password"),
		SentinelMaster:   r.str("redis_sentinel_master"),
		SentinelPassword: r.str("redis_sentinel_password"),
		DB:               r.int("redis_db", 0, 1<<16),
		TLS:              r.bool("redis_tls"),
		KeyPrefix:        r.str("redis_key_prefix"),
		AllowDataLoss:    r.bool("redis_allow_data_loss"),
	}
	rawURL, addrs := r.str("redis_url"), r.str("redis_addrs")
	switch {
	case rawURL != "" && addrs != "":
		r.problem("REDIS_URL and REDIS_ADDRS: set one of them: REDIS_URL names a single server, REDIS_ADDRS the Sentinels or the cluster's nodes")
	case rawURL != "":
		r.redisURL(c, rawURL)
	case addrs != "":
		for _, a := range strings.Split(addrs, ",") {
			if a = strings.TrimSpace(a); a == "" {
				continue
			}
			if !validHostPort(a) {
				r.problem("REDIS_ADDRS: %q is not a host:port", a)
				continue
			}
			c.Addrs = append(c.Addrs, a)
		}
		if len(c.Addrs) == 0 {
			r.problem("REDIS_ADDRS: lists no host:port")
		}
		c.Cluster = c.SentinelMaster == ""
		if c.Cluster && c.DB != 0 {
			r.problem("REDIS_DB: a Redis Cluster has only database 0 (REDIS_ADDRS without REDIS_SENTINEL_MASTER means a cluster)")
		}
	default:
		port := r.int("redis_port", 1, 65535)
		host := r.str("redis_host")
		if host == "" {
			r.problem("REDIS_HOST: must name the Redis server (or set REDIS_URL)")
		}
		c.Addrs = []string{net.JoinHostPort(host, strconv.Itoa(port))}
	}
	if c.SentinelMaster != "" && addrs == "" {
		r.problem("REDIS_SENTINEL_MASTER: needs REDIS_ADDRS, the Sentinels' host:port list")
	}
	if strings.IndexFunc(c.KeyPrefix, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		r.problem("REDIS_KEY_PREFIX: must not contain spaces or control characters, got %q", c.KeyPrefix)
	}
	return c
}

// redisURL reads redis[s]://[user[:password]@]host[:port][/db] into c; what the URL
// leaves out keeps its REDIS_* value. Problems never quote the URL: it may hold a
// password.
func (r *reader) redisURL(c *Redis, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Hostname() == "" || u.Opaque != "" {
		r.problem("REDIS_URL: must look like redis://[user:password@]host:port/db (rediss:// for TLS)")
		return
	}
	if u.RawQuery != "" || u.Fragment != "" {
		r.problem("REDIS_URL: query options are not supported; use REDIS_TLS, REDIS_DB and the other REDIS_* settings")
	}
	port := u.Port()
	if port == "" {
		port = "6379"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		r.problem("REDIS_URL: the port must be a number from 1 to 65535")
	}
	c.Addrs = []string{net.JoinHostPort(u.Hostname(), port)}
	if u.User != nil {
		if name := u.User.Username(); name != "" {
			c.Username = name
		}
		if pw, ok := u.User.Password(); ok {
			c.Password = pw
		}
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			r.problem("REDIS_URL: the path must be a database number, like /0")
		}
		c.DB = n
	}
	c.TLS = c.TLS || u.Scheme == "rediss"
}

func (r *reader) mongo() *Mongo {
	c := &Mongo{URI: r.str("mongo_uri"), Database: r.str("mongo_db_name")}
	switch {
	case c.URI == "":
		r.problem("MONGO_URI: is required with DATA_STORE=mongo, e.g. mongodb://user:password@db1:27017,db2:27017/?replicaSet=rs0")
	case !strings.HasPrefix(c.URI, "mongodb://") && !strings.HasPrefix(c.URI, "mongodb+srv://"):
		r.problem("MONGO_URI: must start with mongodb:// or mongodb+srv://")
	}
	if !validMongoDatabase(c.Database) {
		r.problem("MONGO_DB_NAME: must be 1 to 63 bytes without spaces or any of /\\.\"$*<>:|?, got %q", c.Database)
	}
	return c
}

var firestoreDatabaseID = regexp.MustCompile(`^[a-z][a-z0-9-]{2,61}[a-z0-9]$`)

func (r *reader) firestore() *Firestore {
	c := &Firestore{
		ProjectID:    r.str("firebase_project_id"),
		DatabaseID:   r.str("firebase_database_id"),
		EmulatorHost: r.str("firestore_emulator_host"),
	}
	if c.ProjectID == "" {
		r.problem("FIREBASE_PROJECT_ID: is required with DATA_STORE=firestore (any id will do with the emulator)")
	}
	if c.DatabaseID != "" && c.DatabaseID != "(default)" && !firestoreDatabaseID.MatchString(c.DatabaseID) {
		r.problem("FIREBASE_DATABASE_ID: must be (default) or 4 to 63 lower-case letters, digits and '-', starting with a letter, got %q", c.DatabaseID)
	}
	if c.EmulatorHost != "" && !validHostPort(c.EmulatorHost) {
		r.problem("FIRESTORE_EMULATOR_HOST: must be host:port, got %q", c.EmulatorHost)
	}
	cred := r.str("firebase_credential")
	if cred == "" {
		return c
	}
	// Never quote the credential in a problem: it holds a private key.
	js := []byte(cred)
	if !strings.HasPrefix(cred, "{") {
		fi, err := os.Stat(cred)
		switch {
		case err != nil:
			r.problem("FIREBASE_CREDENTIAL: is neither a JSON object nor a readable file: %v", err)
			return c
		case fi.IsDir() || fi.Size() > 1<<20:
			r.problem("FIREBASE_CREDENTIAL: %s is not a credentials file (a directory, or over 1 MiB)", cred)
			return c
		}
		if js, err = os.ReadFile(cred); err != nil {
			r.problem("FIREBASE_CREDENTIAL: %v", err)
			return c
		}
	}
	var head struct {
		Type string `json:"type"`
	}
	switch err := json.Unmarshal(js, &head); {
	case err != nil:
		r.problem("FIREBASE_CREDENTIAL: is not valid JSON (expected a service account key file or its content)")
	case head.Type == "":
		r.problem(`FIREBASE_CREDENTIAL: the JSON has no "type" (a service account key has "type": "service_account")`)
	default:
		c.Credential = js
	}
	return c
}

func validHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

func validMongoDatabase(s string) bool {
	return s != "" && len(s) < 64 && !strings.ContainsAny(s, "/\\. \"$*<>:|?\x00")
}
