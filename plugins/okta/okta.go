package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/smsplus/smsplus/sdk/answer"
	"github.com/smsplus/smsplus/sdk/auth"
	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/otp"
	"github.com/smsplus/smsplus/sdk/payload"
	"github.com/smsplus/smsplus/sdk/phone"
)

// Setting names, kept flat so a Node SMS+ .env works unchanged.
const (
	settingSecret   = "OKTA_SHARED_SECRET"
	settingPrevious = settingSecret + auth.PreviousSuffix
	settingHeader   = "OKTA_AUTH_HEADER"
	settingLength   = "OKTA_OTP_LENGTH"

	// OAuth 2.0 hook authentication (Okta's "OAuth 2.0" authentication type):
	// the bearer JWT Okta obtains from a custom authorization server.
	settingIssuer   = "OKTA_OAUTH_ISSUER"
	settingAudience = "OKTA_OAUTH_AUDIENCE"
	settingClientID = "OKTA_OAUTH_CLIENT_ID"
	settingScope    = "OKTA_OAUTH_SCOPE"
	settingJWKS     = "OKTA_OAUTH_JWKS_URL"
)

const (
	defaultAuthHeader = "Authorization"
	minSecretLen      = 16

	// maxBody bounds what Parse decodes. Okta's payloads are a few KB; the host
	// enforces its own limit first, this only keeps the bridge safe on its own.
	maxBody = 256 << 10

	eventTypeTelephony = "com.okta.telephony.provider"
	actionType         = "com.okta.telephony.action"
	provider           = "SMSPLUS"
	errorDomain        = "smsplus"
)

// Fixed rejection texts. They name fields, never values, so they are safe to
// send back to Okta.
const (
	msgNotConfigured = "the Okta bridge is not configured"
	msgUnauthorized  = "the authentication header is missing or wrong"
	msgMethod        = "only POST is accepted"
	msgTooLarge      = "the request body is too large"
	msgNotUTF8       = "the request body is not valid UTF-8"
	msgNotObject     = "the request body must be a JSON object"
	msgBadJSON       = "the request body is not a valid telephony hook payload"
	msgMediaType     = "the content type must be application/json"
	msgDuplicate     = "the request body names a field twice, or twice in different letter case"
	msgEventType     = "eventType must be " + eventTypeTelephony
	msgNoProfile     = "data.messageProfile is required"
	msgNoPhone       = "data.messageProfile.phoneNumber is required"
	msgNoOTP         = "data.messageProfile.otpCode is required"
	msgBadOTP        = "data.messageProfile.otpCode must be 4 to 10 digits"
	msgBadPhone      = "data.messageProfile.phoneNumber is not a phone number"
)

var (
	_ bridge.Bridge   = (*okta)(nil)
	_ bridge.Exampler = (*okta)(nil)
)

// okta implements bridge.Bridge for Okta's telephony inline hook
// (com.okta.telephony.provider). It holds only its configuration; nothing per
// request survives between Parse and Respond.
type okta struct {
	cfg atomic.Pointer[config] // nil until a Configure succeeds
	// httpClient fetches the authorization server's keys; nil: auth.OAuth's
	// default. Tests point it at a local key server.
	httpClient *http.Client
	// now is the OAuth verifier's clock; nil: time.Now.
	now func() time.Time
}

type config struct {
	secret auth.Rotation // empty when only OAuth is configured
	header string
	region string
	length int         // OKTA_OTP_LENGTH; 0 = unknown
	oauth  *auth.OAuth // nil when OAuth is not configured
}

func newOkta() *okta { return &okta{} }

