package host

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/smsplus/smsplus/host/internal/config"
	"github.com/smsplus/smsplus/host/internal/sms"
)

// httpConfig is the request template of an http, vonage or telnyx provider:
// the shipped one (sms.HTTPPreset) or the operator's, with the provider's
// secrets, sender and receipt keys. Receipts are asked for (the callback)
// only when SMS_RECEIPTS is on and the provider can authenticate them. A
// problem of its own (the base URL) does not stop the template's checks.
func httpConfig(cfg *config.Config, p config.SMSProvider) (hc sms.HTTPConfig, problem error) {
	h := p.HTTP
	hc, preset := sms.HTTPPreset(p.Type)
	if preset {
		if h.APIBaseURL != "" {
			u, err := rebase(hc.URL, h.APIBaseURL)
			if err != nil {
				problem = fmt.Errorf("%sAPI_BASE_URL: must be an absolute URL without path, query or fragment, such as https://api.example.com", p.Prefix)
			} else {
				hc.URL = u
			}
		}
		// Without its key a provider's receipts cannot be told from forged
		// ones: then it reads none (and asks for none).
		switch {
		case hc.Receipts.Kind == "vonage" && h.SignatureSecret != "":
			hc.Receipts.SignatureSecret = h.SignatureSecret
			if h.SignatureMethod != "" {
				hc.Receipts.SignatureMethod = h.SignatureMethod
			}
		case hc.Receipts.Kind == "telnyx" && h.PublicKey != "":
			hc.Receipts.PublicKey = h.PublicKey
		default:
			hc.Receipts = sms.HTTPReceipts{}
		}
	} else {
		hc = sms.HTTPConfig{
			Method: h.Method, URL: h.URL, Headers: h.Headers, BodyFormat: h.BodyFormat, Body: h.Body,
			TextTypeGSM7: h.TextTypeGSM7, TextTypeUnicode: h.TextTypeUnicode,
			SuccessStatus: h.SuccessStatus, SuccessPath: h.SuccessPath, SuccessValue: h.SuccessValue,
			PermanentValues: h.PermanentValues, IDPath: h.IDPath, ErrorPath: h.ErrorPath, PermanentCodes: h.PermanentCodes,
			Receipts: sms.HTTPReceipts{Kind: h.ReceiptFormat, SignatureSecret: h.SignatureSecret,
				SignatureMethod: h.SignatureMethod, PublicKey: h.PublicKey},
		}
		if hc.Receipts.Kind == "vonage" && hc.Receipts.SignatureMethod == "" {
			hc.Receipts.SignatureMethod = "md5hash" // Vonage's default
		}
	}
	hc.Name = p.Name
	hc.Secrets = h.Secrets
	params := map[string]string{}
	for k, v := range hc.Params {
		params[k] = v
	}
	for k, v := range h.Params {
		params[k] = v
	}
	hc.Params = params
	hc.From, hc.Timeout = h.From, h.Timeout
	if cfg.SMSRouting.Receipts && hc.Receipts.Kind != "" {
		hc.Callback = receiptsURL(cfg, p)
	}
	return hc, problem
}

// rebase puts the scheme and host of base in front of the path and query of
// api: https://rest.nexmo.com/sms/json on http://127.0.0.1:8080.
func rebase(api, base string) (string, error) {
	b, err := url.Parse(base)
	if err != nil || b.Scheme == "" || b.Host == "" || strings.Trim(b.Path, "/") != "" || b.RawQuery != "" || b.Fragment != "" || b.User != nil {
		return "", errors.New("not a base URL")
	}
	a, err := url.Parse(api)
	if err != nil {
		return "", err
	}
	a.Scheme, a.Host = b.Scheme, b.Host
	return a.String(), nil
}

