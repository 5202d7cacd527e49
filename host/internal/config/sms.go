package config

import (
	"strings"
	"time"
)

// SMS holds the SMS provider settings.
type SMS struct {
	SMSProvider string // console | twilio
	Twilio      Twilio
}

// Twilio holds the Twilio sender settings.
type Twilio struct {
	AccountSID          string
	APIKey              string
	APISecret           string
	AuthToken           string
	FromNumber          string
	MessagingServiceSID string
	StatusCallback      string
	Timeout             time.Duration
	Edge, Region        string
	BaseURL             string // a relay or a test fake instead of https://api.twilio.com
}

// sms reads the provider; without SMS_PROVIDER it is twilio when a Twilio
// account is set, else the console (development). The Twilio sender checks its
// own settings (every TWILIO_* problem at once, see sms.NewTwilio).
func (r *reader) sms() SMS {
	c := SMS{SMSProvider: strings.ToLower(r.str("sms_provider")), Twilio: r.twilio()}
	if c.SMSProvider == "" {
		c.SMSProvider = "console"
		if c.Twilio.AccountSID != "" {
			c.SMSProvider = "twilio"
		}
	}
	if c.SMSProvider != "console" && c.SMSProvider != "twilio" {
		r.problem("SMS_PROVIDER: must be twilio or console, got %q", c.SMSProvider)
	}
	return c
}

func (r *reader) twilio() Twilio {
	return Twilio{
		AccountSID:          r.str("twilio_account_sid"),
		APIKey:              r.str("twilio_api_key"),
		APISecret:           r.secret("twilio_api_secret"),
		AuthToken:           r.secret("twilio_auth_token"),
		FromNumber:          r.str("twilio_from_number"),
		MessagingServiceSID: r.str("twilio_messaging_service_sid"),
		StatusCallback:      r.str("twilio_status_callback"),
		Timeout:             r.millis("twilio_timeout_ms", 100, 120000),
		Edge:                r.str("twilio_edge"),
		Region:              r.str("twilio_region"),
		BaseURL:             r.str("twilio_api_base_url"),
	}
}
