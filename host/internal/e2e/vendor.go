package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/configs"
)

// AuthHeaders returns the headers with which a shipped bridge's vendor
// authenticates, with the credential the harness sets. Hook and Example need
// none of this: use it only to send a vendor's call of your own making.
func AuthHeaders(bridge string) map[string]string {
	switch bridge {
	case "okta":
		return map[string]string{"Authorization": "Bearer " + Secrets["OKTA_SHARED_SECRET"]}
	case "auth0":
		return map[string]string{"Authorization": "Bearer " + Secrets["AUTH0_SECRET"]}
	case "pingone":
		return map[string]string{"Authorization": Basic("pingone", Secrets["PING_SHARED_SECRET"])}
	case "cyberark":
		return map[string]string{"Authorization": Basic("cyberark", Secrets["CYBERARK_PASS"])}
	case "fusionauth":
		return map[string]string{"Authorization": Basic("fusionauth", Secrets["FUSIONAUTH_PASS"])}
	}
	return nil
}

// Basic is an HTTP Basic Authorization value.
func Basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// Sample returns the vendor's sample payload (configs/samples/<vendor>.json) for
// phone and otp, with a unique event id and current times: for a test that
// alters the vendor's own bytes (Hook posts the plugin's example instead).
func Sample(t testing.TB, vendor, phone, otp string) []byte {
	t.Helper()
	tmpl, err := configs.Sample(vendor)
	if err != nil {
		t.Fatal(err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	now := time.Now().UTC()
	return []byte(strings.NewReplacer("{{PHONE}}", phone, "{{OTP}}", otp, "{{EVENT_ID}}", "evt-"+hex.EncodeToString(id[:]),
		"{{NOW}}", now.Format(time.RFC3339), "{{EXPIRES}}", now.Add(5*time.Minute).Format(time.RFC3339)).Replace(string(tmpl)))
}

// RandomOTP returns a random code of n digits (crypto/rand, so that two tests or
// two runs never share one).
func RandomOTP(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}
