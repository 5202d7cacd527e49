package payload

import (
	"errors"
	"reflect"
	"strings"
	"testing"

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
		"deep nesting":               {in: `{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, err: ErrMalformed},
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
