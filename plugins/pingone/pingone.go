package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/smsplus/smsplus/sdk/answer"
	"github.com/smsplus/smsplus/sdk/auth"
	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/otp"
	"github.com/smsplus/smsplus/sdk/payload"
	"github.com/smsplus/smsplus/sdk/phone"
)

// Setting names. PING_SHARED_SECRET is the seed's name; PINGONE_SHARED_SECRET
// the general <ID>_SHARED_SECRET form.
const (
	settingSecret   = "PING_SHARED_SECRET"
	settingAlias    = "PINGONE_SHARED_SECRET"
	settingPrevious = settingAlias + auth.PreviousSuffix // PINGONE_SHARED_SECRET_PREVIOUS
	settingUser     = "PING_USERNAME"
	settingHeader   = "PING_AUTH_HEADER"
	settingLength   = "PINGONE_OTP_LENGTH"
	settingNonOTP   = "PINGONE_NON_OTP"
	settingGET      = "PINGONE_ALLOW_GET"

	// OAuth2 - Client Credentials: PingOne obtains a token from the token URL
	// the admin sets and sends it as a bearer token. SMS+ verifies it against
	// the issuing authorization server's published keys.
	settingIssuer   = "PINGONE_OAUTH_ISSUER"
	settingAudience = "PINGONE_OAUTH_AUDIENCE"
	settingClientID = "PINGONE_OAUTH_CLIENT_ID"
	settingScope    = "PINGONE_OAUTH_SCOPE"
	settingJWKS     = "PINGONE_OAUTH_JWKS_URL"
)

// PINGONE_NON_OTP values: what to do with a text that carries no code.
const (
	nonOTPRefuse  = "refuse"
	nonOTPDeliver = "deliver"
)

const (
	defaultUser  = "pingone"
	minSecretLen = 16
	maxBody      = 64 << 10
	deadline     = 10 * time.Second // PingOne's timeout is not documented
)

// Fixed rejection texts; they name fields, never values.
const (
	msgNotConfigured = "the PingOne bridge is not configured"
	msgUnauthorized  = "the credentials are missing or wrong"
	msgMethod        = "only POST is accepted: use a POST request with a JSON or form body in the PingOne sender, or set " +
		settingGET + "=true to accept GET"
	msgGETBody     = "a GET request carries its fields in the query string, not a body"
	msgBadQuery    = "the query string is not valid, or names a field twice"
	msgTwoChannels = "channel is given in the query string and the body, with different values"
	msgQuote       = `the JSON body is not valid: a template value holds a '"'. Put "body":"${message}" last in the Raw template, or use a Form body`
	msgNotOTP      = "the message carries no one-time code: SMS+ texts it only with " + settingNonOTP + "=deliver"
	msgTooLarge    = "the request body is too large"
	msgNotUTF8     = "the request body is not valid UTF-8"
	msgMediaType   = "the content type must be application/json or application/x-www-form-urlencoded"
	msgBadBody     = "the request body is not a valid JSON object or form"
	msgFieldType   = "recipient, body, otp, locale and channel must be strings"
	msgDuplicate   = "a field appears twice, or under two names with different values"
	msgPlaceholder = "the PingOne template variables were not substituted (${to}, ${message})"
	msgNoRecipient = "recipient (${to}) is required"
	msgBadPhone    = "recipient is not a phone number with its country code"
	msgBadChannel  = "channel must be sms or voice"
	msgNoMessage   = "body (${message}) is required"
	msgNoCode      = `otp is required when the message does not hold exactly one code: add "otp":"${otp}" to the template`
	msgBadCode     = "otp must be 4 to 10 digits"
)

// The field names SMS+ reads, with the aliases each may come under: the setup
// guide's template uses the first; the others are the reference template's and
// Telesign-style form keys.
var (
	phoneFields   = []string{"recipient", "to", "phone_number"}
	messageFields = []string{"body", "message"}
	allFields     = append(append([]string{"otp", "locale", "channel", "from"}, phoneFields...), messageFields...)
)

var (
	_ bridge.Bridge   = (*pingOne)(nil)
	_ bridge.Exampler = (*pingOne)(nil)
)

// pingOne implements bridge.Bridge for PingOne's custom notification provider.
// PingOne has no fixed payload: the admin writes the request template, so the
// bridge reads the fields the setup guide's template sends (docs/setup/pingone.md).
type pingOne struct {
	cfg atomic.Pointer[config] // nil until a Configure succeeds
	// httpClient fetches the authorization server's keys; nil: auth.OAuth's
	// default. Tests point it at a local key server.
	httpClient *http.Client
}