func (o *okta) Info(context.Context) (bridge.Info, error) {
	return bridge.Info{
		ID:          "okta",
		DisplayName: "Okta telephony inline hook",
		Version:     "0.1.0",
		Deadline:    3 * time.Second, // Okta's inline hook timeout; the host budgets less
		Settings: []bridge.Setting{
			{
				Name:   settingSecret,
				Secret: true,
				Description: "The Authentication secret configured on the Okta inline hook (HTTP header authentication). " +
					`Okta sends it verbatim in the auth header; "<secret>" and "Bearer <secret>" are both accepted. ` +
					"Required unless " + settingIssuer + " (OAuth 2.0) is set.",
			},
			auth.PreviousSetting(settingSecret),
			{
				Name: settingHeader,
				Description: "The Authentication field (header name) configured on the Okta inline hook. " +
					"Default: " + defaultAuthHeader + ".",
			},
			{Name: settingIssuer, Description: "OAuth 2.0 authentication: the Issuer of the custom authorization server " +
				"whose token URL the hook uses, e.g. https://acme.okta.com/oauth2/default (Security > API > Authorization " +
				"Servers). Okta's org authorization server cannot be used: its keys are not published."},
			{Name: settingAudience, Description: "OAuth 2.0: that server's Audience, e.g. api://default. Required with " + settingIssuer + "."},
			{Name: settingClientID, Description: "OAuth 2.0: the Client ID of the API Services app the hook authenticates as " +
				"(the token's cid). Required with " + settingIssuer + "."},
			{Name: settingScope, Description: "OAuth 2.0: the custom scope set on the hook (the token's scp must hold it). " +
				"Required with " + settingIssuer + "."},
			{Name: settingJWKS, Description: "OAuth 2.0: the server's key set URL. Default: discovered from " +
				settingIssuer + "/.well-known/oauth-authorization-server."},
			{Name: settingLength, Description: "The length of Okta's codes, 4 to 10: used only when a request carries no " +
				"otpCode and the code is read from msgTemplate (a year-like code of that length is then accepted). Default: unset."},
			phone.Setting,
		},
	}, nil
}

// Configure validates the settings and reports every problem at once. A failed
// Configure leaves the bridge unconfigured, so Parse rejects every call: a bad
// reload fails closed rather than running on stale or partial settings.
func (o *okta) Configure(_ context.Context, settings map[string]string) error {
	oauth, problems := o.oauthFrom(settings)
	var secret auth.Rotation
	if !oauthSet(settings) || strings.TrimSpace(settings[settingSecret]) != "" || strings.TrimSpace(settings[settingPrevious]) != "" {
		var p []string
		secret, p = auth.RotatingSecret(settings, minSecretLen,
			"the Authentication secret configured on the Okta inline hook (or configure OAuth 2.0 with "+settingIssuer+")",
			settingPrevious, settingSecret)
		problems = append(problems, p...)
	}
	length, p := otp.Length(settings, settingLength, "Okta's code length")
	if p != "" {
		problems = append(problems, p)
	}

	header := strings.TrimSpace(settings[settingHeader])
	if header == "" {
		header = defaultAuthHeader
	} else if !auth.ValidHeaderName(header) {
		problems = append(problems, fmt.Sprintf("%s %q is not a valid HTTP header name: use letters, digits and '-' only, e.g. %s or X-Okta-Secret", settingHeader, header, defaultAuthHeader))
	}
	region, p := phone.RegionFrom(settings)
	if p != "" {
		problems = append(problems, p)
	}

	if len(problems) > 0 {
		o.cfg.Store(nil)
		return &bridge.ConfigError{Problems: problems}
	}
	o.cfg.Store(&config{secret: secret, header: header, region: region, length: length, oauth: oauth})
	if oauth != nil {
		// Fetch the keys now, so that the first hook does not wait for them.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = oauth.Refresh(ctx)
		}()
	}
	return nil
}

// oauthSet reports whether any OAuth 2.0 setting is set.
func oauthSet(settings map[string]string) bool {
	for _, n := range []string{settingIssuer, settingAudience, settingClientID, settingScope, settingJWKS} {
		if strings.TrimSpace(settings[n]) != "" {
			return true
		}
	}
	return false
}

