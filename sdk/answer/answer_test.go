package answer

import (
	"encoding/json"
	"testing"

	"github.com/smsplus/smsplus/sdk/bridge"
)

func TestStatus(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]int{
		bridge.CodeUnauthorized: 401, bridge.CodeMalformed: 400, bridge.CodeMissingField: 400, bridge.CodeMethod: 405,
		bridge.CodeBodyTooLarge: 413, bridge.CodeMediaType: 415, bridge.CodeInvalidPhone: 422, bridge.CodeInvalidOTP: 422,
		bridge.CodeUnsupported: 422, bridge.CodeNotOTP: 422, bridge.CodeRateLimited: 429, bridge.CodeSMSFailed: 502,
		bridge.CodeDeadline: 504, bridge.CodeOverloaded: 503, bridge.CodeUnavailable: 503, bridge.CodeStoreFailed: 503,
		bridge.CodeBiometricsOff: 503, bridge.CodeInternal: 500, "brand_new": 500, "": 500,
		// The destination will be refused again: 4xx, the vendor must not retry.
		bridge.CodeDestinationRefused: 422, bridge.CodeCountryNotAllowed: 422,
	} {
		if got := Status(code); got != want {
			t.Errorf("Status(%q) = %d, want %d", code, got, want)
		}
		if Text(code) == "" {
			t.Errorf("Text(%q) is empty", code)
		}
	}
	if Retryable(bridge.CodeInvalidPhone) || !Retryable(bridge.CodeSMSFailed) || !Retryable(bridge.CodeRateLimited) ||
		Retryable(bridge.CodeDestinationRefused) || Retryable(bridge.CodeCountryNotAllowed) {
		t.Error("Retryable")
	}
	for _, code := range []string{bridge.CodeDestinationRefused, bridge.CodeCountryNotAllowed} {
		if Text(code) == Text("brand_new") {
			t.Errorf("Text(%q) is the generic text", code)
		}
	}
	if got := RejectionStatus(&bridge.Outcome{Status: 200}, bridge.CodeUnauthorized); got != 401 {
		t.Errorf("RejectionStatus with 200 = %d", got)
	}
	if got := RejectionStatus(&bridge.Outcome{Status: 418}, bridge.CodeUnauthorized); got != 418 {
		t.Errorf("RejectionStatus with 418 = %d", got)
	}
}

func TestCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"sms_failed": "sms_failed", "": "x", "has space": "x", "UPPER": "x", "+14155550142": "x",
		"a_very_long_code_that_goes_on_and_on_and_on_and_on_and_on_and_on_and_on": "x",
	} {
		if got := Code(in, "x"); got != want {
			t.Errorf("Code(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	r, err := JSON(201, map[string]string{"status": "ok"})
	if err != nil || r.Status != 201 || !json.Valid(r.Body) || len(r.Headers) != 2 {
		t.Fatalf("JSON = %+v, %v", r, err)
	}
	if _, err := JSON(200, func() {}); err == nil {
		t.Fatal("JSON of a func succeeded")
	}
}

func TestByStatus(t *testing.T) {
	t.Parallel()
	own := map[string]bool{"recipient is required": true}
	tests := map[string]struct {
		out    *bridge.Outcome
		status int
		want   string
	}{
		"delivered": {out: &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: "sp_1", Message: "604913"}, status: 200,
			want: `{"status":"delivered","transactionId":"sp_1"}`},
		"test ok": {out: &bridge.Outcome{Kind: bridge.OutcomeTestOK}, status: 200, want: `{"status":"test_ok"}`},
		"failed sms": {out: &bridge.Outcome{Kind: bridge.OutcomeFailed, Code: bridge.CodeSMSFailed, Message: "to +14155550142"}, status: 502,
			want: `{"status":"failed","error":"sms_failed","message":"The SMS provider did not accept the message.","retryable":true}`},
		"failed voice": {out: &bridge.Outcome{Kind: bridge.OutcomeFailed, Code: bridge.CodeUnsupported}, status: 422,
			want: `{"status":"failed","error":"unsupported_channel","message":"SMS+ delivers codes by SMS only: a link cannot be spoken.","retryable":false}`},
		"rejected with own text": {out: &bridge.Outcome{Kind: bridge.OutcomeRejected, Code: bridge.CodeMissingField, Status: 400, Message: "recipient is required"}, status: 400,
			want: `{"status":"rejected","error":"missing_field","message":"recipient is required","retryable":false}`},
		"rejected 2xx status": {out: &bridge.Outcome{Kind: bridge.OutcomeRejected, Code: bridge.CodeUnauthorized, Status: 200}, status: 401,
			want: `{"status":"rejected","error":"unauthorized","message":"The credentials are missing or wrong.","retryable":false}`},
		"failed destination": {out: &bridge.Outcome{Kind: bridge.OutcomeFailed, Code: bridge.CodeDestinationRefused, Message: "+19002345678 is premium_rate"}, status: 422,
			want: `{"status":"failed","error":"destination_refused","message":"SMS+ does not text this type of number (premium rate, unassigned, satellite or similar).","retryable":false}`},
		"failed country": {out: &bridge.Outcome{Kind: bridge.OutcomeFailed, Code: bridge.CodeCountryNotAllowed}, status: 422,
			want: `{"status":"failed","error":"country_not_allowed","message":"SMS+ does not text this country.","retryable":false}`},
		"unspecified": {out: &bridge.Outcome{Code: bridge.CodeSMSFailed}, status: 500,
			want: `{"status":"failed","error":"internal_error","message":"SMS+ had an internal error.","retryable":true}`},
		"nil": {out: nil, status: 500, want: `{"status":"failed","error":"internal_error","message":"SMS+ had an internal error.","retryable":true}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := ByStatus(tc.out, own)
			if err != nil || r.Status != tc.status || string(r.Body) != tc.want {
				t.Fatalf("ByStatus = %d %s, %v; want %d %s", r.Status, r.Body, err, tc.status, tc.want)
			}
		})
	}
}