type config struct {
	secret   auth.Rotation // empty when only OAuth is configured
	user     string
	header   string // optional custom header carrying the secret
	length   int    // PINGONE_OTP_LENGTH; 0 = unknown
	deliver  bool   // PINGONE_NON_OTP=deliver
	allowGET bool
	oauth    *auth.OAuth
}

func newPingOne() *pingOne { return &pingOne{} }

func (p *pingOne) Info(context.Context) (bridge.Info, error) {
	return bridge.Info{
		ID:          "pingone",
		DisplayName: "PingOne custom SMS/voice provider",
		Version:     "0.1.0",
		Deadline:    deadline,
		Settings: []bridge.Setting{
			{Name: settingSecret, Secret: true, Description: "The password (Basic), token (Bearer) or " +
				"header value (Custom Header) set as the PingOne sender's authentication. Required unless " +
				settingIssuer + " (OAuth2 - Client Credentials) is set."},
			{Name: settingAlias, Secret: true, Description: "Another name for " + settingSecret + "; set only one."},
			auth.PreviousSetting(settingAlias),
			{Name: settingUser, Description: "The user name of the sender's Basic authentication. Default: " + defaultUser + "."},
			{Name: settingHeader, Description: "The header name of the sender's Custom Header authentication, " +
				"e.g. X-Authorization. Unset: only Basic and Bearer are accepted."},
			{Name: settingIssuer, Description: "OAuth2 - Client Credentials: the issuer of the authorization server whose " +
				"token URL the sender uses (its /.well-known/openid-configuration names it), e.g. " +
				"https://auth.pingone.com/<environment id>/as."},
			{Name: settingAudience, Description: "OAuth2: the audience the tokens carry (aud). Required with " + settingIssuer + "."},
			{Name: settingClientID, Description: "OAuth2: the client id the sender authenticates as (client_id). Required with " +
				settingIssuer + "."},
			{Name: settingScope, Description: "OAuth2: a scope the tokens must hold. Default: not checked."},
			{Name: settingJWKS, Description: "OAuth2: the server's key set URL. Default: discovered from " + settingIssuer + "."},
			{Name: settingLength, Description: "The length of PingOne's codes (the MFA policy's OTP length, 6 to 10): used " +
				"only when a request carries no otp field and the code is read from the message. Default: unset."},
			{Name: settingNonOTP, Description: "What to do with a text that carries no code (a PingOne notification, or the " +
				"sender's test SMS): " + nonOTPRefuse + " (default: answered 422 not_an_otp) or " + nonOTPDeliver +
				" (texted as is, without a link). The text \"" + bridge.ConnectionTestText + "\" is always a connection test."},
			{Name: settingGET, Description: "true accepts the sender's GET requests (fields in the query string). " +
				"Default: false. The code then travels in the URL, which proxies and load balancers log: prefer POST."},
		},
	}, nil
}

func (p *pingOne) Configure(ctx context.Context, settings map[string]string) error {
	oauth, problems := p.oauthFrom(settings)
	var secret auth.Rotation
	if !oauthSet(settings) || strings.TrimSpace(settings[settingSecret]) != "" || strings.TrimSpace(settings[settingAlias]) != "" ||
		strings.TrimSpace(settings[settingPrevious]) != "" {
		var ps []string
		secret, ps = auth.RotatingSecret(settings, minSecretLen,
			"the password, token or header value of the PingOne sender's authentication (or configure "+settingIssuer+")",
			settingPrevious, settingSecret, settingAlias)
		problems = append(problems, ps...)
	}
	user := strings.TrimSpace(settings[settingUser])
	if user == "" {
		user = defaultUser
	} else if strings.Contains(user, ":") {
		problems = append(problems, settingUser+" must not contain ':' (HTTP Basic cannot carry it)")
	}
	header := strings.TrimSpace(settings[settingHeader])
	if header != "" && !auth.ValidHeaderName(header) {
		problems = append(problems, fmt.Sprintf("%s %q is not a valid HTTP header name", settingHeader, header))
	}
	length, pr := otp.Length(settings, settingLength, "the MFA policy's OTP length")
	if pr != "" {
		problems = append(problems, pr)
	}
	deliver := false
	switch v := strings.ToLower(strings.TrimSpace(settings[settingNonOTP])); v {
	case "", nonOTPRefuse:
	case nonOTPDeliver:
		deliver = true
		if !bridge.HostHasFeature(ctx, bridge.FeatureNotices) {
			problems = append(problems, settingNonOTP+"="+nonOTPDeliver+" needs an SMS+ host that delivers notices (feature "+
				bridge.FeatureNotices+"); this one does not: unset it, or upgrade SMS+")
		}
	default:
		problems = append(problems, settingNonOTP+" must be "+nonOTPRefuse+" or "+nonOTPDeliver)
	}
	allowGET := false
	switch v := strings.ToLower(strings.TrimSpace(settings[settingGET])); v {
	case "", "false", "0", "no":
	case "true", "1", "yes":
		allowGET = true
	default:
		problems = append(problems, settingGET+" must be true or false")
	}
	if len(problems) > 0 {
		p.cfg.Store(nil)
		return &bridge.ConfigError{Problems: problems}
	}
	p.cfg.Store(&config{secret: secret, user: user, header: header, length: length, deliver: deliver, allowGET: allowGET, oauth: oauth})
	if oauth != nil {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = oauth.Refresh(ctx)
		}()
	}
	return nil
}

