package biometrics

import (
	"strconv"
	"strings"
	"unicode/utf16"
)

// TextID returns the text id TypingDNA's recorder computes for a phrase: FNV-1a
// with a non-standard offset basis over the UTF-16 code units of the lower-cased
// text, as a decimal uint32. Both engines use it, so a user's text id does not change
// when an operator switches engines.
func TextID(text string) string {
	h := uint32(0x721b5ad4)
	for _, c := range utf16.Encode([]rune(strings.ToLower(text))) {
		h ^= uint32(c)
		h *= 0x01000193
	}
	return strconv.FormatUint(uint64(h), 10)
}
