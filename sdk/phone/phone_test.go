package phone

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		raw, region string
		want        string
		err         error
	}{
		"e164":                          {raw: "+14155550142", region: "US", want: "+14155550142"},
		"e164 ignores region":           {raw: "+447700900321", region: "US", want: "+447700900321"},
		"auth0 docs spaces":             {raw: "+1 399 999 0144", region: "US", want: "+13999990144"},
		"okta sample national":          {raw: "9876543210", region: "US", want: "+19876543210"},
		"fusionauth sample national":    {raw: "3035551212", region: "US", want: "+13035551212"},
		"punctuated national":           {raw: "(303) 555-1212", region: "US", want: "+13035551212"},
		"dotted national":               {raw: "303.555.1212", region: "us", want: "+13035551212"},
		"surrounding space":             {raw: "  +1 415 555 0142\t", region: "US", want: "+14155550142"},
		"national with trunk 1":         {raw: "1 303 555 1212", region: "US", want: "+13035551212"},
		"german national with 0":        {raw: "0151 23456789", region: "DE", want: "+4915123456789"},
		"international 00 prefix in DE": {raw: "0049 151 23456789", region: "DE", want: "+4915123456789"},
		"international 011 in US":       {raw: "011 44 7700 900321", region: "US", want: "+447700900321"},
		"empty region is US":            {raw: "4155550142", region: "", want: "+14155550142"},
		"leading zero kept in UK":       {raw: "07700 900321", region: "GB", want: "+447700900321"},
		"empty":                         {raw: "   ", region: "US", err: ErrEmpty},
		"truncated auth0 example":       {raw: "+1 399 999", region: "US", err: ErrInvalid},
		"too long":                      {raw: "+1 415 555 0142 0142", region: "US", err: ErrInvalid},
		"too short":                     {raw: "12345", region: "US", err: ErrInvalid},
		"local only (no area code)":     {raw: "555 0142", region: "US", err: ErrInvalid},
		"vanity letters":                {raw: "1-800-FLOWERS", region: "US", err: ErrCharacter},
		"extension":                     {raw: "+1 415 555 0142 ext. 12", region: "US", err: ErrCharacter},
		"plus in the middle":            {raw: "1+4155550142", region: "US", err: ErrCharacter},
		"arabic-indic digits":           {raw: "+١٤١٥٥٥٥٠١٤٢", region: "US", err: ErrCharacter},
		"placeholder":                   {raw: "${to}", region: "US", err: ErrCharacter},
		"only punctuation":              {raw: "+()", region: "US", err: ErrInvalid},
		"unknown region":                {raw: "4155550142", region: "XX", err: ErrRegion},
		"huge input":                    {raw: "+1 415 555 0142                                   ", region: "US", want: "+14155550142"},
		"huge digits":                   {raw: "+14155550142414155550142414155550142414155550142", region: "US", err: ErrInvalid},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := Normalize(tc.raw, tc.region)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || got != "" {
					t.Fatalf("Normalize(%q, %q) = %q, %v; want error %v", tc.raw, tc.region, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Normalize(%q, %q) = %q, %v; want %q", tc.raw, tc.region, got, err, tc.want)
			}
		})
	}
}

func TestNormalizeWithCountryCode(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ raw, want string }{
		"FULL":                {raw: "+14155552671", want: "+14155552671"},
		"NUMBER_ONLY US":      {raw: "14155552671", want: "+14155552671"},
		"NUMBER_ONLY DE":      {raw: "4915112345678", want: "+4915112345678"},
		"NUMBER_ONLY UK":      {raw: "447700900456", want: "+447700900456"},
		"national is refused": {raw: "4155552671"},
		"empty":               {raw: ""},
		"zero country code":   {raw: "0123456789"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizeWithCountryCode(tc.raw)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("NormalizeWithCountryCode(%q) = %q, want an error", tc.raw, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeWithCountryCode(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
			}
		})
	}
}

func TestRegionFrom(t *testing.T) {
	t.Parallel()
	if r, p := RegionFrom(nil); r != "US" || p != "" {
		t.Errorf("unset: %q %q", r, p)
	}
	if r, p := RegionFrom(map[string]string{RegionSetting: " gb "}); r != "GB" || p != "" {
		t.Errorf("gb: %q %q", r, p)
	}
	if r, p := RegionFrom(map[string]string{RegionSetting: "Germany"}); r != "" || p == "" {
		t.Errorf("Germany: %q %q", r, p)
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	if got := Mask("+14155550142"); got != "+14•••42" {
		t.Errorf("Mask = %q", got)
	}
	if got := Mask("+1"); got != "•••" {
		t.Errorf("Mask short = %q", got)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+14155550142", "(303) 555-1212", "0049 151 23456789", "+1 399 999", "١٢٣"} {
		f.Add(s, "US")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := Normalize(raw, region)
		if err == nil && !IsE164(got) {
			t.Fatalf("Normalize(%q, %q) = %q, not E.164", raw, region, got)
		}
		got, err = NormalizeWithCountryCode(raw)
		if err == nil && !IsE164(got) {
			t.Fatalf("NormalizeWithCountryCode(%q) = %q, not E.164", raw, got)
		}
	})
}
