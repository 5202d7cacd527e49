package payload

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/smsplus/smsplus/sdk/bridge"
)

func TestJSON(t *testing.T) {
	t.Parallel()
	type body struct {
		A string `json:"a"`
	}
	tests := map[string]struct {
		in   string
		want string
		err  error
	}{
		"object":                     {in: `{"a":"x","other":[1,{"b":null}]}`, want: "x"},
		"null field":                 {in: `{"a":null}`},
		"leading space":              {in: " \n{\"a\":\"x\"} \n", want: "x"},
		"empty":                      {in: "", err: ErrNotObject},
		"null":                       {in: "null", err: ErrNotObject},
		"array":                      {in: `[{"a":"x"}]`, err: ErrNotObject},
		"string":                     {in: `"x"`, err: ErrNotObject},
		"wrong type":                 {in: `{"a":1}`, err: ErrMalformed},
		"trailing garbage":           {in: `{"a":"x"}garbage`, err: ErrMalformed},
		"two objects":                {in: `{"a":"x"}{"a":"y"}`, err: ErrMalformed},
		"truncated":                  {in: `{"a":`, err: ErrMalformed},
		"not UTF-8":                  {in: "{\"a\":\"\xff\"}", err: ErrNotUTF8},
		"deep nesting":               {in: `{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, err: ErrTooDeep},
		"case-folded duplicate":      {in: `{"a":"x","A":"y"}`, err: ErrDuplicate},
		"huge number, unknown field": {in: `{"x":1e999999999,"a":"x"}`, want: "x"},
		"huge number, declared":      {in: `{"a":1e999999999}`, err: ErrMalformed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b body
			err := JSON([]byte(tc.in), &b)
			if !errors.Is(err, tc.err) || (err == nil && b.A != tc.want) {
				t.Fatalf("JSON(%q) = %+v, %v; want %q, %v", tc.in, b, err, tc.want, tc.err)
			}
		})
	}
}

func req(ct, body string) *bridge.Request {
	r := &bridge.Request{Method: "POST", Body: []byte(body)}
	if ct != "" {
		r.Headers = []bridge.Header{{Name: "Content-Type", Values: []string{ct}}}
	}
	return r
}

func TestFields(t *testing.T) {
	t.Parallel()
	names := []string{"phoneNumber", "smsMessage"}
	tests := map[string]struct {
		r    *bridge.Request
		want map[string]string
		err  error
	}{
		"json": {r: req("application/json; charset=utf-8", `{"phoneNumber":"+1","smsMessage":"hi","n":7}`),
			want: map[string]string{"phoneNumber": "+1", "smsMessage": "hi"}},
		"json null is absent": {r: req("application/json", `{"phoneNumber":null}`), want: map[string]string{}},
		"json sniffed":        {r: req("", ` {"phoneNumber":"+1"}`), want: map[string]string{"phoneNumber": "+1"}},
		"form": {r: req("application/x-www-form-urlencoded", "phoneNumber=%2B12025550187&smsMessage=Your+code+is+604182&x=1"),
			want: map[string]string{"phoneNumber": "+12025550187", "smsMessage": "Your code is 604182"}},
		"form sniffed":         {r: req("", "phoneNumber=1"), want: map[string]string{"phoneNumber": "1"}},
		"vendor json type":     {r: req("application/vnd.acme+json", `{"smsMessage":"x"}`), want: map[string]string{"smsMessage": "x"}},
		"json number field":    {r: req("application/json", `{"phoneNumber":12025550187}`), err: ErrFieldType},
		"json duplicate key":   {r: req("application/json", `{"phoneNumber":"+1","phoneNumber":"+2"}`), err: ErrDuplicate},
		"json folded key":      {r: req("application/json", `{"phoneNumber":"+1","PHONENUMBER":"+2"}`), err: ErrDuplicate},
		"json nested dup":      {r: req("application/json", `{"phoneNumber":"+1","x":{"a":1,"a":2}}`), err: ErrDuplicate},
		"form duplicate key":   {r: req(MediaForm, "phoneNumber=1&phoneNumber=2"), err: ErrDuplicate},
		"form bad escape":      {r: req(MediaForm, "phoneNumber=%zz"), err: ErrMalformed},
		"form semicolon":       {r: req(MediaForm, "a=1;b=2"), err: ErrMalformed},
		"form escaped not UTF": {r: req(MediaForm, "smsMessage=%ff"), err: ErrNotUTF8},
		"form raw not UTF":     {r: req(MediaForm, "smsMessage=\xff"), err: ErrNotUTF8},
		"xml":                  {r: req("text/xml", "<a/>"), err: ErrMediaType},
		"bad content type":     {r: req("application/json; =", `{}`), want: map[string]string{}},
		"json array":           {r: req("application/json", `[]`), err: ErrNotObject},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := Fields(tc.r, names...)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckKeys(t *testing.T) {
	t.Parallel()
	nest := func(n int) string { return strings.Repeat(`{"a":`, n-1) + `{}` + strings.Repeat("}", n-1) }
	// many is an object with n keys k0..k(n-1), then the extra ones.
	many := func(n int, extra string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, `"k%d":%d,`, i, i)
		}
		return b.String() + extra + "}"
	}
	tests := map[string]struct {
		in  string
		err error
	}{
		"object":                    {in: `{"a":1,"b":[true,null,{"c":"x"}],"d":{"e":1e999999}}`},
		"same key in sibling items": {in: `{"list":[{"otp":"1"},{"otp":"2"}]}`},
		"same key nested":           {in: `{"otp":{"otp":"1"}}`},
		"key equal to a value":      {in: `{"a":"b","b":"a"}`},
		"any value":                 {in: ` [1, "x", {"a":1}] `},
		"64 levels":                 {in: nest(MaxDepth)},
		"64 levels of arrays":       {in: strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)},

		"many keys":                  {in: many(40, `"last":0`)},
		"escaped quote in a key":     {in: `{"a\"b":1,"a\\b":2,"a":{"\"":3}}`},
		"duplicate among many keys":  {in: many(40, `"K7":0`), err: ErrDuplicate},
		"kelvin among many keys":     {in: many(40, `"\u212a39":0`), err: ErrDuplicate},
		"escaped duplicate key":      {in: `{"a\"b":1,"A\u0022B":2}`, err: ErrDuplicate},
		"duplicate":                  {in: `{"otp":"1","otp":"2"}`, err: ErrDuplicate},
		"case-folded":                {in: `{"otp":"1","OTP":"2"}`, err: ErrDuplicate},
		"case-folded, mixed":         {in: `{"CiD":"1","x":0,"cId":"2"}`, err: ErrDuplicate},
		"escaped duplicate":          {in: `{"otp":"1","\u006ftp":"2"}`, err: ErrDuplicate},
		"nested duplicate":           {in: `{"data":{"messageProfile":{"otpCode":"1","OTPCODE":"2"}}}`, err: ErrDuplicate},
		"duplicate in array item":    {in: `{"a":[1,{"b":1,"B":2}]}`, err: ErrDuplicate},
		"duplicate at top of array":  {in: `[{"b":1,"b":2}]`, err: ErrDuplicate},
		"kelvin sign":                {in: `{"k":"1","\u212a":"2"}`, err: ErrDuplicate},
		"kelvin sign, upper":         {in: `{"\u212aey":"1","KEY":"2"}`, err: ErrDuplicate},
		"long s":                     {in: `{"s":"1","\u017f":"2"}`, err: ErrDuplicate},
		"long s in a word":           {in: `{"phoneNumber":"1","phoneNumber":"2","status":0,"\u017ftatus":1}`, err: ErrDuplicate},
		"accented":                   {in: `{"código":"1","CÓDIGO":"2"}`, err: ErrDuplicate},
		"greek final sigma":          {in: `{"σ":"1","ς":"2"}`, err: ErrDuplicate},
		"empty keys":                 {in: `{"":"1","":"2"}`, err: ErrDuplicate},
		"65 levels":                  {in: nest(MaxDepth + 1), err: ErrTooDeep},
		"65 levels of arrays":        {in: strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), err: ErrTooDeep},
		"deep in a value":            {in: `{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, err: ErrTooDeep},
		"not UTF-8":                  {in: "{\"a\":\"\xff\"}", err: ErrNotUTF8},
		"empty":                      {in: "", err: ErrMalformed},
		"trailing comma":             {in: `{"a":1,}`, err: ErrMalformed},
		"missing colon":              {in: `{"a" 1}`, err: ErrMalformed},
		"key not a string":           {in: `{1:2}`, err: ErrMalformed},
		"truncated":                  {in: `{"a":{"b":1}`, err: ErrMalformed},
		"trailing garbage":           {in: `{"a":1}x`, err: ErrMalformed},
		"two values":                 {in: `{"a":1}{"a":1}`, err: ErrMalformed},
		"unbalanced":                 {in: `{"a":1]`, err: ErrMalformed},
		"raw control in string":      {in: "{\"a\":\"x\ny\"}", err: ErrMalformed},
		"duplicate before bad input": {in: `{"a":1,"a":2,`, err: ErrDuplicate},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := CheckKeys([]byte(tc.in)); !errors.Is(err, tc.err) {
				t.Fatalf("CheckKeys(%.60q) = %v, want %v", tc.in, err, tc.err)
			}
		})
	}
}