// oauthFrom reads the OAuth 2.0 settings: nil when none is set.
func (o *okta) oauthFrom(settings map[string]string) (*auth.OAuth, []string) {
	get := func(n string) string { return strings.TrimSpace(settings[n]) }
	issuer := get(settingIssuer)
	if !oauthSet(settings) {
		return nil, nil
	}
	var problems []string
	if issuer == "" {
		return nil, []string{settingIssuer + " is required when any " + "OKTA_OAUTH_ setting is set: the Issuer of the custom " +
			"authorization server (Security > API > Authorization Servers)"}
	}
	if !strings.Contains(issuer, "/oauth2/") {
		problems = append(problems, settingIssuer+" must be a custom authorization server's issuer, https://<your Okta domain>/oauth2/<server id> "+
			"(e.g. /oauth2/default): tokens of Okta's org authorization server cannot be verified (Okta does not publish its keys)")
	}
	for _, n := range []string{settingAudience, settingClientID, settingScope} {
		if get(n) == "" {
			problems = append(problems, n+" is required with "+settingIssuer)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	v, err := auth.NewOAuth(auth.OAuthConfig{Issuer: issuer, Audience: get(settingAudience), ClientID: get(settingClientID),
		Scope: get(settingScope), JWKSURL: get(settingJWKS), Client: o.httpClient, Now: o.now,
		// Okta waits 3 s in all: a fetch of keys must leave time for the rest.
		FetchTimeout: time.Second})
	if err != nil {
		return nil, []string{"OAuth 2.0 settings (" + settingIssuer + ", " + settingJWKS + ", ...): " + err.Error()}
	}
	return v, nil
}

// hookRequest holds the parts of Okta's telephony payload the bridge reads.
// Every value Okta sends is a string; a value of another JSON type is a
// malformed request. Fields not declared here are ignored whatever their type.
type hookRequest struct {
	EventID   string    `json:"eventId"`
	EventType *string   `json:"eventType"`
	Data      *hookData `json:"data"`
}

type hookData struct {
	MessageProfile *messageProfile `json:"messageProfile"`
}

type messageProfile struct {
	MsgTemplate     string `json:"msgTemplate"`
	PhoneNumber     string `json:"phoneNumber"`
	OTPExpires      string `json:"otpExpires"`
	DeliveryChannel string `json:"deliveryChannel"`
	OTPCode         string `json:"otpCode"`
	Locale          string `json:"locale"`
}

func (o *okta) Parse(ctx context.Context, req *bridge.Request) (*bridge.ParseResult, error) {
	cfg := o.cfg.Load()
	// reject answers with a 4xx: only for the call itself (authentication,
	// method, media type, a body that is not one readable JSON object). Okta
	// reads any non-200 as "the hook failed" and asks that HTTP errors be kept
	// for requests the service could not parse.
	reject := func(status int, reason bridge.Reason, text string) (*bridge.ParseResult, error) {
		return bridge.Reject(reason, failure(cfg, status, summaryRejected, reason, text, 0)), nil
	}
	// refuse answers a request Okta sent and SMS+ read but will not serve (no
	// phone, no code, a number that is not one) with HTTP 200 and Okta's error
	// object, as Okta asks for business errors. Okta then fails over to its
	// own providers all the same, unless Okta support turned failover off.
	refuse := func(reason bridge.Reason, text string) (*bridge.ParseResult, error) {
		return bridge.Reject(reason, failure(cfg, http.StatusOK, summaryRejected, reason, text, 0)), nil
	}
	if req == nil {
		return reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadJSON)
	}
	if req.Method != http.MethodPost {
		return reject(http.StatusMethodNotAllowed, bridge.ReasonMethod, msgMethod)
	}

	// Authenticate before looking at the body.
	if cfg == nil {
		return reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgNotConfigured)
	}
	if !o.authentic(ctx, cfg, req) {
		return reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgUnauthorized)
	}

	if len(req.Body) > maxBody {
		return reject(http.StatusRequestEntityTooLarge, bridge.ReasonBodyTooLarge, msgTooLarge)
	}
	// Okta always labels its JSON application/json; anything else was not sent
	// by Okta's hook client.
	if payload.RequireJSON(req) != nil {
		return reject(http.StatusUnsupportedMediaType, bridge.ReasonMediaType, msgMediaType)
	}
	var hr hookRequest
	switch err := payload.JSON(req.Body, &hr); {
	case errors.Is(err, payload.ErrNotUTF8):
		return reject(http.StatusBadRequest, bridge.ReasonMalformed, msgNotUTF8)
	case errors.Is(err, payload.ErrNotObject):
		return reject(http.StatusBadRequest, bridge.ReasonMalformed, msgNotObject)
	case errors.Is(err, payload.ErrDuplicate):
		return reject(http.StatusBadRequest, bridge.ReasonMalformed, msgDuplicate)
	case err != nil:
		return reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadJSON)
	}

	if hr.EventType != nil && *hr.EventType != eventTypeTelephony {
		return reject(http.StatusBadRequest, bridge.ReasonMalformed, msgEventType)
	}
	if hr.Data == nil || hr.Data.MessageProfile == nil {
		return refuse(bridge.ReasonMissingField, msgNoProfile)
	}
	mp := hr.Data.MessageProfile

	if strings.TrimSpace(mp.PhoneNumber) == "" {
		return refuse(bridge.ReasonMissingField, msgNoPhone)
	}
	// Okta's own samples omit the + ("9876543210").
	e164, err := phone.Normalize(mp.PhoneNumber, cfg.region)
	if err != nil {
		return refuse(bridge.ReasonInvalidPhone, msgBadPhone)
	}

	channel := bridge.ChannelSMS
	if ch := strings.TrimSpace(mp.DeliveryChannel); ch != "" && !strings.EqualFold(ch, "sms") {
		// Okta has documented voice as "CALL", "voice call" and "SMS or voice".
		channel = bridge.ChannelVoice
	}

	// otpCode is the source of truth; the template is a conservative fallback.
	code := strings.TrimSpace(mp.OTPCode)
	if code == "" {
		var ok bool
		if code, ok = otp.FromTextLength(mp.MsgTemplate, cfg.length); !ok {
			if channel != bridge.ChannelVoice {
				return refuse(bridge.ReasonMissingField, msgNoOTP)
			}
			// A voice request without a readable code still reaches the host,
			// whose voice policy answers it (bridge.FeatureVoiceWithoutCode).
			code = ""
		}
	}
	if code != "" && !otp.Valid(code) {
		return refuse(bridge.ReasonInvalidOTP, msgBadOTP)
	}

	// otpExpires bounds the link: SMS+ never shows a code Okta no longer takes.
	// An unreadable expiry is left out (the host's own TTL applies).
	var expires time.Time
	if t, err := time.Parse(time.RFC3339, strings.TrimSpace(mp.OTPExpires)); err == nil {
		expires = t.UTC()
	}

	// Okta's Admin Console preview (a .../generatePreview request URL) expects a
	// real send, and gets one.
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{
		Phone:         e164,
		OTP:           code,
		Message:       mp.MsgTemplate,
		Channel:       channel,
		Locale:        strings.TrimSpace(mp.Locale),
		ExpiresAt:     expires,
		TransactionID: strings.TrimSpace(hr.EventID),
	}}, nil
}

