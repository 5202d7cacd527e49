package httpapi

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/challenge"
	"github.com/smsplus/smsplus/host/internal/storage"
)

// apiError is the JSON error of the page API. Code keeps the Node SMS+ numbers
// (100-113) where a condition has one, so existing front ends keep working; Error
// is a stable name for the same condition; Message is a fixed text.
type apiError struct {
	Status          int    `json:"-"`
	Code            int    `json:"code"`
	Name            string `json:"error"`
	Message         string `json:"message"`
	TryAgainMinutes int    `json:"tryAgainMinutes,omitempty"`
	AttemptsLeft    int    `json:"attemptsLeft,omitempty"`
}

func (e *apiError) Error() string { return e.Name }

var (
	errMissingData   = &apiError{Status: 400, Code: 100, Name: "missing_required_data", Message: "Missing required data."}
	errBadJSON       = &apiError{Status: 400, Code: 100, Name: "malformed_request", Message: "The request body is not valid JSON of the expected shape."}
	errBadPattern    = &apiError{Status: 400, Code: 100, Name: "invalid_pattern", Message: "The typing pattern could not be read. Please type the phrase again."}
	errLinkInvalid   = &apiError{Status: 404, Code: 101, Name: "link_expired_or_invalid", Message: "This link is no longer valid."}
	errSessionLocked = &apiError{Status: 403, Code: 104, Name: "challenge_locked", Message: "This challenge link has been locked due to too many failed verifications."}
	errTextMismatch  = &apiError{Status: 400, Code: 113, Name: "text_id_mismatch", Message: "TextId not matching."}
	errTokenInvalid  = &apiError{Status: 404, Code: 101, Name: "token_expired_or_invalid", Message: "This link is no longer valid."}
	errPosition      = &apiError{Status: 400, Code: 108, Name: "incorrect_position", Message: "You are not typing in the recommended position. Please use both hands and refresh the page."}
	errPositionRetry = &apiError{Status: 400, Code: 109, Name: "incorrect_position_try_again", Message: "You are not typing in the recommended position. Please use both hands and try again."}
	errPhoneMismatch = &apiError{Status: 403, Code: 111, Name: "phone_number_mismatch", Message: "Phone number does not match."}
	errPhoneInvalid  = &apiError{Status: 400, Code: 112, Name: "phone_number_invalid", Message: "Phone number is invalid. Please enter it in international format."}
	errTooLarge      = &apiError{Status: 413, Code: 100, Name: "body_too_large", Message: "The request body is too large."}
	errMediaType     = &apiError{Status: 415, Code: 100, Name: "unsupported_media_type", Message: "Send the request as application/json."}
	errNotFound      = &apiError{Status: 404, Code: 404, Name: "not_found", Message: "Not found."}
	errMethod        = &apiError{Status: 405, Code: 405, Name: "method_not_allowed", Message: "Method not allowed."}
	errRateLimited   = &apiError{Status: 429, Code: 429, Name: "rate_limited", Message: "Too many requests from your network. Please wait a minute and try again."}
	errUnavailable   = &apiError{Status: 503, Code: 503, Name: "unavailable", Message: "The service is temporarily unavailable. Please try again."}
	errProofMissing  = &apiError{Status: 400, Code: 100, Name: "phrase_proof_required", Message: "The request does not say which text was typed (phraseProof)."}
	errPhrase        = &apiError{Status: 400, Code: 115, Name: "phrase_mismatch", Message: "The text typed is not the phrase shown."}
	errInternal      = &apiError{Status: 500, Code: 500, Name: "internal_error", Message: "Something went wrong on our side."}
)

// unknownDevice: code 114, a Node SMS+ code no one used. It counted as a failed
// attempt; attemptsLeft says what is left on this link.
func unknownDevice(e *challenge.UnknownDeviceError) *apiError {
	return &apiError{Status: 403, Code: 114, Name: "unknown_device", AttemptsLeft: e.AttemptsLeft,
		Message: "This phone or browser is not the one set up for typing protection; the code is shown only there."}
}

func userLocked(e *challenge.UserLockedError) *apiError {
	return &apiError{Status: 403, Code: 105, Name: "user_locked", Message: "Too many failed attempts. Try again later.", TryAgainMinutes: e.Minutes()}
}

// toAPIError maps any error to the public error, never leaking its text.
func toAPIError(err error) *apiError {
	var ae *apiError
	var locked *challenge.UserLockedError
	var unknown *challenge.UnknownDeviceError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &locked):
		return userLocked(locked)
	case errors.As(err, &unknown):
		return unknownDevice(unknown)
	case errors.Is(err, challenge.ErrPhraseProofMissing):
		return errProofMissing
	case errors.Is(err, challenge.ErrPhraseMismatch):
		return errPhrase
	case errors.Is(err, challenge.ErrNotFound):
		return errLinkInvalid
	case errors.Is(err, challenge.ErrChallengeLocked):
		return errSessionLocked
	case errors.Is(err, challenge.ErrTextMismatch):
		return errTextMismatch
	case errors.Is(err, challenge.ErrBadPattern):
		return errBadPattern
	case errors.Is(err, challenge.ErrTokenNotFound):
		return errTokenInvalid
	case errors.Is(err, challenge.ErrWrongPositionRetry):
		return errPositionRetry
	case errors.Is(err, challenge.ErrWrongPosition):
		return errPosition
	case errors.Is(err, challenge.ErrPhoneMismatch):
		return errPhoneMismatch
	case errors.Is(err, challenge.ErrInvalidPhone):
		return errPhoneInvalid
	case errors.Is(err, biometrics.ErrUnavailable):
		return errUnavailable
	case errors.Is(err, storage.ErrUnavailable):
		return errUnavailable
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusNotFound:
			return errNotFound
		case http.StatusMethodNotAllowed:
			return errMethod
		case http.StatusRequestEntityTooLarge:
			return errTooLarge
		}
		if he.Code >= 400 && he.Code < 500 {
			return &apiError{Status: he.Code, Code: he.Code, Name: "bad_request", Message: http.StatusText(he.Code)}
		}
	}
	return errInternal
}

// errorHandler is the one place errors become answers. Server faults are logged
// with their cause; clients only ever see the fixed public text.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	ae := toAPIError(err)
	if ae.Status >= 500 {
		s.log.Error("request failed", "request_id", requestID(c), "route", c.Path(), "err", err)
	}
	var werr error
	if c.Request().Method == http.MethodHead {
		werr = c.NoContent(ae.Status)
	} else {
		werr = c.JSON(ae.Status, ae)
	}
	if werr != nil {
		s.log.Debug("write error answer", "err", werr)
	}
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}
