package challenge

import (
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

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