// authentic checks the hook's credentials: with OAuth 2.0 configured, a bearer
// JWT in Authorization verified against the authorization server's keys; with
// a shared secret, the configured header carrying it (or, during a rotation,
// the previous one). With both configured (a migration), a bearer token shaped
// as a JWT is an OAuth token, anything else the header secret.
func (o *okta) authentic(ctx context.Context, cfg *config, req *bridge.Request) bool {
	if cfg.oauth != nil {
		if tok, ok := auth.BearerToken(req.Header("Authorization")); ok && auth.LooksLikeJWT(tok) {
			return cfg.oauth.Verify(ctx, tok) == nil
		}
		if cfg.secret.Current() == "" {
			return false
		}
	}
	return cfg.secret.HeaderSecret(strings.TrimSpace(req.Header(cfg.header)))
}

// Okta's answer shapes (telephony hook reference). Only type and
// value[].status are required by Okta; the rest are optional strings.
type actionAnswer struct {
	Commands     []command     `json:"commands"`
	DebugContext *debugContext `json:"debugContext,omitempty"`
}

// debugContext is copied by Okta into the System Log event
// inline_hook.response.processed, so an admin can read what SMS+ did there.
// Strings only; never a code, a phone number or a link.
type debugContext struct {
	Outcome       string `json:"smsplusOutcome"`
	Reason        string `json:"smsplusReason,omitempty"`
	TransactionID string `json:"smsplusTransactionId,omitempty"`
	DurationMs    string `json:"smsplusDurationMs,omitempty"`
}

