// Package payload decodes webhook bodies strictly: valid UTF-8, exactly one JSON
// object (or one form), no key given twice, values of the expected types,
// nothing after the end.
//
// encoding/json alone accepts too much for a security boundary: it turns invalid
// UTF-8 into U+FFFD, decodes a bare null into a zero struct, reads only the
// first of two concatenated objects, keeps the last of two equal keys and fills
// a field from any key equal to its name under case folding. The helpers here
// refuse all of that, and say which of a few stable reasons applied, so a bridge
// can answer with a fixed text.
package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// Reasons a body is refused. Their texts name no value, so they are safe to log.
var (
	ErrNotUTF8    = errors.New("payload: body is not valid UTF-8")
	ErrNotObject  = errors.New("payload: body is not a JSON object")
	ErrMalformed  = errors.New("payload: body is malformed")
	ErrMediaType  = errors.New("payload: unsupported content type")
	ErrDuplicate  = errors.New("payload: a field appears more than once")
	ErrFieldType  = errors.New("payload: a field is not a string")
	ErrEmptyField = errors.New("payload: empty field name")
	ErrTooDeep    = errors.New("payload: body is nested too deeply")
)

// MaxDepth is how deeply objects and arrays may nest in a JSON body. Vendor
// payloads nest a handful of levels; the bound keeps a hostile body from making
// any decoder recurse thousands of times.
const MaxDepth = 64

// Media types the helpers understand.
const (
	MediaJSON = "application/json"
	MediaForm = "application/x-www-form-urlencoded"
)

// JSON decodes body, which must be exactly one JSON object that passes
// CheckKeys, into v. Unknown fields are ignored, whatever their type; a declared
// field of the wrong type is ErrMalformed.
func JSON(body []byte, v any) error {
	if !utf8.Valid(body) {
		return ErrNotUTF8
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return ErrNotObject
	}
	if err := CheckKeys(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return ErrMalformed
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrMalformed
	}
	return nil
}

// Form decodes an application/x-www-form-urlencoded body. A key given twice is
// ErrDuplicate: a vendor never sends one twice, and picking either copy would let
// an attacker who controls part of the body choose.
func Form(body []byte) (map[string]string, error) {
	if !utf8.Valid(body) {
		return nil, ErrNotUTF8
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, ErrMalformed
	}
	out := make(map[string]string, len(vals))
	for k, v := range vals {
		if k == "" {
			return nil, ErrEmptyField
		}
		if len(v) != 1 {
			return nil, ErrDuplicate
		}
		// Percent-decoding may produce invalid UTF-8 even from an ASCII body.
		if !utf8.ValidString(k) || !utf8.ValidString(v[0]) {
			return nil, ErrNotUTF8
		}
		out[k] = v[0]
	}
	return out, nil
}

// MediaType returns the request's media type, lower case and without
// parameters, or "" when there is no usable Content-Type.
func MediaType(req *bridge.Request) string {
	ct := strings.TrimSpace(req.Header("Content-Type"))
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return mt
}

// Fields reads a flat body of string fields, sent as JSON or as a form according
// to the Content-Type; without one, a body starting with '{' is JSON and anything
// else a form. It returns the named fields that are present and not null, and
// ignores the others. In JSON, a named field that is not a string (or null), or
// a name given twice, makes the body malformed.
func Fields(req *bridge.Request, names ...string) (map[string]string, error) {
	mt := MediaType(req)
	if mt == "" {
		if t := bytes.TrimLeft(req.Body, " \t\r\n"); len(t) > 0 && t[0] == '{' {
			mt = MediaJSON
		} else {
			mt = MediaForm
		}
	}
	switch {
	case mt == MediaJSON || strings.HasSuffix(mt, "+json"):
		return jsonFields(req.Body, names)
	case mt == MediaForm:
		all, err := Form(req.Body)
		if err != nil {
			return nil, err
		}
		out := make(map[string]string, len(names))
		for _, n := range names {
			if v, ok := all[n]; ok {
				out[n] = v
			}
		}
		return out, nil
	}
	return nil, ErrMediaType
}

func jsonFields(body []byte, names []string) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := JSON(body, &raw); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		v, ok := raw[n]
		if !ok || string(v) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, ErrFieldType
		}
		out[n] = s
	}
	return out, nil
}

// RequireJSON refuses a request (ErrMediaType) unless it carries exactly one
// Content-Type and IsJSONMediaType accepts it. Bridges whose vendor always
// sends that type call it before decoding: a body labelled text/plain or a form
// was not written by the vendor's JSON client, and a browser can send those
// cross-origin without a preflight.
func RequireJSON(req *bridge.Request) error {
	if req == nil {
		return ErrMediaType
	}
	var types []string
	for _, h := range req.Headers {
		if strings.EqualFold(h.Name, "Content-Type") {
			types = append(types, h.Values...)
		}
	}
	if len(types) != 1 || !IsJSONMediaType(types[0]) {
		return ErrMediaType
	}
	return nil
}

// RequireJSONOrText is RequireJSON for a vendor whose documented client posts
// a JSON string without labelling it: Auth0's sample custom-phone-provider
// Action calls fetch with a string body and no Content-Type, which Node labels
// "text/plain;charset=UTF-8". It accepts at most one Content-Type that is JSON
// (IsJSONMediaType) or text/plain with at most a UTF-8 charset, or none. The
// caller must then decode the body with JSON, which refuses anything but one
// strict JSON object: a text/plain body is read as JSON only when it is JSON.
// Use it only for such a vendor, after authenticating the request: a browser
// can send text/plain cross-origin without a preflight (though not with an
// Authorization header), and a proxy's JSON rules may skip it.
func RequireJSONOrText(req *bridge.Request) error {
	if req == nil {
		return ErrMediaType
	}
	var types []string
	for _, h := range req.Headers {
		if strings.EqualFold(h.Name, "Content-Type") {
			types = append(types, h.Values...)
		}
	}
	switch {
	case len(types) == 0:
		return nil
	case len(types) > 1:
		return ErrMediaType
	case IsJSONMediaType(types[0]):
		return nil
	}
	mt, params, err := mime.ParseMediaType(types[0])
	if err != nil || mt != "text/plain" {
		return ErrMediaType
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") && !strings.EqualFold(v, "utf8") {
			return ErrMediaType
		}
	}
	return nil
}

// IsJSONMediaType reports whether a Content-Type value is application/json,
// with at most a UTF-8 charset among its parameters. Structured "+json" types
// are not: no vendor sends them to these hooks, and each would be a new format
// to vet. The host's own JSON endpoints use the same rule.
func IsJSONMediaType(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != MediaJSON {
		return false
	}
	// JSON is UTF-8 (RFC 8259); a body declared in another charset would be
	// read differently by whoever trusted the label.
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8") || strings.EqualFold(cs, "utf8")
}
