package config

import (
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Storage holds the store settings: which store, and the selected one's settings.
type Storage struct {
	DataStore string // embedded | redis | mongo | firestore
	DataDir   string // embedded store directory
	DataKey   []byte // optional AES-256 key sealing at rest; nil = derived from HashSalt
	// The selected server store's settings; nil unless DataStore names it.
	Redis     *Redis
	Mongo     *Mongo
	Firestore *Firestore
}

// storage reads DATA_STORE and the selected store's settings only: a seed .env
// may carry the settings of every store.
func (r *reader) storage() Storage {
	c := Storage{DataStore: r.oneOf("data_store", "embedded", "redis", "mongo", "firestore"), DataDir: r.str("data_dir")}
	switch c.DataStore {
	case "redis":
		c.Redis = r.redis()
	case "mongo":
		c.Mongo = r.mongo()
	case "firestore":
		c.Firestore = r.firestore()
	}
	if c.DataStore == "embedded" && c.DataDir == "" {
		r.problem("DATA_DIR: must name a directory for the embedded store")
	}
	if s, ok := r.checkedSecret("data_encryption_key"); s != "" && ok {
		key, err := decodeKey(s)
		if err != nil {
			r.problem("DATA_ENCRYPTION_KEY: %v", err)
		}
		c.DataKey = key
	}
	return c
}

// decodeKey accepts a 32-byte key as base64 (standard or URL) or hex.
func decodeKey(s string) ([]byte, error) {
	for _, dec := range []func(string) ([]byte, error){
		base64.StdEncoding.DecodeString, base64.URLEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString, base64.RawURLEncoding.DecodeString, hex.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("must be 32 random bytes, base64 or hex encoded (e.g. openssl rand -base64 32)")
}

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
		Password:         r.secret("redis_password"),
		SentinelMaster:   r.str("redis_sentinel_master"),
		SentinelPassword: r.secret("redis_sentinel_password"),
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
		r.redisAddrs(c)
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

// redisAddrs reads REDIS_ADDRS: the Sentinels with REDIS_SENTINEL_MASTER, the
// nodes of a cluster without.
func (r *reader) redisAddrs(c *Redis) {
	for _, a := range r.list("redis_addrs") {
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
	port := cmp.Or(u.Port(), "6379")
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		r.problem("REDIS_URL: the port must be a number from 1 to 65535")
	}
	c.Addrs = []string{net.JoinHostPort(u.Hostname(), port)}
	r.redisURLUser(c, u)
	r.redisURLDB(c, u)
	c.TLS = c.TLS || u.Scheme == "rediss"
}

// redisURLDB takes the database number from the URL's path, when it has one.
func (r *reader) redisURLDB(c *Redis, u *url.URL) {
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		return
	}
	n, err := strconv.Atoi(db)
	if err != nil || n < 0 {
		r.problem("REDIS_URL: the path must be a database number, like /0")
	}
	c.DB = n
}

// redisURLUser takes the user and password from the URL, when it has them.
func (r *reader) redisURLUser(c *Redis, u *url.URL) {
	if u.User == nil {
		return
	}
	if name := u.User.Username(); name != "" {
		c.Username = name
	}
	if pw, ok := u.User.Password(); ok {
		r.checkSecret("redis_url", "the password in it", pw)
		c.Password = pw
	}
}

func (r *reader) mongo() *Mongo {
	c := &Mongo{URI: r.str("mongo_uri"), Database: r.str("mongo_db_name")}
	r.uriPassword("mongo_uri", c.URI)
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
	c.Credential = r.firestoreCredential("firebase_credential")
	return c
}

// firestoreCredential reads a service account key: the JSON itself, or the path
// of its file. nil means Application Default Credentials. Problems never quote
// the credential: it holds a private key.
func (r *reader) firestoreCredential(key string) []byte {
	cred, ok := r.checkedSecret(key)
	if cred == "" || !ok {
		return nil
	}
	js := []byte(cred)
	if !strings.HasPrefix(cred, "{") {
		var err error
		if js, err = readCredentialFile(cred); err != nil {
			r.problem("%s: %v", envName(key), err)
			return nil
		}
	}
	var head struct {
		Type string `json:"type"`
	}
	switch err := json.Unmarshal(js, &head); {
	case err != nil:
		r.problem("%s: is not valid JSON (expected a service account key file or its content)", envName(key))
	case head.Type == "":
		r.problem(`%s: the JSON has no "type" (a service account key has "type": "service_account")`, envName(key))
	default:
		return js
	}
	return nil
}

// readCredentialFile reads a credentials file of at most 1 MiB.
func readCredentialFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return nil, fmt.Errorf("is neither a JSON object nor a readable file: %w", err)
	case fi.IsDir() || fi.Size() > 1<<20:
		return nil, fmt.Errorf("%s is not a credentials file (a directory, or over 1 MiB)", path)
	}
	return os.ReadFile(path)
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
