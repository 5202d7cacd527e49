package httpapi

import (
	"context"
	"errors"
	"net/http"
	"os"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/smsplus/smsplus/host/internal/receipt"
	"github.com/smsplus/smsplus/host/internal/sms"
)

// Receipts acts on the SMS providers' delivery receipts (receipt.Tracker).
type Receipts interface {
	Handle(ctx context.Context, provider string, r *http.Request, body []byte, publicURL string) error
}

// receiptTimeout bounds the work on one status callback (two store calls).
const receiptTimeout = 5 * time.Second

// receiptAnswer is the JSON answer of the receipts route: a stable code and a
// fixed message, never the cause.
type receiptAnswer struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

var (
	receiptOK          = receiptAnswer{"ok", "Receipt accepted."}
	receiptNoProvider  = receiptAnswer{"unknown_provider", "No SMS provider of this name posts receipts here."}
	receiptRefused     = receiptAnswer{"receipt_refused", "The receipt is not authentic."}
	receiptUnreadable  = receiptAnswer{"receipt_unreadable", "The receipt could not be read."}
	receiptTooLarge    = receiptAnswer{"body_too_large", "The request body is too large."}
	receiptUnavailable = receiptAnswer{"unavailable", "The service is temporarily unavailable. Please try again."}
)

var providerParam = regexp.MustCompile(`^[a-z][a-z0-9]{0,19}$`)

// handleReceipt is POST (and GET, for providers that call back with a query
// string) /sms/receipts/{provider}: a provider's delivery status callback.
// Refused callbacks get 4xx with a stable code; a store that cannot be reached
// gets 503 so that a provider that retries tries again.
func (s *Server) handleReceipt(c echo.Context) error {
	provider := c.Param("provider")
	if s.Receipts == nil || !providerParam.MatchString(provider) {
		return c.JSON(http.StatusNotFound, receiptNoProvider)
	}
	body, err := s.readHookBody(c)
	switch {
	case errors.Is(err, errBodyTooLarge):
		return c.JSON(http.StatusRequestEntityTooLarge, receiptTooLarge)
	case errors.Is(err, os.ErrDeadlineExceeded), err != nil:
		return c.JSON(http.StatusBadRequest, receiptUnreadable)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), receiptTimeout)
	defer cancel()
	public := s.PublicBaseURL + c.Request().URL.RequestURI()
	err = s.Receipts.Handle(ctx, provider, c.Request(), body, public)
	switch {
	case err == nil:
		return c.JSON(http.StatusOK, receiptOK)
	case errors.Is(err, receipt.ErrUnknownProvider):
		return c.JSON(http.StatusNotFound, receiptNoProvider)
	case errors.Is(err, sms.ErrBadReceipt):
		s.log.Info("sms receipt refused", "provider", provider, "request_id", requestID(c), "err", err)
		return c.JSON(http.StatusForbidden, receiptRefused)
	case errors.Is(err, receipt.ErrUnreadable):
		s.log.Info("sms receipt unreadable", "provider", provider, "request_id", requestID(c), "err", err)
		return c.JSON(http.StatusBadRequest, receiptUnreadable)
	}
	s.log.Warn("sms receipt not recorded", "provider", provider, "request_id", requestID(c), "err", err)
	return c.JSON(http.StatusServiceUnavailable, receiptUnavailable)
}