func debugOf(kind string, reason bridge.Reason, txn string, d time.Duration) *debugContext {
	dc := &debugContext{Outcome: kind, TransactionID: txn}
	if reason != bridge.ReasonUnspecified {
		dc.Reason = reason.String()
	}
	if d > 0 {
		dc.DurationMs = strconv.FormatInt(d.Milliseconds(), 10)
	}
	return dc
}

type command struct {
	Type  string   `json:"type"`
	Value []action `json:"value"`
}

type action struct {
	Status              string `json:"status"`
	Provider            string `json:"provider,omitempty"`
	TransactionID       string `json:"transactionId,omitempty"`
	TransactionMetadata string `json:"transactionMetadata,omitempty"`
}

type errorAnswer struct {
	Error        errorObject   `json:"error"`
	DebugContext *debugContext `json:"debugContext,omitempty"`
}

type errorObject struct {
	ErrorSummary string       `json:"errorSummary"`
	ErrorCauses  []errorCause `json:"errorCauses"`
}

type errorCause struct {
	ErrorSummary string `json:"errorSummary"`
	Reason       string `json:"reason"`
	LocationType string `json:"locationType"`
	Location     string `json:"location"`
	Domain       string `json:"domain"`
}

// causeTexts are the fixed, value-free texts sent to Okta per reason code.
var causeTexts = map[bridge.Reason]string{
	bridge.ReasonUnauthorized:       "The authentication header is missing or wrong",
	bridge.ReasonMalformed:          "The request body is not a valid telephony hook payload",
	bridge.ReasonMissingField:       "A required field is missing",
	bridge.ReasonBodyTooLarge:       "The request body is too large",
	bridge.ReasonMethod:             "Only POST is accepted",
	bridge.ReasonInvalidPhone:       "The phone number is not a valid destination",
	bridge.ReasonInvalidOTP:         "The one-time passcode is not 4 to 10 digits",
	bridge.ReasonUnsupportedChannel: "The delivery channel is not supported",
	bridge.ReasonSMSFailed:          "The SMS provider did not accept the message",
	bridge.ReasonDeadline:           "Delivery did not finish in time",
	bridge.ReasonOverloaded:         "SMS+ is overloaded",
	bridge.ReasonUnavailable:        "The Okta bridge is unavailable",
	bridge.ReasonInternal:           "SMS+ had an internal error",
	bridge.ReasonRateLimited:        "Too many requests for this destination",
	bridge.ReasonBiometricsOff:      "Biometric verification is unavailable",
	bridge.ReasonMediaType:          "The content type must be application/json",
	bridge.ReasonRequestTimeout:     "The request body did not arrive in time",
	bridge.ReasonNotOTP:             "The message carries no one-time passcode",
	bridge.ReasonOTPExpired:         "The one-time passcode expires too soon to be delivered",

	bridge.ReasonDestinationRefused: "SMS+ does not text this type of number (premium rate, unassigned, satellite or similar)",
	bridge.ReasonCountryNotAllowed:  "SMS+ does not text this country",
}

const (
	summaryFailed   = "SMS+ could not deliver the one-time passcode"
	summaryRejected = "SMS+ rejected the telephony hook request"
	causeUnknown    = "SMS+ could not complete the request"
)