// oauthSet reports whether any OAuth2 setting is set.
func oauthSet(settings map[string]string) bool {
	for _, n := range []string{settingIssuer, settingAudience, settingClientID, settingScope, settingJWKS} {
		if strings.TrimSpace(settings[n]) != "" {
			return true
		}
	}
	return false
}

// oauthFrom reads the OAuth2 settings: nil when none is set.
func (p *pingOne) oauthFrom(settings map[string]string) (*auth.OAuth, []string) {
	if !oauthSet(settings) {
		return nil, nil
	}
	get := func(n string) string { return strings.TrimSpace(settings[n]) }
	var problems []string
	for _, n := range []string{settingIssuer, settingAudience, settingClientID} {
		if get(n) == "" {
			problems = append(problems, n+" is required when any PINGONE_OAUTH_ setting is set")
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	v, err := auth.NewOAuth(auth.OAuthConfig{Issuer: get(settingIssuer), Audience: get(settingAudience),
		ClientID: get(settingClientID), Scope: get(settingScope), JWKSURL: get(settingJWKS), Client: p.httpClient,
		FetchTimeout: 2 * time.Second})
	if err != nil {
		return nil, []string{"OAuth2 settings (" + settingIssuer + ", " + settingJWKS + ", ...): " + err.Error()}
	}
	return v, nil
}

func (p *pingOne) Parse(ctx context.Context, req *bridge.Request) (*bridge.ParseResult, error) {
	if req == nil {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadBody), nil
	}
	cfg := p.cfg.Load()
	get := req.Method == http.MethodGet && cfg != nil && cfg.allowGET
	if req.Method != http.MethodPost && !get {
		return answer.Reject(http.StatusMethodNotAllowed, bridge.ReasonMethod, msgMethod), nil
	}
	if cfg == nil {
		return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgNotConfigured), nil
	}
	if !p.authentic(ctx, cfg, req) {
		return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgUnauthorized), nil
	}
	if len(req.Body) > maxBody {
		return answer.Reject(http.StatusRequestEntityTooLarge, bridge.ReasonBodyTooLarge, msgTooLarge), nil
	}
	var f map[string]string
	var rej *bridge.ParseResult
	if get {
		f, rej = queryFields(req)
	} else {
		f, rej = fields(req)
	}
	if rej != nil {
		return rej, nil
	}
	// The admin may mark the sender's VOICE request on its URL: ?channel=voice.
	if !get && req.RawQuery != "" {
		q, err := url.ParseQuery(req.RawQuery)
		if err != nil || len(q["channel"]) > 1 {
			return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadQuery), nil
		}
		if c := q.Get("channel"); c != "" {
			if b, ok := f["channel"]; ok && unlessPlaceholder(b) != "" && !strings.EqualFold(strings.TrimSpace(b), c) {
				return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgTwoChannels), nil
			}
			f["channel"] = c
		}
	}

	to, ok1 := pick(f, phoneFields)
	text, ok2 := pick(f, messageFields)
	if !ok1 || !ok2 {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgDuplicate), nil
	}
	if placeholder(to) || placeholder(text) {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgPlaceholder), nil
	}
	channel := bridge.ChannelSMS
	switch strings.ToLower(strings.TrimSpace(unlessPlaceholder(f["channel"]))) {
	case "", "sms", "text":
	case "voice":
		channel = bridge.ChannelVoice
	default:
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadChannel), nil
	}
	if strings.TrimSpace(to) == "" {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoRecipient), nil
	}
	if strings.TrimSpace(text) == "" {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoMessage), nil
	}
	// The one text taken for the admin's connection test (docs/pingone.md).
	if bridge.IsConnectionTest(text) {
		return &bridge.ParseResult{TestPing: &bridge.TestPing{}}, nil
	}
	// ${to} always carries the country code: "+14155552671" (FULL) or
	// "14155552671" (NUMBER_ONLY, the "Plus sign" toggle off).
	e164, err := phone.NormalizeWithCountryCode(to)
	if err != nil {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonInvalidPhone, msgBadPhone), nil
	}
	locale := strings.TrimSpace(unlessPlaceholder(f["locale"]))

	// ${otp} is the source of truth (voice wraps each digit of ${message} in the
	// sender's beforeTag/afterTag); the text is a fallback for templates that
	// send no otp.
	code := strings.TrimSpace(unlessPlaceholder(f["otp"]))
	if code == "" {
		var ok bool
		if code, ok = otp.FromTextLength(text, cfg.length); !ok {
			switch {
			case channel == bridge.ChannelVoice:
				// The host's voice policy answers it (bridge.FeatureVoiceWithoutCode).
				code = ""
			case !otp.HasDigits(text):
				// A text without a code: a PingOne notification or the sender's
				// test SMS. Never dropped silently: texted as is when the
				// operator chose it, refused explicitly otherwise.
				if cfg.deliver {
					return &bridge.ParseResult{Notice: &bridge.Notice{Phone: e164, Message: text, Locale: locale,
						Sender: strings.TrimSpace(unlessPlaceholder(f["from"])), Kind: "notification"}}, nil
				}
				return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonNotOTP, msgNotOTP), nil
			default:
				return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoCode), nil
			}
		}
	}
	if code != "" && !otp.Valid(code) {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonInvalidOTP, msgBadCode), nil
	}
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{
		Phone:   e164,
		OTP:     code,
		Message: text,
		Channel: channel,
		Locale:  locale,
	}}, nil
}

