package challenge

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Destination policy against SMS pumping (toll fraud): whoever can trigger a hook
// (a script driving the IAM's "send me a code" button) can make SMS+ text numbers
// they are paid for. Premium, shared-cost and satellite ranges earn the most, and
// unassigned numbers are often routed to the same partners; none of them is a
// phone a user signs in with. So the hook refuses them before anything is stored
// or sent, and caps what gets through per range and in total (see deliver).

// region returns the ISO 3166 region of an E.164 number, or "" if unknown. A
// number outside the allocated ranges (e.g. reserved for fiction) still belongs
// to its calling code's main region.
func region(phone string) string {
	num, err := phonenumbers.Parse(phone, "")
	if err != nil {
		return ""
	}
	if r := phonenumbers.GetRegionCodeForNumber(num); r != "" {
		return r
	}
	r := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
	if r == "ZZ" {
		return ""
	}
	return r
}

// countryAllowed applies the destination allow-list. Premium and unallocated
// ranges abroad are the currency of SMS pumping, so operators whose users live in
// a few countries can refuse the rest.
func (s *Service) countryAllowed(phone string) bool {
	if len(s.set.AllowedCountries) == 0 {
		return true
	}
	r := region(phone)
	return r != "" && slices.ContainsFunc(s.set.AllowedCountries, func(c string) bool { return strings.EqualFold(c, r) })
}

// Destination types. The refusable ones are config.NumberTypes (the names
// REFUSED_NUMBER_TYPES takes); mobile and fixed_line_or_mobile are what users
// sign in with and can never be refused. libphonenumber cannot tell fixed lines
// from mobiles in the NANP, so refusing fixed_line never touches a US number.
const (
	typeInvalid              = "invalid"
	typeSatellite            = "satellite"
	typeInternationalNetwork = "international_network"
	typeMobile               = "mobile"
	typeFixedLineOrMobile    = "fixed_line_or_mobile"
)

var typeNames = map[phonenumbers.PhoneNumberType]string{
	phonenumbers.FIXED_LINE:           "fixed_line",
	phonenumbers.MOBILE:               typeMobile,
	phonenumbers.FIXED_LINE_OR_MOBILE: typeFixedLineOrMobile,
	phonenumbers.TOLL_FREE:            "toll_free",
	phonenumbers.PREMIUM_RATE:         "premium_rate",
	phonenumbers.SHARED_COST:          "shared_cost",
	phonenumbers.VOIP:                 "voip",
	phonenumbers.PERSONAL_NUMBER:      "personal_number",
	phonenumbers.PAGER:                "pager",
	phonenumbers.UAN:                  "uan",
	phonenumbers.VOICEMAIL:            "voicemail",
	phonenumbers.UNKNOWN:              "unknown",
}

// networkTypes classifies the non-geographic calling codes that libphonenumber
// files under region 001 with ordinary types (it calls Inmarsat and +881
// handsets "mobile"), although a text to them is billed like a premium call.
var networkTypes = map[int32]string{
	870: typeSatellite,            // Inmarsat
	881: typeSatellite,            // Global Mobile Satellite System (Iridium, Globalstar)
	882: typeInternationalNetwork, // International Networks (Thuraya, carriers' own ranges)
	883: typeInternationalNetwork, // International Networks, continued
}

// destinationTypes returns the classes of an E.164 number: its network class
// when the calling code has one (satellite, international_network), then
// "invalid" when libphonenumber finds the number impossible or unassigned, else
// its libphonenumber type. A number is refused when any of its classes is, so
// refusing invalid also refuses an unassigned satellite number and refusing
// satellite refuses every +881 number.
func destinationTypes(phone string) []string {
	num, err := phonenumbers.Parse(phone, "")
	if err != nil {
		return []string{typeInvalid}
	}
	var types []string
	if t, ok := networkTypes[num.GetCountryCode()]; ok {
		types = append(types, t)
	}
	if !phonenumbers.IsValidNumber(num) {
		return append(types, typeInvalid)
	}
	t, ok := typeNames[phonenumbers.GetNumberType(num)]
	if !ok {
		t = "unknown"
	}
	return append(types, t)
}

// refusedType returns the first class of phone (destinationTypes) that
// refused lists. With nothing refused (REFUSED_NUMBER_TYPES=none) the number is
// not classified at all: that costs a parse and two region lookups.
func refusedType(phone string, refused []string) (string, bool) {
	if len(refused) == 0 {
		return "", false
	}
	for _, t := range destinationTypes(phone) {
		if slices.Contains(refused, t) {
			return t, true
		}
	}
	return "", false
}

// rangeDigits is how many trailing digits a destination range leaves out. Pumping
// uses blocks of consecutive numbers (a premium or unassigned range is leased in
// hundreds or thousands); one block of 1000 is one range.
const rangeDigits = 3

// destinationRange is the E.164 number without its last rangeDigits digits.
func destinationRange(phone string) string {
	if len(phone) <= rangeDigits+1 {
		return phone
	}
	return phone[:len(phone)-rangeDigits]
}

// rangeKey names a range's counter: a salted hash, like user ids, so the store
// never holds the digits of a destination. The prefix keeps it apart from a user
// id even for a range that is itself a well-formed number.
func rangeKey(phone, salt string) string {
	sum := sha256.Sum256([]byte("smsplus-range:" + destinationRange(phone) + salt))
	return hex.EncodeToString(sum[:])
}

// globalKey is the one counter of the hourly budget, shared by every replica.
const globalKey = "all"
