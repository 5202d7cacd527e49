package i18n

import "unicode/utf16"

// Encoding is how an SMS body travels on the air interface.
type Encoding int

const (
	// GSM7 is the GSM 03.38 default alphabet (3GPP TS 23.038), 7 bits per
	// character; the characters of its extension table take two (an escape and
	// the character).
	GSM7 Encoding = iota
	// UCS2 is 16 bits per UTF-16 code unit; a body needs it as soon as one
	// character is outside the GSM-7 alphabet and its extension table.
	UCS2
)

func (e Encoding) String() string {
	if e == UCS2 {
		return "UCS-2"
	}
	return "GSM-7"
}

// Segment sizes. A body that fits the single size goes as one SMS; a longer one
// is split into parts that each lose room to the concatenation header.
const (
	GSM7Single = 160 // septets
	GSM7Part   = 153
	UCS2Single = 70 // UTF-16 code units
	UCS2Part   = 67
)

// SMSLength says how a body is encoded and how many segments it takes.
type SMSLength struct {
	Encoding Encoding
	Units    int // septets for GSM-7, UTF-16 code units for UCS-2
	Segments int // 0 only for the empty body
}

// gsm7Basic is the default alphabet, in table order (0x00-0x7F). 0x1B is the
// escape to the extension table and is not a character of its own; 0x09 is the
// capital Ç of the current table (some phones show a small ç there, but a small ç
// in a body makes senders switch to UCS-2, so it is not counted as GSM-7 here).
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅå" +
	"Δ_ΦΓΛΩΠΨΣΘΞ" + "ÆæßÉ" +
	" !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
	"¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsm7Ext are the extension-table characters: escape + character, 2 septets.
const gsm7Ext = "\f^{}\\[~]|€"

var gsm7Cost = func() map[rune]int {
	m := make(map[rune]int, 160)
	for _, r := range gsm7Basic {
		m[r] = 1
	}
	for _, r := range gsm7Ext {
		m[r] = 2
	}
	return m
}()

// GSM7Septets returns the septets r takes in GSM-7: 1, 2 for the extension
// table, or 0 when r is not in GSM-7 at all.
func GSM7Septets(r rune) int { return gsm7Cost[r] }

// MeasureSMS counts the segments body takes, the way handsets and providers
// (Twilio included) split it: GSM-7 when every character allows, else UCS-2. In a
// multi-part message an escape pair (GSM-7) or a surrogate pair (UCS-2) is never
// split across two parts, so a part may carry one unit less than its size.
func MeasureSMS(body string) SMSLength {
	if body == "" {
		return SMSLength{}
	}
	costs := make([]int, 0, len(body))
	gsm := true
	for _, r := range body {
		c := gsm7Cost[r]
		if c == 0 {
			gsm = false
			break
		}
		costs = append(costs, c)
	}
	single, part, enc := GSM7Single, GSM7Part, GSM7
	if !gsm {
		costs = costs[:0]
		for _, r := range body {
			costs = append(costs, utf16.RuneLen(r)) // 2 for a surrogate pair; -1 never: body is a Go string
		}
		single, part, enc = UCS2Single, UCS2Part, UCS2
	}
	units := 0
	for _, c := range costs {
		units += c
	}
	if units <= single {
		return SMSLength{Encoding: enc, Units: units, Segments: 1}
	}
	segments, used := 1, 0
	for _, c := range costs {
		if used+c > part {
			segments++
			used = 0
		}
		used += c
	}
	return SMSLength{Encoding: enc, Units: units, Segments: segments}
}
