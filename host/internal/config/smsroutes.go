package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/smsplus/smsplus/sdk/phone"
)

// SMS routing (docs/sms.md): several named providers, a route per destination
// country, failover, circuit breakers, delivery receipts and re-sends.
//
//	SMS_PROVIDERS=twilio,backup:twilio,vonage,myapi:http   name[:type], type defaults to the name
//	BACKUP_ACCOUNT_SID=AC…                           a provider's settings: its name, upper case, then _
//	SMS_ROUTE_DEFAULT=twilio,backup                  default: every provider, in SMS_PROVIDERS order
//	SMS_ROUTE_GB=vonage,twilio                       one per ISO 3166 country code
//	SMS_SENDER_GB=SMSPlus                            the route's sender (Message.From)
//
// Without SMS_PROVIDERS, the one provider is SMS_PROVIDER's (twilio or
// console) with the TWILIO_* settings, exactly as before routing existed.

// SMSRouting is the SMS routing section.
type SMSRouting struct {
	// Providers in SMS_PROVIDERS order; without it, the one SMS_PROVIDER names.
	Providers []SMSProvider
	// Default is the route of destinations without one of their own.
	Default SMSRoute
	// Countries are the routes by ISO 3166 alpha-2 code (upper case).
	Countries map[string]SMSRoute

	// BreakerFailures transient failures in a row open a provider's circuit
	// for BreakerCooldown [SMS_BREAKER_FAILURES, SMS_BREAKER_COOLDOWN_MS].
	BreakerFailures int
	BreakerCooldown time.Duration

	// Receipts: providers that can are told to post delivery receipts to
	// BASE_URL/sms/receipts/{provider} [SMS_RECEIPTS, default true].
	Receipts bool
	// ResendUndelivered: a message reported undelivered within ResendWithin
	// of its send goes once more, through another provider of its route
	// [SMS_RESEND_UNDELIVERED, SMS_RESEND_WITHIN_SECONDS].
	ResendUndelivered bool
	ResendWithin      time.Duration
}

// SMSProvider is one named provider.
type SMSProvider struct {
	Name string // lower case: twilio, backup, vonage
	Type string // twilio | sns | http | console
	// Prefix starts the provider's settings: its name in upper case and "_"
	// (TWILIO_, BACKUP_).
	Prefix string
	// Twilio holds a twilio provider's settings.
	Twilio Twilio
	// SNS holds an sns provider's settings, HTTP those of an http, vonage or
	// telnyx provider (smsproviders.go).
	SNS  SNS
	HTTP HTTP
}

// SMSRoute is an ordered list of provider names and the route's sender.
type SMSRoute struct {
	Providers []string
	Sender    string // "" = each provider's default sender
}

// SMS provider types: vonage and telnyx are http providers whose request
// template SMS+ ships (HTTPPresets).
var providerTypes = []string{"twilio", "sns", "http", "vonage", "telnyx", "console"}

// NoAlphanumericSender are the countries where an alphanumeric sender id is
// not delivered (the carriers need a number): the US and Canada and the US
// territories sharing the +1 plan, and China. A starting point, not the whole
// list: providers publish per-country sender rules (docs/sms.md).
var NoAlphanumericSender = []string{"US", "CA", "PR", "VI", "GU", "AS", "MP", "CN"}

var (
	providerName = regexp.MustCompile(`^[a-z][a-z0-9]{0,19}$`)
	// senderShapes: an E.164 number, a short code, a Twilio messaging
	// service, or an alphanumeric sender id (up to 11 letters, digits and
	// spaces, at least one letter).
	shortCodeSender = regexp.MustCompile(`^[0-9]{3,8}$`)
	serviceSender   = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	alphaSender     = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	letter          = regexp.MustCompile(`[A-Za-z]`)
)

const (
	routePrefix  = "sms_route_"
	senderPrefix = "sms_sender_"
)

