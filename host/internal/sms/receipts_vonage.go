package sms

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"hash"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// vonageMethods are the signature algorithms Vonage's dashboard offers.
// md5hash is a plain MD5 of the parameters followed by the secret; the others
// are HMACs keyed with the secret.
var vonageMethods = map[string]func() hash.Hash{
	"md5hash": md5.New,
	"md5":     md5.New,
	"sha1":    sha1.New,
	"sha256":  sha256.New,
	"sha512":  sha512.New,
}

var providerMessageID = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)

// vonageReceipts reads Vonage SMS API delivery receipts (DLRs), sent as a GET
// query, a POST form or a POST JSON object (the dashboard's choice), with
// signed webhooks enabled: every parameter but sig, sorted by name, written as
// "&name=value" with "&" and "=" in values replaced by "_", hashed with the
// signature secret; timestamp (Unix seconds) is among the signed parameters.
type vonageReceipts struct {
	provider string
	secret   string
	method   string
	hash     func() hash.Hash
	maxAge   time.Duration
	now      func() time.Time
	replays  *replayGuard
}

func (v *vonageReceipts) read(r *http.Request, body []byte, _ string) ([]Delivery, error) {
	params, err := vonageParams(r, body)
	if err != nil {
		return nil, refuse("unreadable", "%s: %v", v.provider, err)
	}
	sig := params["sig"]
	if sig == "" {
		return nil, refuse("signature", "%s: the receipt is not signed (no sig): enable signed webhooks with Vonage", v.provider)
	}
	want := vonageSignature(v.method, v.secret, params)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(sig)), []byte(strings.ToLower(want))) != 1 {
		return nil, refuse("signature", "%s: sig does not match the parameters", v.provider)
	}
	ts, err := strconv.ParseInt(params["timestamp"], 10, 64)
	if err != nil {
		return nil, refuse("unreadable", "%s: the signed receipt has no timestamp", v.provider)
	}
	now := v.now()
	if !fresh(time.Unix(ts, 0), now, v.maxAge) {
		return nil, refuse("stale", "%s: the receipt was signed %v from now, more than %v", v.provider, now.Sub(time.Unix(ts, 0)).Round(time.Second), v.maxAge)
	}
	if !v.replays.first(strings.ToLower(sig), now) {
		return nil, refuse("replayed", "%s: this receipt was already received", v.provider)
	}
	id := params["messageId"]
	if !providerMessageID.MatchString(id) {
		return nil, refuse("unreadable", "%s: the receipt names no message id", v.provider)
	}
	d := Delivery{MessageID: id, Reference: params["client-ref"], State: vonageState(params["status"])}
	if code := params["err-code"]; code != "" && code != "0" {
		d.ErrorCode = code
	}
	if at, err := time.Parse("2006-01-02 15:04:05", params["message-timestamp"]); err == nil {
		d.At = at.UTC()
	}
	return []Delivery{d}, nil
}

func vonageState(status string) DeliveryState {
	switch status {
	case "accepted", "buffered":
		return StateSent
	case "delivered":
		return StateDelivered
	case "expired", "failed", "rejected":
		return StateUndelivered
	}
	return StateUnknown
}

// vonageParams reads a receipt's parameters: the query of a GET, the form or
// the JSON object of a POST. A parameter given twice is unreadable: which one
// was signed?
func vonageParams(r *http.Request, body []byte) (map[string]string, error) {
	var vals url.Values
	switch r.Method {
	case http.MethodGet:
		vals = r.URL.Query()
	case http.MethodPost:
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct == "application/json" {
			var obj map[string]any
			if err := json.Unmarshal(body, &obj); err != nil {
				return nil, errUnreadable("the body is not a JSON object")
			}
			out := make(map[string]string, len(obj))
			for k, v := range obj {
				switch t := v.(type) {
				case string:
					out[k] = t
				case float64:
					out[k] = strconv.FormatFloat(t, 'f', -1, 64)
				case bool:
					out[k] = strconv.FormatBool(t)
				default:
					return nil, errUnreadable("the JSON member " + strconv.Quote(k) + " is not a plain value")
				}
			}
			return out, nil
		}
		var err error
		if vals, err = url.ParseQuery(string(body)); err != nil {
			return nil, errUnreadable("the body is not a form")
		}
	default:
		return nil, errUnreadable("receipts come by GET or POST")
	}
	out := make(map[string]string, len(vals))
	for k, v := range vals {
		if len(v) != 1 {
			return nil, errUnreadable("the parameter " + strconv.Quote(k) + " is repeated")
		}
		out[k] = v[0]
	}
	return out, nil
}

type errUnreadable string

func (e errUnreadable) Error() string { return string(e) }

// vonageSignature signs params (sig excluded) the way Vonage's SMS API does
// with method (md5hash, md5, sha1, sha256, sha512) and the signature secret:
// lower-case hex for md5hash, upper-case hex for the HMACs. It
// returns "" for an unknown method.
func vonageSignature(method, secret string, params map[string]string) string {
	newHash, ok := vonageMethods[method]
	if !ok {
		return ""
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sig" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	clean := strings.NewReplacer("&", "_", "=", "_")
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("&" + k + "=" + clean.Replace(params[k]))
	}
	if method == "md5hash" {
		sum := md5.Sum([]byte(b.String() + secret))
		return hex.EncodeToString(sum[:])
	}
	mac := hmac.New(newHash, []byte(secret))
	mac.Write([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(mac.Sum(nil)))
}