// TestCaseFoldedKeysAreAmbiguous shows why CheckKeys folds: encoding/json fills a
// field from a key that differs only in case, including the Kelvin sign for k
// and the long s for s, so either of two such keys could decide the value.
func TestCaseFoldedKeysAreAmbiguous(t *testing.T) {
	t.Parallel()
	var v struct {
		Key  string `json:"key"`
		Sent string `json:"sent"`
	}
	if err := json.Unmarshal([]byte(`{"\u212aEY":"kelvin","\u017fent":"long s"}`), &v); err != nil || v.Key != "kelvin" || v.Sent != "long s" {
		t.Fatalf("encoding/json no longer folds K and ſ (%+v, %v): CheckKeys may be stricter than needed", v, err)
	}
}

// TestFoldKey checks the canonical form against bytes.EqualFold for every rune:
// two runes fold to the same form exactly when EqualFold says they are equal.
func TestFoldKey(t *testing.T) {
	t.Parallel()
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue // surrogates are not valid in UTF-8 text
		}
		s := string(r)
		c := foldKey(s)
		if !strings.EqualFold(s, c) {
			t.Fatalf("foldKey(%U) = %q, which EqualFold does not match", r, c)
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if foldKey(string(f)) != c {
				t.Fatalf("foldKey(%U) = %q but foldKey(%U) = %q", r, c, f, foldKey(string(f)))
			}
		}
	}
	if got := foldKey("Phone\u212aey\u017f"); got != "PHONEKEYS" {
		t.Errorf("foldKey = %q", got)
	}
}

