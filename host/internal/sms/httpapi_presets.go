package sms

// HTTPPreset returns the tested template of a known SMS API, to which the
// operator adds the secrets, the params, the sender, the callback and the
// receipt keys (docs/sms-providers.md). ok is false for an unknown name.
//
//	vonage  Vonage (Nexmo) SMS API. Secrets api_key and api_secret.
//	telnyx  Telnyx Messaging API v2. Secret api_key; param
//	        messaging_profile_id (may be empty when From is set).
func HTTPPreset(name string) (cfg HTTPConfig, ok bool) {
	switch name {
	case "vonage":
		return HTTPConfig{
			Name:   "vonage",
			Method: "POST",
			URL:    "https://rest.nexmo.com/sms/json",
			// Vonage takes the number without its "+"; client-ref comes back in
			// the signed delivery receipt; callback overrides the dashboard's
			// delivery receipt URL for this message (without a query: Vonage
			// adds the receipt's parameters to it, and signs only those).
			BodyFormat: "form",
			Body: "api_key={{secret.api_key}}&api_secret={{secret.api_secret}}&to={{to_digits}}&from={{from}}" +
				"&text={{text}}&type={{text_type}}&client-ref={{reference}}&callback={{receipt_url}}&status-report-req=1",
			TextTypeGSM7:    "text",
			TextTypeUnicode: "unicode",
			// Vonage answers 200 whatever happened; messages[0].status "0" is
			// success. 6 (unroutable number), 7 (number barred) and 12 (message
			// too long) are about the message; 1 (throttled), 4 (bad
			// credentials), 5 (internal error), 9 (quota) and the rest are not.
			SuccessStatus:   []int{200},
			SuccessPath:     "messages.0.status",
			SuccessValue:    "0",
			PermanentValues: []string{"6", "7", "12"},
			IDPath:          "messages.0.message-id",
			ErrorPath:       "messages.0.status",
			Receipts:        HTTPReceipts{Kind: "vonage", SignatureMethod: "md5hash"},
		}, true
	case "telnyx":
		return HTTPConfig{
			Name:       "telnyx",
			Method:     "POST",
			URL:        "https://api.telnyx.com/v2/messages",
			Headers:    map[string]string{"Authorization": "Bearer {{secret.api_key}}"},
			BodyFormat: "json",
			// An empty from or messaging_profile_id is left out: Telnyx then
			// picks a number of the profile. webhook_url names this message's
			// receipt URL, which the signed webhooks repeat.
			Body:          `{"from":"{{from}}","to":"{{to}}","text":"{{text}}","messaging_profile_id":"{{param.messaging_profile_id}}","webhook_url":"{{callback}}"}`,
			Params:        map[string]string{"messaging_profile_id": ""},
			SuccessStatus: []int{200},
			IDPath:        "data.id",
			// Telnyx answers errors with an HTTP status (4xx: the request; 401,
			// 403 and 429: the account) and {"errors":[{"code":"40310",...}]}.
			ErrorPath: "errors.0.code",
			Receipts:  HTTPReceipts{Kind: "telnyx"},
		}, true
	}
	return HTTPConfig{}, false
}
