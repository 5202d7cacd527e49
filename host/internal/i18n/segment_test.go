package i18n

import (
	"strings"
	"testing"
)

func TestMeasureSMS(t *testing.T) {
	t.Parallel()
	a := strings.Repeat
	tests := map[string]struct {
		body string
		want SMSLength
	}{
		"empty":                   {"", SMSLength{}},
		"ascii":                   {"hello", SMSLength{GSM7, 5, 1}},
		"gsm accents":             {"é è à ù ì ò Ç Ñ ñ ü ß Å æ ¿ ¡ Δ Ω £ ¥ §", SMSLength{GSM7, 39, 1}},
		"gsm 160":                 {a("a", 160), SMSLength{GSM7, 160, 1}},
		"gsm 161 is two parts":    {a("a", 161), SMSLength{GSM7, 161, 2}},
		"gsm 306 is two parts":    {a("a", 306), SMSLength{GSM7, 306, 2}},
		"gsm 307 is three parts":  {a("a", 307), SMSLength{GSM7, 307, 3}},
		"extension counts twice":  {"{[€]}", SMSLength{GSM7, 10, 1}},
		"80 euros fit":            {a("€", 80), SMSLength{GSM7, 160, 1}},
		"81 euros do not":         {a("€", 81), SMSLength{GSM7, 162, 2}},
		"escape pair not split":   {a("a", 152) + "€" + a("a", 152), SMSLength{GSM7, 306, 3}},
		"newline and cr are gsm":  {"a\nb\rc", SMSLength{GSM7, 5, 1}},
		"small c cedilla is ucs2": {"ç", SMSLength{UCS2, 1, 1}},
		"acute accents are ucs2":  {"código", SMSLength{UCS2, 6, 1}},
		"backtick is ucs2":        {"`", SMSLength{UCS2, 1, 1}},
		"curly quote is ucs2":     {"don’t", SMSLength{UCS2, 5, 1}},
		"ucs2 70":                 {a("ó", 70), SMSLength{UCS2, 70, 1}},
		"ucs2 71 is two parts":    {a("ó", 71), SMSLength{UCS2, 71, 2}},
		"ucs2 134 is two parts":   {a("ó", 134), SMSLength{UCS2, 134, 2}},
		"emoji is two units":      {a("😀", 35), SMSLength{UCS2, 70, 1}},
		"36 emoji do not fit":     {a("😀", 36), SMSLength{UCS2, 72, 2}},
		"surrogates not split":    {a("ó", 66) + "😀" + a("ó", 66), SMSLength{UCS2, 134, 3}},
		"one non-gsm char spoils": {a("a", 69) + "ó", SMSLength{UCS2, 70, 1}},
		"and then 71 is too many": {a("a", 70) + "ó", SMSLength{UCS2, 71, 2}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := MeasureSMS(tt.body); got != tt.want {
				t.Errorf("MeasureSMS = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The tables are typed in by hand: check their size and a few positions against
// 3GPP TS 23.038 so that a slip (a missing or doubled letter) shows.
func TestGSM7Tables(t *testing.T) {
	t.Parallel()
	basic := []rune(gsm7Basic)
	if len(basic) != 127 { // 128 positions, minus the escape at 0x1B
		t.Errorf("basic table has %d characters, want 127", len(basic))
	}
	seen := map[rune]bool{}
	for _, r := range basic {
		if seen[r] {
			t.Errorf("%q twice in the basic table", r)
		}
		seen[r] = true
	}
	// Positions below 0x1B are the index; above it, index+1 (the escape is skipped).
	for pos, want := range map[int]rune{0x00: '@', 0x02: '$', 0x09: 'Ç', 0x10: 'Δ', 0x11: '_', 0x1F: 'É', 0x24: '¤', 0x40: '¡', 0x5B: 'Ä', 0x60: '¿', 0x7F: 'à'} {
		i := pos
		if pos > 0x1B {
			i--
		}
		if basic[i] != want {
			t.Errorf("basic[0x%02X] = %q, want %q", pos, basic[i], want)
		}
	}
	if n := len([]rune(gsm7Ext)); n != 10 {
		t.Errorf("extension table has %d characters, want 10", n)
	}
	for _, r := range gsm7Ext {
		if GSM7Septets(r) != 2 || seen[r] {
			t.Errorf("%q: %d septets (in basic table: %v)", r, GSM7Septets(r), seen[r])
		}
	}
	for _, r := range "ç áíóú âêô ãõ ë ï ` ’ “ 😀" {
		if r != ' ' && GSM7Septets(r) != 0 {
			t.Errorf("%q counted as GSM-7", r)
		}
	}
}