func TestJSONRefusesAmbiguousKeys(t *testing.T) {
	t.Parallel()
	var v struct {
		OTP string `json:"otp"`
	}
	for _, in := range []string{`{"otp":"1","OTP":"2"}`, `{"x":{"y":1,"Y":2},"otp":"1"}`, `{"otp":"1","otp":"2"}`} {
		if err := JSON([]byte(in), &v); !errors.Is(err, ErrDuplicate) {
			t.Errorf("JSON(%s) = %v, want ErrDuplicate", in, err)
		}
	}
	if err := JSON([]byte(strings.Repeat(`{"a":`, MaxDepth+1)+"1"+strings.Repeat("}", MaxDepth+1)), &v); !errors.Is(err, ErrTooDeep) {
		t.Errorf("JSON(too deep) = %v, want ErrTooDeep", err)
	}
}

func TestRequireJSON(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]error{
		"application/json":                    nil,
		"Application/JSON":                    nil,
		"application/json; charset=utf-8":     nil,
		"application/json;charset=UTF-8":      nil,
		"application/json; charset=\"utf-8\"": nil,
		"":                                    ErrMediaType,
		"text/plain":                          ErrMediaType,
		"text/plain;charset=UTF-8":            ErrMediaType,
		"application/x-www-form-urlencoded":   ErrMediaType,
		"application/jsonp":                   ErrMediaType,
		"application/json-patch+json":         ErrMediaType,
		"application/vnd.acme+json":           ErrMediaType,
		"application/json; charset=latin1":    ErrMediaType,
		"application/json; =":                 ErrMediaType,
		"application/json, text/plain":        ErrMediaType,
	} {
		if err := RequireJSON(req(ct, `{}`)); !errors.Is(err, want) {
			t.Errorf("RequireJSON(%q) = %v, want %v", ct, err, want)
		}
	}
	two := req("application/json", `{}`)
	two.Headers = append(two.Headers, bridge.Header{Name: "content-type", Values: []string{"text/plain"}})
	if err := RequireJSON(two); !errors.Is(err, ErrMediaType) {
		t.Errorf("RequireJSON(two Content-Types) = %v, want ErrMediaType", err)
	}
}