// authentic accepts the secret as the sender's Basic password, Bearer token or
// custom header value, whichever the admin chose (during a rotation, the
// previous secret too), or, with OAuth2 configured, a bearer JWT verified
// against the authorization server's keys. Every secret check is constant time.
func (p *pingOne) authentic(ctx context.Context, c *config, req *bridge.Request) bool {
	authz := strings.TrimSpace(req.Header("Authorization"))
	if c.oauth != nil {
		if tok, ok := auth.BearerToken(authz); ok && auth.LooksLikeJWT(tok) {
			return c.oauth.Verify(ctx, tok) == nil
		}
		if c.secret.Current() == "" {
			return false
		}
	}
	basic := c.secret.Basic(authz, c.user)
	bearer := c.secret.Bearer(authz)
	custom := c.header != "" && c.secret.HeaderSecret(strings.TrimSpace(req.Header(c.header)))
	return basic || bearer || custom
}

// queryFields reads a GET request's fields from its query string: each at
// most once, no body.
func queryFields(req *bridge.Request) (map[string]string, *bridge.ParseResult) {
	if len(req.Body) > 0 {
		return nil, answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgGETBody)
	}
	q, err := url.ParseQuery(req.RawQuery)
	if err != nil {
		return nil, answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadQuery)
	}
	f := map[string]string{}
	for _, n := range allFields {
		v, ok := q[n]
		if !ok {
			continue
		}
		if len(v) != 1 {
			return nil, answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadQuery)
		}
		if !utf8.ValidString(v[0]) {
			return nil, answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgNotUTF8)
		}
		f[n] = v[0]
	}
	return f, nil
}