// httpField is the start of a problem sms.NewHTTP reports: "sms provider
// NAME: " then the field it is about.
var (
	httpField     = regexp.MustCompile(`^sms provider [^:]+: (receipts: )?([a-z0-9_, ]+): (.*)$`)
	missingSecret = regexp.MustCompile(`\{\{secret\.([A-Za-z0-9_-]+)\}\} names no secret`)
	secretField   = regexp.MustCompile(`^sms provider [^:]+: secrets: ([A-Za-z0-9_-]+): (.*)$`)
	snsField      = regexp.MustCompile(`^sns: ([a-z_]+): (.*)$`)
)

// httpProblems names each problem of an http provider by its setting
// (VONAGE_API_KEY: is required), each once.
func httpProblems(err error, p config.SMSProvider) error {
	_, preset := sms.HTTPPreset(p.Type)
	var out []string
	for _, e := range split(err) {
		msg := e.Error()
		if m := missingSecret.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("%s%s: is required (the request template uses {{secret.%s}})", p.Prefix, secretSetting(m[1]), m[1])
		} else if m := secretField.FindStringSubmatch(msg); m != nil {
			msg = p.Prefix + secretSetting(m[1]) + ": " + m[2]
		} else {
			msg = settingProblem(msg, p, httpField, func(field string, receipts bool) string {
				return httpSetting(field, receipts, preset)
			})
		}
		if !slices.Contains(out, msg) {
			out = append(out, msg)
		}
	}
	return joinStrings(out)
}

// secretSetting is the setting word of a template's secret (config.HTTP).
func secretSetting(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// httpSetting is the setting word (after the prefix) of a field of
// sms.HTTPConfig, or "" when the operator sets no such setting.
func httpSetting(field string, receipts, preset bool) string {
	if receipts {
		switch field {
		case "kind":
			if preset {
				return ""
			}
			return "RECEIPT_FORMAT"
		case "signature_secret", "signature_method", "public_key":
			return strings.ToUpper(field)
		}
		return ""
	}
	switch field {
	case "from":
		return "FROM"
	case "timeout":
		return "TIMEOUT_MS"
	case "callback":
		return "=BASE_URL" // not the provider's own
	case "url":
		if preset {
			return "API_BASE_URL"
		}
	}
	if preset {
		return ""
	}
	return strings.ToUpper(field) // "text_type_gsm7, text_type_unicode" names two
}

// snsProblems names each problem of an sns provider by its setting
// (SNS_REGION: must be an AWS region...).
func snsProblems(err error, p config.SMSProvider) error {
	var out []string
	for _, e := range split(err) {
		out = append(out, settingProblem(e.Error(), p, snsField, func(field string, _ bool) string {
			if field == "timeout" {
				return "TIMEOUT_MS"
			}
			return strings.ToUpper(field)
		}))
	}
	return joinStrings(out)
}

// settingProblem rewrites a provider's problem about a field as a problem
// about its setting: re matches the field (group len-2) and the rest (last
// group); setting gives the setting word. A problem about no setting names
// the provider in SMS_PROVIDERS.
func settingProblem(msg string, p config.SMSProvider, re *regexp.Regexp, setting func(field string, receipts bool) string) string {
	m := re.FindStringSubmatch(msg)
	if m != nil {
		field, rest := m[len(m)-2], m[len(m)-1]
		receipts := len(m) == 4 && m[1] != ""
		if w := setting(field, receipts); w != "" {
			var names []string
			for _, f := range strings.Split(w, ", ") {
				if name, ok := strings.CutPrefix(f, "="); ok {
					names = append(names, name)
				} else {
					names = append(names, p.Prefix+f)
				}
			}
			return strings.Join(names, ", ") + ": " + rest
		}
	}
	return fmt.Sprintf("SMS_PROVIDERS: provider %s: %s", p.Name, strings.TrimPrefix(strings.TrimPrefix(msg, "sns: "), "sms provider "+p.Name+": "))
}

// joinStrings is one error per problem, nil for none.
func joinStrings(problems []string) error {
	var errs []error
	for _, p := range problems {
		errs = append(errs, errors.New(p))
	}
	return errors.Join(errs...)
}
