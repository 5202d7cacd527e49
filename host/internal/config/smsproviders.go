package config

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The settings of the sns, http, vonage and telnyx providers, read under the
// provider's prefix (SNS_REGION, VONAGE_API_KEY, MYAPI_URL). This reader only
// reads and types them; the providers check what they mean (sms.NewSNS,
// sms.NewHTTP) and the host names each of their problems by its setting.

// SNS holds an Amazon SNS provider's settings (type sns).
type SNS struct {
	Region                                     string
	AccessKeyID, SecretAccessKey, SessionToken string
	SMSType                                    string // Transactional | Promotional; "": Transactional
	SenderID, OriginationNumber                string
	MaxPrice                                   string
	Endpoint                                   string // a VPC endpoint, or a fake in tests
	Timeout                                    time.Duration
}

// HTTP holds the settings of a provider that sends with one HTTP request per
// message: type http (the operator writes the request template) or a type
// whose template SMS+ ships (vonage, telnyx: HTTPPresets).
type HTTP struct {
	// The template, type http only.
	Method, URL       string
	Headers           map[string]string
	BodyFormat, Body  string
	TextTypeGSM7      string
	TextTypeUnicode   string
	SuccessStatus     []int
	SuccessPath       string
	SuccessValue      string
	PermanentValues   []string
	IDPath, ErrorPath string
	PermanentCodes    []string
	ReceiptFormat     string // vonage | telnyx | "": how receipts are signed

	// APIBaseURL replaces the scheme and host of a shipped template's URL (a
	// relay, or a fake in tests); vonage and telnyx only.
	APIBaseURL string
	// Secrets and Params are the values of the template's {{secret.NAME}} and
	// {{param.NAME}}, each read from the setting <PREFIX><NAME>.
	Secrets, Params map[string]string
	From            string
	Timeout         time.Duration
	// Receipt keys: Vonage's signature secret and method, Telnyx's public key.
	SignatureSecret, SignatureMethod, PublicKey string
}

// HTTPPresets are the provider types whose request template SMS+ ships
// (sms.HTTPPreset), with the secrets and params the operator supplies.
var HTTPPresets = map[string]struct{ Secrets, Params []string }{
	"vonage": {Secrets: []string{"api_key", "api_secret"}},
	"telnyx": {Secrets: []string{"api_key"}, Params: []string{"messaging_profile_id"}},
}

// IsHTTPType says whether providers of type typ send with sms.HTTP.
func IsHTTPType(typ string) bool {
	_, preset := HTTPPresets[typ]
	return typ == "http" || preset
}

// httpTemplateSettings are the settings of type http's template: a secret or
// param cannot be named like one of them.
var httpTemplateSettings = []string{"method", "url", "headers", "body_format", "body", "from", "text_type_gsm7",
	"text_type_unicode", "success_status", "success_path", "success_value", "permanent_values", "id_path",
	"error_path", "permanent_codes", "receipt_format", "signature_secret", "signature_method", "public_key",
	"timeout_ms", "api_base_url"}

// templateRef matches a secret or param placeholder of a request template.
var templateRef = regexp.MustCompile(`\{\{(secret|param)\.([A-Za-z0-9_-]+)\}\}`)

// snsAt reads an SNS provider's settings under prefix (sns_).
func (r *reader) snsAt(prefix string) SNS {
	return SNS{
		Region:            r.providerStr(prefix + "region"),
		AccessKeyID:       r.providerStr(prefix + "access_key_id"),
		SecretAccessKey:   r.fileSecret(prefix + "secret_access_key"),
		SessionToken:      r.fileSecret(prefix + "session_token"),
		SMSType:           r.providerStr(prefix + "sms_type"),
		SenderID:          r.providerStr(prefix + "sender_id"),
		OriginationNumber: r.providerStr(prefix + "origination_number"),
		MaxPrice:          r.providerStr(prefix + "max_price"),
		Endpoint:          r.providerStr(prefix + "endpoint"),
		Timeout:           r.providerTimeout(prefix),
	}
}

// httpAt reads the settings of a provider of type typ (http, vonage,
// telnyx) under prefix (vonage_).
func (r *reader) httpAt(prefix, typ string) HTTP {
	h := HTTP{
		Secrets: map[string]string{},
		Params:  map[string]string{},
		From:    r.providerStr(prefix + "from"),
		Timeout: r.providerTimeout(prefix),
	}
	var secrets, params []string
	if preset, ok := HTTPPresets[typ]; ok {
		h.APIBaseURL = r.providerStr(prefix + "api_base_url")
		secrets, params = preset.Secrets, preset.Params
		switch typ {
		case "vonage":
			h.SignatureSecret = r.fileSecret(prefix + "signature_secret")
			h.SignatureMethod = r.providerStr(prefix + "signature_method")
			if h.SignatureMethod != "" && h.SignatureSecret == "" {
				r.problem("%s: is only used with %s (Vonage signs its receipts with both)",
					envName(prefix+"signature_method"), envName(prefix+"signature_secret"))
			}
		case "telnyx":
			h.PublicKey = r.providerStr(prefix + "public_key")
		}
	} else {
		h.readTemplate(r, prefix)
		secrets, params = h.placeholders(r, prefix)
	}
	for _, name := range secrets {
		h.Secrets[name] = r.fileSecret(prefix + settingWord(name))
	}
	for _, name := range params {
		h.Params[name] = r.providerStr(prefix + settingWord(name))
	}
	return h
}

