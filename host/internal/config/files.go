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

// fileSuffix turns any setting X into X_FILE: the path of a file holding X's
// value, the way Docker and Kubernetes hand secrets to a container
// (HASH_SALT_FILE=/run/secrets/hash_salt). It works for every setting, a bridge's
// included, so no setting name may end in _FILE.
const fileSuffix = "_file"

// maxFileSize bounds a setting read from a file (a service account key is a few KiB).
const maxFileSize = 1 << 20

// files reads every X_FILE into X. Setting both is a problem, and so is a file
// that cannot be read; problems name the file, never what it holds. The
// file's trailing newlines are dropped (echo and editors add one).
func (r *reader) files() {
	keys := make([]string, 0, len(r.from))
	for key := range r.from {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		base, ok := strings.CutSuffix(key, fileSuffix)
		path := r.raw[key]
		if !ok || base == "" || path == "" {
			continue
		}
		if _, set := r.from[base]; set && r.raw[base] != "" {
			r.problem("%s and %s: set only one of them (%s names a file holding the value of %s)",
				envName(base), envName(key), envName(key), envName(base))
			continue
		}
		v, err := readSettingFile(path)
		if err != nil {
			r.problem("%s: %v", envName(key), err)
			continue
		}
		r.raw[base] = v
	}
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