// Respond renders the outcome as Okta's answer. Business failures are HTTP 200
// with Okta's error object, as Okta asks; only the host's refusals of the call
// itself (body too large, too slow, unreadable) carry a 4xx status. Texts are
// fixed and never hold the OTP, the phone number or the link. Every answer
// carries a debugContext for Okta's System Log.
func (o *okta) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	if out == nil {
		out = &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonInternal}
	}
	switch out.Kind {
	case bridge.OutcomeDelivered:
		return success("SUCCESSFUL", out, metadata("", out.Duration))
	case bridge.OutcomeFallbackDelivered:
		return success("SUCCESSFUL", out, metadata("fallback", out.Duration))
	case bridge.OutcomeTestOK:
		return success("SUCCESSFUL", out, "path=test")
	case bridge.OutcomePending:
		return success("PENDING", out, metadata("", out.Duration))
	case bridge.OutcomeWithheld:
		// Fail closed: SUCCESSFUL is the one answer that keeps Okta from
		// delivering the raw code through its own providers. Nothing was sent.
		return success("SUCCESSFUL", out, metadata("withheld", out.Duration))
	case bridge.OutcomeRejected:
		reason := answer.Failure(out)
		return failure(o.cfg.Load(), rejectionStatus(reason), summaryRejected, reason, "", out.Duration), nil
	default: // OutcomeFailed, and anything the host should not have sent
		reason := bridge.ReasonInternal
		if out.Kind == bridge.OutcomeFailed {
			reason = answer.Failure(out)
		}
		return failure(o.cfg.Load(), http.StatusOK, summaryFailed, reason, "", out.Duration), nil
	}
}

// metadata is the transactionMetadata Okta logs: the path taken, if not the
// usual one, and the time the hook took, when known (an answer rendered ahead,
// with Parse, does not know it yet).
func metadata(path string, d time.Duration) string {
	var parts []string
	if path != "" {
		parts = append(parts, "path="+path)
	}
	if d > 0 {
		parts = append(parts, fmt.Sprintf("duration=%dms", d.Milliseconds()))
	}
	return strings.Join(parts, " ")
}

func success(status string, out *bridge.Outcome, meta string) (*bridge.Response, error) {
	var reason bridge.Reason
	if out.Kind == bridge.OutcomeWithheld {
		reason = answer.Failure(out)
	}
	return answer.JSON(http.StatusOK, actionAnswer{Commands: []command{{
		Type: actionType,
		Value: []action{{
			Status:              status,
			Provider:            provider,
			TransactionID:       out.TransactionID,
			TransactionMetadata: meta,
		}},
	}}, DebugContext: debugOf(out.Kind.String(), reason, out.TransactionID, out.Duration)})
}

// failure renders Okta's error object: text when given (Parse's own texts name
// the field at fault), else the fixed text for the reason.
func failure(cfg *config, status int, summary string, reason bridge.Reason, text string, d time.Duration) *bridge.Response {
	if text == "" {
		if text = causeTexts[reason]; text == "" {
			text = causeUnknown
		}
	}
	cause := errorCause{
		ErrorSummary: text,
		Reason:       strings.ToUpper(reason.String()),
		LocationType: "body",
		Location:     "data.messageProfile",
		Domain:       errorDomain,
	}
	if reason == bridge.ReasonUnauthorized {
		cause.LocationType = "header"
		cause.Location = defaultAuthHeader
		if cfg != nil {
			cause.Location = cfg.header
		}
	}
	kind := bridge.OutcomeFailed.String()
	if summary == summaryRejected {
		kind = bridge.OutcomeRejected.String()
	}
	resp, err := answer.JSON(status, errorAnswer{Error: errorObject{ErrorSummary: summary, ErrorCauses: []errorCause{cause}},
		DebugContext: debugOf(kind, reason, "", d)})
	if err != nil {
		panic(err) // fixed strings always encode
	}
	if status == http.StatusMethodNotAllowed {
		resp.Headers = append(resp.Headers, bridge.Header{Name: "Allow", Values: []string{http.MethodPost}})
	}
	return resp
}

// rejectionStatus is the status of the host's refusal of a call.
func rejectionStatus(r bridge.Reason) int {
	switch r {
	case bridge.ReasonUnauthorized:
		return http.StatusUnauthorized
	case bridge.ReasonBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case bridge.ReasonMethod:
		return http.StatusMethodNotAllowed
	case bridge.ReasonRequestTimeout:
		return http.StatusRequestTimeout
	case bridge.ReasonMediaType:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadRequest
}
