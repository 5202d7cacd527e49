package otp

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"1234": true, "0042": true, "012345": true, "12345678": true, "1234567890": true,
		"": false, "123": false, "12345678901": false, "12a4": false, " 1234": false, "١٢٣٤": false, "-1234": false,
	} {
		if Valid(s) != want {
			t.Errorf("Valid(%q) = %v", s, !want)
		}
	}
}

func TestHasDigits(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"Test message": false, "": false, "code 1": true, "رمز ١٢٣٤": true, "ｃｏｄｅ": false,
	} {
		if HasDigits(s) != want {
			t.Errorf("HasDigits(%q) = %v", s, !want)
		}
	}
}

func TestFromText(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		text string
		want string // "" = no answer
	}{
		"plain":                  {text: "Your Acme verification code is 604913", want: "604913"},
		"leading zero":           {text: "Your code is 012345", want: "012345"},
		"four digits":            {text: "Your verification code is: 5820", want: "5820"},
		"eight digits":           {text: "Ihr Acme-Passcode lautet 58210947", want: "58210947"},
		"ten digits":             {text: "code 1234567890", want: "1234567890"},
		"prefix glued by dash":   {text: "G-482913 is your code", want: "482913"},
		"in parentheses":         {text: "(HOOK)Your code is 11111", want: "11111"},
		"code and short run":     {text: "Code 604913, valid for 5 minutes", want: "604913"},
		"sentence end":           {text: "Your code is 604913.", want: "604913"},
		"expiry sentence":        {text: "Your verification code is: 482913. It expires in 5 minutes.", want: "482913"},
		"date and code":          {text: "Code 604913 valid until 2026-03-02", want: "604913"},
		"year and code":          {text: "© 2026 Acme. Your code is 604913", want: "604913"},
		"year after code":        {text: "Your code is 604913 - Acme 2026", want: "604913"},
		"phone and code":         {text: "Code 604913. Questions? Call +1 415 555 0123", want: "604913"},
		"spanish":                {text: "Tu código de verificación es 730194", want: "730194"},
		"french":                 {text: "Votre code : 0193", want: "0193"},
		"portuguese":             {text: "Seu código é 845120. Não compartilhe.", want: "845120"},
		"german umlaut":          {text: "Bestätigungscode: 604913. Gültig für 10 Minuten.", want: "604913"},
		"russian":                {text: "Ваш код подтверждения: 482913", want: "482913"},
		"greek":                  {text: "Ο κωδικός σας είναι 4829", want: "4829"},
		"arabic with latin code": {text: "رمز التحقق الخاص بك هو 482913", want: "482913"},
		"chinese glued":          {text: "您的验证码是123456，5分钟内有效", want: "123456"},
		"japanese glued":         {text: "認証コードは048213です", want: "048213"},
		"thai glued":             {text: "รหัสของคุณคือ482913", want: "482913"},
		"fullwidth colon":        {text: "验证码：604913", want: "604913"},
		"newline":                {text: "Acme\nCode: 604913\n", want: "604913"},
		"invalid UTF-8":          {text: "Code \xff1234\xfe", want: "1234"},
		"empty":                  {text: ""},
		"no digits":              {text: "Your code is ready"},
		"three digits":           {text: "Code 123"},
		"eleven digits":          {text: "Code 12345678901"},
		"two codes":              {text: "Code 1234 or 5678"},
		"lone year":              {text: "Your code is 2024"},
		"copyright only":         {text: "Acme © 2026"},
		"year-like code":         {text: "Code 1999 valid 10 min"},
		"glued to letters":       {text: "Code ABC123456"},
		"glued to letters after": {text: "Code 123456abc"},
		"glued to cyrillic":      {text: "Код123456"},
		"date":                   {text: "Valid until 2026-03-02"},
		"decimal":                {text: "Pay 1234.50 now"},
		"thousands":              {text: "Balance 12,345"},
		"time":                   {text: "At 1030:15"},
		"currency before":        {text: "You paid $1234"},
		"euro after":             {text: "Total 1234€"},
		"percent":                {text: "Save 2500% today"},
		"phone only":             {text: "Call +1 415 555 0123 if this was not you"},
		"phone without plus":     {text: "Call (303) 555-1212 for help"},
		"phone with dots":        {text: "Call 303.555.1212"},
		"phone groups of four":   {text: "Hotline 0800 1234 5678"},
		"plus then digits":       {text: "Dial +4915123456789"},
		"plus space digits":      {text: "Dial + 49151234567"},
		"spaced code is refused": {text: "Your code is 123 456"},
		"phone and two codes":    {text: "Code 604913, help +1 415 555 0123, ref 778899"},
		"non-ASCII digits":       {text: "Code ١1234"},
		"arabic-indic code":      {text: "الرمز ١٢٣٤٥٦"},
		"underscore":             {text: "id_123456"},
		"voice digits":           {text: "Your verification code is 2, 7, 1, 8, 4, 5"},
		"ssml digits":            {text: `Your passcode is <Say>3</Say> <Pause length="1"/><Say>9</Say>`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, ok := FromText(tc.text)
			if ok != (tc.want != "") || got != tc.want {
				t.Errorf("FromText(%q) = %q, %v; want %q", tc.text, got, ok, tc.want)
			}
		})
	}
}

