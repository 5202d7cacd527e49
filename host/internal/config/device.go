package config

import (
	"strconv"
	"strings"
	"time"
)

// Device holds the device-binding settings (docs/security.md, "Device
// binding"): what happens to a verification from a browser the user has not
// bound, how many browsers a user may have bound, and how long a binding lasts
// without a pass.
type Device struct {
	// UnknownPolicy (UNKNOWN_DEVICE_POLICY): refuse (the default; the owner of
	// a new phone resets the typing profile) or strict (the engine's strict
	// match, then bind; an engine without one refuses).
	UnknownPolicy string
	// MaxPerUser (MAX_DEVICES_PER_USER, 3): the least recently used goes.
	MaxPerUser int
	// TTL (DEVICE_BINDING_DAYS, 400): a binding unused this long expires (the
	// user then has no browser SMS+ knows, which is not the same as never
	// having bound one); it is also the device cookie's life (400 days is the
	// most Chrome keeps a cookie, and what RFC 6265bis recommends as the cap).
	TTL time.Duration
}

// Defaults of the device settings, kept here rather than in the defaults map so
// that this section reads on its own.
var deviceDefaults = map[string]string{
	"unknown_device_policy": "refuse",
	"max_devices_per_user":  "3",
	"device_binding_days":   "400",
}

func (r *reader) device() Device {
	get := func(key string) string {
		if v := strings.TrimSpace(r.str(key)); v != "" {
			return v
		}
		return deviceDefaults[key]
	}
	d := Device{UnknownPolicy: strings.ToLower(get("unknown_device_policy"))}
	switch d.UnknownPolicy {
	case "refuse", "strict":
	default:
		r.problem("%s: must be refuse or strict, got %q", envName("unknown_device_policy"), r.raw["unknown_device_policy"])
	}
	num := func(key string, lo, hi int) int {
		n, err := strconv.Atoi(get(key))
		if err != nil || n < lo || n > hi {
			r.problem("%s: must be a whole number from %d to %d, got %q", envName(key), lo, hi, r.raw[key])
			n, _ = strconv.Atoi(deviceDefaults[key])
		}
		return n
	}
	d.MaxPerUser = num("max_devices_per_user", 1, 10)
	d.TTL = time.Duration(num("device_binding_days", 1, 400)) * 24 * time.Hour
	return d
}