func (r *reader) smsRouting(legacy SMS) SMSRouting {
	c := SMSRouting{
		BreakerFailures:   r.int("sms_breaker_failures", 1, 1000),
		BreakerCooldown:   r.millis("sms_breaker_cooldown_ms", 1000, 3600000),
		Receipts:          r.bool("sms_receipts"),
		ResendUndelivered: r.bool("sms_resend_undelivered"),
		ResendWithin:      time.Duration(r.int("sms_resend_within_seconds", 10, 3600)) * time.Second,
		Countries:         map[string]SMSRoute{},
	}
	c.Providers = r.smsProviders(legacy)
	names := make([]string, 0, len(c.Providers))
	for _, p := range c.Providers {
		names = append(names, p.Name)
	}

	c.Default = SMSRoute{Providers: r.route(routePrefix+"default", names)}
	if len(c.Default.Providers) == 0 {
		c.Default.Providers = names
	}
	// Routes and senders by country: SMS_ROUTE_GB, SMS_SENDER_GB.
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range r.raw {
			if !yield(k) {
				return
			}
		}
	}) {
		var cc string
		var isRoute bool
		if rest, ok := strings.CutPrefix(key, routePrefix); ok && rest != "default" && !strings.HasSuffix(rest, fileSuffix) {
			cc, isRoute = rest, true
		} else if rest, ok := strings.CutPrefix(key, senderPrefix); ok && !strings.HasSuffix(rest, fileSuffix) {
			cc = rest
		} else {
			continue
		}
		r.read[key] = true
		code := strings.ToUpper(cc)
		if !country(code) {
			r.problem("%s: %q is not an ISO 3166 country code SMS+ can route (two letters, such as GB)", envName(key), code)
			continue
		}
		rt, ok := c.Countries[code]
		if !ok {
			rt.Providers = c.Default.Providers
		}
		if isRoute {
			if p := r.route(key, names); len(p) > 0 {
				rt.Providers = p
			}
		} else {
			rt.Sender = r.sender(key, code)
		}
		c.Countries[code] = rt
	}
	r.str(routePrefix + "default") // known even when unset
	r.telnyxSenders(c)
	if c.ResendUndelivered && len(names) < 2 {
		r.warn("SMS_RESEND_UNDELIVERED: a re-send goes through another provider of the route, and only one provider is set (SMS_PROVIDERS)")
	}
	return c
}

// smsProviders reads SMS_PROVIDERS, or makes SMS_PROVIDER the one provider.
func (r *reader) smsProviders(legacy SMS) []SMSProvider {
	list := r.list("sms_providers")
	if len(list) == 0 {
		p := SMSProvider{Name: legacy.SMSProvider, Type: legacy.SMSProvider, Prefix: "TWILIO_"}
		if p.Type == "twilio" {
			p.Twilio = legacy.Twilio
		}
		return []SMSProvider{p}
	}
	if _, set := r.from["sms_provider"]; set {
		r.warn("SMS_PROVIDER: ignored, SMS_PROVIDERS names the providers")
	}
	var out []SMSProvider
	for _, item := range list {
		name, typ, _ := strings.Cut(strings.ToLower(item), ":")
		if typ == "" {
			typ = name
		}
		switch {
		case !providerName.MatchString(name):
			r.problem("SMS_PROVIDERS: %q is not a provider name: a lower-case letter, then up to 19 letters and digits", name)
			continue
		case !slices.Contains(providerTypes, typ):
			r.problem("SMS_PROVIDERS: provider %s has type %q; the types are %s (name:type, e.g. backup:twilio)",
				name, typ, strings.Join(providerTypes, ", "))
			continue
		case name == "default":
			r.problem("SMS_PROVIDERS: default is the name of the default route, not a provider name")
			continue
		case slices.ContainsFunc(out, func(p SMSProvider) bool { return p.Name == name }):
			r.problem("SMS_PROVIDERS: provider %s is named twice", name)
			continue
		}
		p := SMSProvider{Name: name, Type: typ, Prefix: strings.ToUpper(name) + "_"}
		switch {
		case typ == "twilio" && name == "twilio":
			p.Twilio = legacy.Twilio // TWILIO_*, read and checked by the sms section
		case typ == "twilio":
			p.Twilio = r.twilioAt(name + "_")
		case typ == "sns":
			p.SNS = r.snsAt(name + "_")
		case IsHTTPType(typ):
			p.HTTP = r.httpAt(name+"_", typ)
		}
		out = append(out, p)
	}
	return out
}