func FuzzFromText(f *testing.F) {
	for _, s := range []string{"Your code is 012345", "Code 604913. Call +1 415 555 0123", "验证码123456", "2026-03-02 1234"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, ok := FromText(text)
		if ok != (got != "") || (ok && !Valid(got)) {
			t.Fatalf("FromText(%q) = %q, %v", text, got, ok)
		}
		// With a length, a code is exactly that long, and never another code
		// than FromText's. (It may refuse what FromText reads: with the length
		// 4, "Code 1234, © 2024" has two candidates.)
		for n := MinDigits; n <= MaxDigits; n++ {
			c, okN := FromTextLength(text, n)
			if okN != (c != "") || okN && (len(c) != n || !Valid(c) || !MayHoldCode(text)) {
				t.Fatalf("FromTextLength(%q, %d) = %q, %v", text, n, c, okN)
			}
			if okN && ok && len(got) == n && c != got {
				t.Fatalf("FromText(%q) = %q but FromTextLength(%d) = %q", text, got, n, c)
			}
		}
		if ok && !MayHoldCode(text) {
			t.Fatalf("FromText(%q) found %q but MayHoldCode is false", text, got)
		}
	})
}

// TestFromTextLength: with the vendor's code length known, a year-like code that
// is the only candidate of that length is delivered (issue 14); FromText alone
// refuses it.
func TestFromTextLength(t *testing.T) {
	tests := []struct {
		text string
		n    int
		want string // "" = refused
	}{
		{"Your code is 2024", 4, "2024"},
		{"Your verification code is: 1999", 4, "1999"},
		{"© 2026 Acme. Code 2024", 4, ""},                  // two candidates of that length
		{"Code 482913, call +1 415 555 0123", 6, "482913"}, // phone groups are never codes
		{"Code 482913 © 2026", 6, "482913"},                // the year is not of that length
		{"Code 48291 or 482913", 6, "482913"},
		{"Code 4829", 6, ""},         // no run of that length
		{"Code ABC2024", 4, ""},      // glued to letters
		{"Code 1234, © 2024", 4, ""}, // a year of that length may be the code: ambiguous
		{"Your code is 2024", 0, ""}, // length unknown: FromText's rule
		{"Your code is 482913", 0, "482913"},
		{"Your code is 123", 3, ""}, // outside 4 to 10
	}
	for _, tc := range tests {
		got, ok := FromTextLength(tc.text, tc.n)
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("FromTextLength(%q, %d) = %q, %v; want %q", tc.text, tc.n, got, ok, tc.want)
		}
	}
	if _, ok := FromText("Your code is 2024"); ok {
		t.Error("FromText took a year-like code without a length")
	}
}

func TestLength(t *testing.T) {
	for v, want := range map[string]int{"": 0, " 6 ": 6, "4": 4, "10": 10} {
		if n, p := Length(map[string]string{"X_OTP_LENGTH": v}, "X_OTP_LENGTH", "the vendor's setting"); n != want || p != "" {
			t.Errorf("Length(%q) = %d, %q", v, n, p)
		}
	}
	for _, v := range []string{"3", "11", "six", "-6", "6.0"} {
		if _, p := Length(map[string]string{"X_OTP_LENGTH": v}, "X_OTP_LENGTH", "the vendor's setting"); !strings.Contains(p, "X_OTP_LENGTH") {
			t.Errorf("Length(%q): problem %q, want one naming the setting", v, p)
		}
	}
}

func TestMayHoldCode(t *testing.T) {
	for text, want := range map[string]bool{
		"Code 1234 or 5678":                          true,
		"© 2026 Acme":                                true,
		"Your verification code is K7Q2ZP":           false, // alphanumeric: no run of 4 digits
		"New sign-in from Chrome 120 at 10:30":       false,
		"Your password was changed on 2026-03-02":    false,
		"Call +1 415 555 0123 if this was not you":   false,
		"A new device was paired with your account.": false,
		"Your code is 482913":                        true,
		// Grouped, spelled or split by invisible characters: still a code to
		// whoever reads it.
		"Your code is 482 913":                                              true,
		"Your code is 482-913":                                              true,
		"Your code is 4 8 2 9 1 3":                                          true,
		"Your code is 4, 8, 2, 9, 1, 3":                                     true,
		"Your code is 1234\u00a05678":                                       true,
		"Your code is 482\u200b913":                                         true,
		"Your code is 48\u200b291":                                          true,
		"Your code is:\n482\n913":                                           true, // one group per line
		"Your code is 482\t913":                                             true,
		"Your code is 4\u20e38\u20e32\u20e39\u20e31\u20e33\u20e3":           true, // keycaps
		"Your code is 4\ufe0f\u20e38\ufe0f\u20e32\ufe0f\u20e39\ufe0f\u20e3": true,
		"Your code is 4\u03328\u03322\u03329\u03321\u03323\u0332":           true,  // underlined
		"Open 10:30 - 11:30, then 14:00 - 15:00":                            false, // times, not groups of a code
		"Version 1.22 33.4 and A123 456":                                    false, // glued to a separator or a letter
		"Call 555 0123 if this was not you":                                 false, // unequal groups: a phone number
		"Call +1 212 555 12 12":                                             false,
		"You have 100,000 points and 2 of 3 left":                           false,
	} {
		if got := MayHoldCode(text); got != want {
			t.Errorf("MayHoldCode(%q) = %v", text, got)
		}
	}
}
