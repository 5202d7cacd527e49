// Package phone turns the phone numbers IAM vendors send into E.164, the only form
// the SMS+ host accepts.
//
// Vendors send what their admins or users typed: "+1 399 999 0144" (Auth0's docs),
// "9876543210" (Okta's sample), "3035551212" (FusionAuth's), "4915112345678"
// (PingOne's NUMBER_ONLY format). Parsing uses github.com/nyaruka/phonenumbers, the
// Go port of Google's libphonenumber. A number is accepted when it has a possible
// length for its country; it is not required to be assigned, because vendors' test
// numbers (+1 555 ...) are not.
//
// Every bridge should normalize with this package and declare Setting, so that one
// DEFAULT_PHONE_REGION setting means the same thing for every vendor.
package phone

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// RegionSetting is the name of the setting that holds the default region.
const RegionSetting = "DEFAULT_PHONE_REGION"

// DefaultRegion is used when RegionSetting is not set.
const DefaultRegion = "US"

// Setting declares RegionSetting; add it to Info.Settings.
var Setting = bridge.Setting{
	Name: RegionSetting,
	Description: "The country (ISO 3166 alpha-2 code, e.g. US, GB, DE) of phone numbers the vendor sends " +
		"without a country code. Default: " + DefaultRegion + ".",
}

// Errors returned by Normalize. Their texts name no number, so they may be logged.
var (
	ErrEmpty     = errors.New("phone: empty number")
	ErrCharacter = errors.New("phone: number contains characters other than digits, spaces and + - . ( ) /")
	ErrInvalid   = errors.New("phone: not a possible phone number")
	ErrRegion    = errors.New("phone: unknown region")
)

// maxInput bounds what is handed to the parser; real numbers are far shorter.
const maxInput = 40

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// IsE164 reports whether s is already in E.164 form (+ and 7 to 15 digits).
func IsE164(s string) bool { return e164.MatchString(s) }

// Region checks an ISO 3166 alpha-2 region code (any case) and returns it upper
// case; "" yields DefaultRegion.
func Region(code string) (string, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "" {
		return DefaultRegion, nil
	}
	if !phonenumbers.GetSupportedRegions()[code] {
		return "", fmt.Errorf("%w %q", ErrRegion, code)
	}
	return code, nil
}

// RegionFrom reads RegionSetting from a bridge's settings. The problem, if any, is
// worded for an operator and is meant for a bridge.ConfigError.
func RegionFrom(settings map[string]string) (region, problem string) {
	r, err := Region(settings[RegionSetting])
	if err != nil {
		return "", fmt.Sprintf("%s %q is not a country code: use an ISO 3166 alpha-2 code such as US, GB or DE",
			RegionSetting, strings.TrimSpace(settings[RegionSetting]))
	}
	return r, ""
}

// Normalize returns raw in E.164 form. A number that starts with + (or "00" or
// another international prefix of region) carries its country code; any other
// number is read as a national number of region, so with region "US",
// "(303) 555-1212" becomes "+13035551212". Letters, extensions and impossible
// lengths are refused rather than guessed at.
func Normalize(raw, region string) (string, error) {
	s, err := clean(raw)
	if err != nil {
		return "", err
	}
	region, err = Region(region)
	if err != nil {
		return "", err
	}
	return parse(s, region)
}

// NormalizeWithCountryCode is for vendors whose numbers always carry the country
// code, with or without the leading + (PingOne's "NUMBER_ONLY" format sends
// 14155552671 for +1 415 555 2671).
func NormalizeWithCountryCode(raw string) (string, error) {
	s, err := clean(raw)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(s, "+") {
		s = "+" + s
	}
	return parse(s, "ZZ")
}

// clean trims raw and refuses anything a phone field should not hold. Vanity
// letters, which libphonenumber would turn into digits, are refused: a number
// with letters in a webhook is a mistake, not a request to dial 1-800-FLOWERS.
func clean(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", ErrEmpty
	}
	if len(s) > maxInput {
		return "", ErrInvalid
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			digits++
		case c == '+':
			if i != 0 {
				return "", ErrCharacter
			}
		case c == ' ', c == '-', c == '.', c == '(', c == ')', c == '/':
		default:
			return "", ErrCharacter
		}
	}
	if digits == 0 {
		return "", ErrInvalid
	}
	return s, nil
}

func parse(s, region string) (string, error) {
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", ErrInvalid
	}
	if n.GetExtension() != "" { // unreachable after clean; kept as a guard
		return "", ErrInvalid
	}
	// IS_POSSIBLE_LOCAL_ONLY means the number lacks an area code: not dialable.
	if phonenumbers.IsPossibleNumberWithReason(n) != phonenumbers.IS_POSSIBLE {
		return "", ErrInvalid
	}
	out := phonenumbers.Format(n, phonenumbers.E164)
	if !IsE164(out) {
		return "", ErrInvalid
	}
	return out, nil
}

// Mask keeps the country prefix and the last two digits of a number, for logs:
// "+14155550142" becomes "+14•••42".
func Mask(p string) string {
	if len(p) < 6 {
		return "•••"
	}
	return p[:3] + "•••" + p[len(p)-2:]
}
