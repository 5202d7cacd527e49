package main

import (
	"regexp"
	"strings"

	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/payload"
)

// PingOne's Raw JSON body is text substitution: ${message} goes in as is, so a
// '"' in the notification template (or in a user attribute the template
// holds, like ${user.name.given}) breaks the JSON, and every message would be
// refused. lenientJSON reads such a body in the one shape that leaves no
// doubt, the message last:
//
//	{"recipient":"${to}","otp":"${otp}","locale":"${locale}","channel":"sms","body":"${message}"}
//
// Everything before the message field must be strict JSON (no quote may hide
// there), and the message is everything from its opening quote to the last
// quote before the closing brace. A message that looks like it holds another
// field of ours ("otp":"...") is refused, not guessed: that is either a
// template with the message not last, or an attribute crafted to inject a
// field. Only \", \\, \/, \n, \r and \t are unescaped in the message; any other
// backslash is kept as it is.
var (
	messageKey = regexp.MustCompile(`"(body|message)"\s*:\s*"`)
	ourField   = regexp.MustCompile(`"\s*[,}]\s*"(recipient|to|phone_number|otp|locale|channel|from|body|message)"\s*:`)
)

func lenientJSON(body []byte) (map[string]string, bool) {
	s := strings.TrimSpace(string(body))
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, false
	}
	inner := strings.TrimSpace(s[:len(s)-1])
	if !strings.HasSuffix(inner, `"`) {
		return nil, false
	}
	loc := messageKey.FindStringSubmatchIndex(inner)
	if loc == nil {
		return nil, false
	}
	prefix := strings.TrimSpace(inner[:loc[0]])
	obj := "{}"
	switch {
	case prefix == "{":
	case strings.HasSuffix(prefix, ","):
		obj = prefix[:len(prefix)-1] + "}"
	default:
		return nil, false
	}
	f, err := payload.Fields(&bridge.Request{Body: []byte(obj), Headers: []bridge.Header{{Name: "Content-Type", Values: []string{payload.MediaJSON}}}},
		allFields...)
	if err != nil {
		return nil, false
	}
	if _, ok := f["body"]; ok {
		return nil, false
	}
	if _, ok := f["message"]; ok {
		return nil, false
	}
	if loc[1] > len(inner)-1 {
		return nil, false // the message's opening quote is the last one: no closing quote
	}
	raw := inner[loc[1] : len(inner)-1]
	if ourField.MatchString(raw + `"`) {
		return nil, false
	}
	f[inner[loc[2]:loc[3]]] = unescapeLenient(raw)
	return f, true
}

func unescapeLenient(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '"', '\\', '/':
			b.WriteByte(s[i+1])
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		default:
			b.WriteByte(c)
			continue
		}
		i++
	}
	return b.String()
}
