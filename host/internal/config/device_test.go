package config

import (
	"strings"
	"testing"
	"time"
)

func TestDeviceSettings(t *testing.T) {
	t.Parallel()
	c, err := Load(Sources{Environ: []string{"HASH_SALT=s"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Device != (Device{UnknownPolicy: "refuse", MaxPerUser: 3, TTL: 400 * 24 * time.Hour}) {
		t.Errorf("defaults: %+v", c.Device)
	}
	c, err = Load(Sources{Environ: []string{"HASH_SALT=s", "UNKNOWN_DEVICE_POLICY=Strict", "MAX_DEVICES_PER_USER=1", "DEVICE_BINDING_DAYS=90"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Device != (Device{UnknownPolicy: "strict", MaxPerUser: 1, TTL: 90 * 24 * time.Hour}) {
		t.Errorf("set: %+v", c.Device)
	}
	for _, env := range []string{"UNKNOWN_DEVICE_POLICY=allow", "MAX_DEVICES_PER_USER=0", "MAX_DEVICES_PER_USER=11", "DEVICE_BINDING_DAYS=401", "DEVICE_BINDING_DAYS=x"} {
		key, _, _ := strings.Cut(env, "=")
		if _, err := Load(Sources{Environ: []string{"HASH_SALT=s", env}}); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v", env, err)
		}
	}
}