func TestRequireJSONOrText(t *testing.T) {
	for ct, ok := range map[string]bool{
		"application/json":                  true,
		"application/json; charset=utf-8":   true,
		"text/plain;charset=UTF-8":          true, // Node fetch, a string body without headers (Auth0's sample Action)
		"text/plain":                        true,
		"text/plain; charset=iso-8859-1":    false,
		"text/plain; format=flowed":         false,
		"text/html":                         false,
		"application/x-www-form-urlencoded": false,
		"multipart/form-data; boundary=x":   false,
		"application/cloudevents+json":      false,
		"":                                  true, // no header at all (see req below)
	} {
		r := &bridge.Request{Method: "POST", Body: []byte("{}")}
		if ct != "" {
			r.Headers = []bridge.Header{{Name: "Content-Type", Values: []string{ct}}}
		}
		if got := RequireJSONOrText(r) == nil; got != ok {
			t.Errorf("RequireJSONOrText(%q) = %v, want %v", ct, got, ok)
		}
	}
	two := &bridge.Request{Headers: []bridge.Header{{Name: "Content-Type", Values: []string{"text/plain", "application/json"}}}}
	if RequireJSONOrText(two) == nil || RequireJSONOrText(nil) == nil {
		t.Error("two content types, or no request, accepted")
	}
}

// BenchmarkCheckKeys: a vendor's hook body, as every bridge checks it.
func BenchmarkCheckKeys(b *testing.B) {
	body := []byte(`{"eventId":"3o9jBzq1SmOGmmsDcm0i","eventTime":"2026-12-07T10:00:00.000Z","eventType":"com.okta.telephony.provider",` +
		`"eventTypeVersion":"1.0","contentType":"application/json","cloudEventVersion":"0.1","source":"https://example.okta.com/api/v1/inlineHooks/cal3/execute",` +
		`"requestType":"com.okta.user.telephony.mfa-verification","data":{"context":{"request":{"id":"reqId","method":"POST","url":{"value":"/api/v1/authn/factors/sms/verify"},` +
		`"ipAddress":"203.0.113.9"}},"userProfile":{"firstName":"Ada","lastName":"Lovelace","login":"ada@example.com","userId":"00u1"},` +
		`"messageProfile":{"msgTemplate":"Your code is 123456","phoneNumber":"+14155550123","otpExpires":"2026-12-07T10:05:00.000Z","deliveryChannel":"SMS","otpCode":"123456","locale":"EN-US"}}}`)
	for b.Loop() {
		if err := CheckKeys(body); err != nil {
			b.Fatal(err)
		}
	}
}