// fields decodes the body. PingOne's "Raw" JSON body is plain text substitution;
// when a template variable holds a line break the body is not valid JSON, so a
// body that fails only for raw control characters inside strings is read again
// with them escaped.
func fields(req *bridge.Request) (map[string]string, *bridge.ParseResult) {
	f, err := payload.Fields(req, allFields...)
	if errors.Is(err, payload.ErrMalformed) {
		body := req.Body
		if fixed, changed := escapeControls(req.Body); changed {
			again := *req
			again.Body = fixed
			body = fixed
			f, err = payload.Fields(&again, allFields...)
		}
		// PingOne substitutes ${message} without escaping it: a '"' in the
		// template breaks the JSON. Read it leniently, but only in the shape
		// that leaves no doubt (the message last).
		if errors.Is(err, payload.ErrMalformed) {
			if mt := payload.MediaType(req); mt == payload.MediaJSON || mt == "" {
				lf, ok := lenientJSON(body)
				if !ok {
					return nil, answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgQuote)
				}
				f, err = lf, nil
			}
		}
	}
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, payload.ErrNotUTF8):
		return nil, answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgNotUTF8)
	case errors.Is(err, payload.ErrMediaType):
		return nil, answer.Reject(http.StatusUnsupportedMediaType, bridge.ReasonMediaType, msgMediaType)
	case errors.Is(err, payload.ErrFieldType):
		return nil, answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgFieldType)
	case errors.Is(err, payload.ErrDuplicate):
		return nil, answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgDuplicate)
	}
	return nil, answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadBody)
}

// pick returns the value under the first of names that is set; ok is false when
// two of them are set to different values.
func pick(f map[string]string, names []string) (string, bool) {
	var v string
	for _, n := range names {
		x, ok := f[n]
		if !ok || x == "" {
			continue
		}
		if v != "" && x != v {
			return "", false
		}
		v = x
	}
	return v, true
}

// placeholder reports whether s still holds a PingOne template variable.
func placeholder(s string) bool { return strings.Contains(s, "${") }

func unlessPlaceholder(s string) string {
	if placeholder(s) {
		return ""
	}
	return s
}

// escapeControls escapes raw CR, LF and TAB inside JSON string literals.
func escapeControls(body []byte) ([]byte, bool) {
	out := make([]byte, 0, len(body)+16)
	inString, escaped, changed := false, false, false
	for _, c := range body {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString && (c == '\n' || c == '\r' || c == '\t'):
			esc := byte('n')
			if c == '\r' {
				esc = 'r'
			} else if c == '\t' {
				esc = 't'
			}
			out = append(out, '\\', esc)
			changed = true
			continue
		}
		out = append(out, c)
	}
	return out, changed
}

// Example renders the call the setup guide's sender template makes
// (docs/setup/pingone.md) for want, with HTTP Basic, or the custom header when
// one is set.
func (p *pingOne) Example(_ context.Context, want bridge.ExampleRequest) (*bridge.Request, error) {
	cfg := p.cfg.Load()
	if cfg == nil {
		return nil, bridge.ErrNotConfigured
	}
	locale, _, _ := strings.Cut(strings.TrimSpace(want.Locale), "-")
	if locale == "" {
		locale = "en"
	}
	body, err := json.Marshal(map[string]string{
		"recipient": want.Phone,
		"body":      "Your passcode is " + want.OTP + ". It expires in 5 minutes.",
		"otp":       want.OTP,
		"locale":    strings.ToLower(locale),
		"channel":   "sms",
	})
	if err != nil {
		return nil, err
	}
	if cfg.secret.Current() == "" {
		return nil, fmt.Errorf("%w: with OAuth2 alone SMS+ cannot obtain PingOne's token; set %s as well to simulate PingOne's call",
			bridge.ErrUnsupported, settingSecret)
	}
	authz := bridge.Header{Name: "Authorization", Values: []string{auth.BasicHeader(cfg.user, cfg.secret.Current())}}
	if cfg.header != "" {
		authz = bridge.Header{Name: cfg.header, Values: []string{cfg.secret.Current()}}
	}
	return &bridge.Request{Method: http.MethodPost, Path: "/hooks/pingone", Body: body, Headers: []bridge.Header{
		{Name: "Content-Type", Values: []string{"application/json"}}, authz,
	}}, nil
}

// Respond answers by status only (any 2xx is accepted, the body is ignored).
// The answer never carries the link: the Node SMS+ returned it here. A voice
// request gets what the host's VOICE_POLICY decides: 422 unsupported_channel
// (refuse), 200 withheld (fail_closed), or 200 delivered once the link is texted
// (sms_link). Keep PingOne's "Fallback to Ping Twilio account" disabled, or
// every failure texts or speaks the raw code.
func (p *pingOne) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return answer.ByStatus(out)
}
