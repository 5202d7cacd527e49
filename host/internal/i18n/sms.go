package i18n

import "strings"

// EnrollSMS is the text for a user who is still enrolling: the code, and the
// link to the page that records typing samples. lang is matched like Match.
func (c *Catalog) EnrollSMS(lang, code, link string) string {
	return c.T(lang, KeySMSEnroll, "code", code, "link", link)
}

// LinkSMS is the text for an enrolled user: the link to the page that reveals the
// code after the typing check. lang is matched like Match.
func (c *Catalog) LinkSMS(lang, link string) string {
	return c.T(lang, KeySMSLink, "link", link)
}

// MaxCodeLen is the longest one-time code the SMS texts are sized for (the
// challenge flow accepts 4 to 10 digits).
const MaxCodeLen = 10

// SMSLinkBudget returns the longest link (in characters of the GSM-7 basic
// alphabet, which a BASE_URL plus a base64url id are) that keeps every SMS text
// of every language in one segment with a MaxCodeLen-digit code. A deployment
// whose BASE_URL + "/" + id is longer still works; its texts take two segments.
func (c *Catalog) SMSLinkBudget() int {
	budget := -1
	code := strings.Repeat("0", MaxCodeLen)
	for _, lang := range c.langs {
		for _, text := range []string{c.EnrollSMS(lang, code, ""), c.LinkSMS(lang, "")} {
			m := MeasureSMS(text)
			single := GSM7Single
			if m.Encoding == UCS2 {
				single = UCS2Single
			}
			if left := max(single-m.Units, 0); budget < 0 || left < budget {
				budget = left
			}
		}
	}
	return max(budget, 0)
}