// readTemplate reads type http's request template and receipt settings.
func (h *HTTP) readTemplate(r *reader, prefix string) {
	h.Method = strings.ToUpper(r.providerStr(prefix + "method"))
	h.URL = r.providerStr(prefix + "url")
	if s := r.providerStr(prefix + "headers"); s != "" {
		if err := json.Unmarshal([]byte(s), &h.Headers); err != nil {
			r.problem(`%s: must be a JSON object of strings, such as {"Authorization":"Bearer {{secret.api_key}}"}`,
				envName(prefix+"headers"))
		}
	}
	h.BodyFormat = strings.ToLower(r.providerStr(prefix + "body_format"))
	h.Body = r.providerStr(prefix + "body")
	h.TextTypeGSM7 = r.providerStr(prefix + "text_type_gsm7")
	h.TextTypeUnicode = r.providerStr(prefix + "text_type_unicode")
	for _, s := range r.list(prefix + "success_status") {
		n, err := strconv.Atoi(s)
		if err != nil {
			r.problem("%s: must be HTTP statuses separated by commas (200,202), got %q", envName(prefix+"success_status"), s)
			continue
		}
		h.SuccessStatus = append(h.SuccessStatus, n)
	}
	h.SuccessPath = r.providerStr(prefix + "success_path")
	h.SuccessValue = r.providerStr(prefix + "success_value")
	h.PermanentValues = r.list(prefix + "permanent_values")
	h.IDPath = r.providerStr(prefix + "id_path")
	h.ErrorPath = r.providerStr(prefix + "error_path")
	h.PermanentCodes = r.list(prefix + "permanent_codes")
	h.ReceiptFormat = strings.ToLower(r.providerStr(prefix + "receipt_format"))
	h.SignatureSecret = r.fileSecret(prefix + "signature_secret")
	h.SignatureMethod = r.providerStr(prefix + "signature_method")
	h.PublicKey = r.providerStr(prefix + "public_key")
}

// placeholders are the names of the secrets and params the template uses,
// each once; a name that would be read from a template setting's name
// (MYAPI_URL for {{param.url}}) is a problem.
func (h *HTTP) placeholders(r *reader, prefix string) (secrets, params []string) {
	fields := []struct{ setting, text string }{{"url", h.URL}, {"body", h.Body}}
	for _, k := range slices.Sorted(maps.Keys(h.Headers)) {
		fields = append(fields, struct{ setting, text string }{"headers", h.Headers[k]})
	}
	for _, f := range fields {
		for _, m := range templateRef.FindAllStringSubmatch(f.text, -1) {
			kind, name := m[1], m[2]
			if slices.Contains(httpTemplateSettings, settingWord(name)) {
				r.problem("%s: {{%s.%s}} would be read from %s, a setting of the template: rename it",
					envName(prefix+f.setting), kind, name, envName(prefix+settingWord(name)))
				continue
			}
			list := &params
			if kind == "secret" {
				list = &secrets
			}
			if !slices.Contains(*list, name) {
				*list = append(*list, name)
			}
		}
	}
	for _, s := range secrets {
		if slices.Contains(params, s) {
			r.problem("%s: is both a {{secret.%s}} and a {{param.%s}} of the template", envName(prefix+settingWord(s)), s, s)
		}
	}
	return secrets, params
}

// settingWord is the setting word of a placeholder name: lower case, - as _.
func settingWord(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "-", "_")
}

// providerTimeout reads prefix+timeout_ms: 10 s when unset.
func (r *reader) providerTimeout(prefix string) time.Duration {
	if r.providerStr(prefix+"timeout_ms") == "" {
		return 10 * time.Second
	}
	return r.millis(prefix+"timeout_ms", 100, 120000)
}

// providerStr reads a provider's setting, from its X_FILE too (the load reads
// the files of the names it knows in advance only).
func (r *reader) providerStr(key string) string {
	r.fromFile(key)
	return r.str(key)
}

// fromFile sets key from the file key_FILE names, when that is set: the load
// reads the files of the names it knows in advance only.
func (r *reader) fromFile(key string) {
	r.read[key] = true
	v, set, problem := fromFile(r.raw, r.from, key)
	switch {
	case problem != "":
		r.problem("%s", problem)
	case set:
		r.raw[key] = v
	}
}
