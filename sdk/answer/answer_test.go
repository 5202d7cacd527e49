package answer

import (
	"encoding/json"
	"testing"

	"github.com/smsplus/smsplus/sdk/bridge"
)

func TestStatus(t *testing.T) {
	t.Parallel()
	for r, want := range map[bridge.Reason]int{
		bridge.ReasonUnauthorized: 401, bridge.ReasonMalformed: 400, bridge.ReasonMissingField: 400, bridge.ReasonMethod: 405,
		bridge.ReasonBodyTooLarge: 413, bridge.ReasonMediaType: 415, bridge.ReasonRequestTimeout: 408,
		bridge.ReasonInvalidPhone: 422, bridge.ReasonInvalidOTP: 422, bridge.ReasonUnsupportedChannel: 422, bridge.ReasonNotOTP: 422,
		bridge.ReasonOTPExpired: 422, bridge.ReasonRateLimited: 429, bridge.ReasonSMSFailed: 502, bridge.ReasonDeadline: 504,
		bridge.ReasonOverloaded: 503, bridge.ReasonUnavailable: 503, bridge.ReasonBiometricsOff: 503, bridge.ReasonInternal: 500,
		bridge.Reason(99): 500, bridge.ReasonUnspecified: 500,
		// The destination will be refused again: 4xx, the vendor must not retry.
		bridge.ReasonDestinationRefused: 422, bridge.ReasonCountryNotAllowed: 422,
	} {
		if got := Status(r); got != want {
			t.Errorf("Status(%s) = %d, want %d", r, got, want)
		}
	}
	if Retryable(bridge.ReasonInvalidPhone) || !Retryable(bridge.ReasonSMSFailed) || !Retryable(bridge.ReasonRateLimited) ||
		Retryable(bridge.ReasonDestinationRefused) || Retryable(bridge.ReasonCountryNotAllowed) || Retryable(bridge.ReasonOTPExpired) {
		t.Error("Retryable")
	}
	// Every reason has a text of its own.
	seen := map[string]bridge.Reason{}
	for _, r := range bridge.Reasons() {
		text := Text(r)
		if text == Text(bridge.Reason(99)) {
			t.Errorf("Text(%s) is the generic text", r)
		}
		if o, dup := seen[text]; dup {
			t.Errorf("Text(%s) = Text(%s)", r, o)
		}
		seen[text] = r
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

func TestReject(t *testing.T) {
	t.Parallel()
	res := Reject(400, bridge.ReasonMissingField, "recipient is required")
	rj := res.Rejection
	if res.OTP != nil || res.TestPing != nil || rj == nil || rj.Reason != bridge.ReasonMissingField || rj.Response.Status != 400 {
		t.Fatalf("Reject = %+v", res)
	}
	if want := `{"status":"rejected","error":"missing_field","message":"recipient is required","retryable":false}`; string(rj.Response.Body) != want {
		t.Fatalf("body %s, want %s", rj.Response.Body, want)
	}
}

func TestByStatus(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		out    *bridge.Outcome
		status int
		want   string
	}{
		"delivered": {out: &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: "sp_1"}, status: 200,
			want: `{"status":"delivered","transactionId":"sp_1"}`},
		"test ok": {out: &bridge.Outcome{Kind: bridge.OutcomeTestOK}, status: 200, want: `{"status":"test_ok"}`},
		"failed sms": {out: &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonSMSFailed}, status: 502,
			want: `{"status":"failed","error":"sms_failed","message":"The SMS provider did not accept the message.","retryable":true}`},
		"failed voice": {out: &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonUnsupportedChannel}, status: 422,
			want: `{"status":"failed","error":"unsupported_channel","message":"SMS+ delivers codes by SMS only: a link cannot be spoken.","retryable":false}`},
		"failed expired": {out: &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonOTPExpired}, status: 422,
			want: `{"status":"failed","error":"otp_expired","message":"The one-time code expires too soon to be delivered.","retryable":false}`},
		"rejected by the host": {out: &bridge.Outcome{Kind: bridge.OutcomeRejected, Reason: bridge.ReasonBodyTooLarge}, status: 413,
			want: `{"status":"rejected","error":"body_too_large","message":"The request body is too large.","retryable":false}`},
		"rejected, body too slow": {out: &bridge.Outcome{Kind: bridge.OutcomeRejected, Reason: bridge.ReasonRequestTimeout}, status: 408,
			want: `{"status":"rejected","error":"request_timeout","message":"The request body did not arrive in time.","retryable":false}`},
		"failed destination": {out: &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonDestinationRefused}, status: 422,
			want: `{"status":"failed","error":"destination_refused","message":"SMS+ does not text this type of number (premium rate, unassigned, satellite or similar).","retryable":false}`},
		"failed country": {out: &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonCountryNotAllowed}, status: 422,
			want: `{"status":"failed","error":"country_not_allowed","message":"SMS+ does not text this country.","retryable":false}`},
		"failed, reason from a newer host": {out: &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.Reason(99)}, status: 500,
			want: `{"status":"failed","error":"internal_error","message":"SMS+ had an internal error.","retryable":true}`},
		"unspecified": {out: &bridge.Outcome{Reason: bridge.ReasonSMSFailed}, status: 500,
			want: `{"status":"failed","error":"internal_error","message":"SMS+ had an internal error.","retryable":true}`},
		"nil": {out: nil, status: 500, want: `{"status":"failed","error":"internal_error","message":"SMS+ had an internal error.","retryable":true}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := ByStatus(tc.out)
			if err != nil || r.Status != tc.status || string(r.Body) != tc.want {
				t.Fatalf("ByStatus = %d %s, %v; want %d %s", r.Status, r.Body, err, tc.status, tc.want)
			}
		})
	}
}