// twilioAt reads a Twilio provider's settings under prefix (twilio_: the
// TWILIO_* settings of before). Its secrets may come from files like any
// other (BACKUP_AUTH_TOKEN_FILE).
func (r *reader) twilioAt(prefix string) Twilio {
	timeout := 10 * time.Second
	if r.raw[prefix+"timeout_ms"] != "" {
		timeout = r.millis(prefix+"timeout_ms", 100, 120000)
	}
	r.read[prefix+"timeout_ms"] = true
	return Twilio{
		AccountSID:          r.str(prefix + "account_sid"),
		APIKey:              r.str(prefix + "api_key"),
		APISecret:           r.fileSecret(prefix + "api_secret"),
		AuthToken:           r.fileSecret(prefix + "auth_token"),
		FromNumber:          r.str(prefix + "from_number"),
		MessagingServiceSID: r.str(prefix + "messaging_service_sid"),
		StatusCallback:      r.str(prefix + "status_callback"),
		Timeout:             timeout,
		Edge:                r.str(prefix + "edge"),
		Region:              r.str(prefix + "region"),
		BaseURL:             r.str(prefix + "api_base_url"),
	}
}

// fileSecret is a secret whose X_FILE the load did not read (its name depends
// on a provider's name): read it here.
func (r *reader) fileSecret(key string) string {
	r.fromFile(key)
	return r.secret(key)
}

// route reads a list of provider names; each must be in SMS_PROVIDERS.
func (r *reader) route(key string, names []string) []string {
	var out []string
	for _, p := range r.list(key) {
		p = strings.ToLower(p)
		switch {
		case !slices.Contains(names, p):
			r.problem("%s: unknown provider %q (SMS_PROVIDERS names %s)", envName(key), p, strings.Join(names, ", "))
		case slices.Contains(out, p):
			r.problem("%s: provider %s is named twice", envName(key), p)
		default:
			out = append(out, p)
		}
	}
	return out
}

// sender reads a route's sender for the country code.
func (r *reader) sender(key, code string) string {
	s := strings.TrimSpace(r.str(key))
	switch {
	case s == "":
	case phone.IsE164(s), shortCodeSender.MatchString(s), serviceSender.MatchString(s):
	case alphaSender.MatchString(s) && letter.MatchString(s):
		if slices.Contains(NoAlphanumericSender, code) {
			r.problem("%s: %s does not deliver texts from an alphanumeric sender id such as %q; use a number or a messaging service",
				envName(key), code, s)
		}
	default:
		r.problem("%s: must be an E.164 number, a short code, a messaging service (MG…) or an alphanumeric sender id (up to 11 letters, digits and spaces), got %q",
			envName(key), s)
	}
	return s
}

// country says whether code is a country libphonenumber knows.
func country(code string) bool {
	return len(code) == 2 && phonenumbers.GetCountryCodeForRegion(code) != 0
}

// telnyxSenders: Telnyx refuses a message with neither a sender nor a
// messaging profile, so a telnyx provider without either is a problem when a
// route without a sender of its own (SMS_SENDER_XX) uses it.
func (r *reader) telnyxSenders(c SMSRouting) {
	for _, p := range c.Providers {
		if p.Type != "telnyx" || p.HTTP.From != "" || p.HTTP.Params["messaging_profile_id"] != "" {
			continue
		}
		var where string
		if slices.Contains(c.Default.Providers, p.Name) {
			where = "the default route has no sender"
		} else {
			for _, code := range slices.Sorted(maps.Keys(c.Countries)) {
				rt := c.Countries[code]
				if rt.Sender == "" && slices.Contains(rt.Providers, p.Name) {
					where = fmt.Sprintf("SMS_ROUTE_%s has no SMS_SENDER_%s", code, code)
					break
				}
			}
		}
		if where != "" {
			r.problem("%sMESSAGING_PROFILE_ID, %sFROM: set one (%s); Telnyx refuses a message with neither", p.Prefix, p.Prefix, where)
		}
	}
}
