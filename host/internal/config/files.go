package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// fileSuffix turns a setting X into X_FILE: the path of a file holding X's value,
// the way Docker and Kubernetes hand secrets to a container
// (HASH_SALT_FILE=/run/secrets/hash_salt). It works for every setting, the
// bridges' included, so no setting name may end in _FILE.
//
// The host's settings and those in an enabled bridge's namespace (OKTA_...) are
// read from their files at load, so that their problems are reported with the
// rest; any other X only when asked for it (Setting), since names ending in _FILE
// are common in an environment (SSL_CERT_FILE) and none of SMS+'s business until
// a bridge declares one (BridgeProblems then reports its problems).
const fileSuffix = "_file"

// maxFileSize bounds a setting read from a file (a service account key is a few KiB).
const maxFileSize = 1 << 20

// files reads X_FILE into X for the host's settings (known) and the enabled
// bridges'.
func (r *reader) files(known map[string]bool) {
	prefixes := enabledPrefixes(r.raw["enabled_bridges"])
	var keys []string
	for key := range r.from {
		base, ok := strings.CutSuffix(key, fileSuffix)
		if ok && r.raw[key] != "" && (known[base] || slices.ContainsFunc(prefixes, func(p string) bool {
			return strings.HasPrefix(base, p)
		})) {
			keys = append(keys, base)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		v, set, problem := fromFile(r.raw, r.from, key)
		if problem != "" {
			r.problem("%s", problem)
		} else if set {
			r.raw[key] = v
		}
	}
}

// enabledPrefixes are the namespaces of ENABLED_BRIDGES (lower case: okta_);
// the bridges reader checks the ids.
func enabledPrefixes(ids string) []string {
	var out []string
	for _, id := range strings.Split(ids, ",") {
		if id = strings.ToLower(strings.TrimSpace(id)); id != "" && validBridgeID(id) {
			out = append(out, strings.ReplaceAll(id, "-", "_")+"_")
		}
	}
	return out
}

// fromFile reads the value of key from the file key_FILE names. set is false
// when key_FILE is unset. problem, when set, says why the value could not be
// read: both key and key_FILE set, or a file that cannot be read. It names the
// file, never quotes what it holds. The file's trailing newlines are dropped
// (echo and editors add one).
func fromFile(raw, from map[string]string, key string) (v string, set bool, problem string) {
	fileKey := key + fileSuffix
	path := raw[fileKey]
	if path == "" {
		return "", false, ""
	}
	if _, explicit := from[key]; explicit && raw[key] != "" {
		return "", true, fmt.Sprintf("%s and %s: set only one of them (%s names a file holding the value of %s)",
			envName(key), envName(fileKey), envName(fileKey), envName(key))
	}
	v, err := readSettingFile(path)
	if err != nil {
		return "", true, fmt.Sprintf("%s: %v", envName(fileKey), err)
	}
	return v, true, ""
}

// readSettingFile reads a setting's value; errors name the file, never quote it.
func readSettingFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, cause(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("cannot read %s: %w", path, cause(err))
	case len(b) > maxFileSize:
		return "", fmt.Errorf("%s is larger than 1 MiB: not a setting's value", path)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// cause drops the operation and path os errors repeat ("open /x: ...").
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
