package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// The account routes keep the Node SMS+ field names: reset-account takes the
// challenge id and phone; reset-account-now takes the reset token as "cid" (or
// "resetNowTid") and the phone as "phoneNumber" (or "phone"); disable-account
// takes "disableTid" and "phone".

type resetRequest struct {
	CID   string `json:"cid"`
	Phone string `json:"phone"`
}

type resetNowRequest struct {
	CID         string `json:"cid"`
	ResetNowTid string `json:"resetNowTid"`
	PhoneNumber string `json:"phoneNumber"`
	Phone       string `json:"phone"`
}

type disableRequest struct {
	DisableTid string `json:"disableTid"`
	Phone      string `json:"phone"`
}

// accountResponse answers the account routes. For a scheduled reset it says when
// the reset takes effect: in minutes (rounded up, as the Node SMS+ does) and as
// an RFC 3339 time, which the page shows in the user's own clock.
type accountResponse struct {
	Result         int    `json:"result"`
	Action         string `json:"action"`
	ResetInMinutes int    `json:"resetInMinutes,omitempty"`
	ResetAt        string `json:"resetAt,omitempty"`
}

func (s *Server) handleReset(c echo.Context) error {
	var in resetRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.CID == "" || in.Phone == "" {
		return errMissingData
	}
	sched, err := s.Service.ScheduleReset(c.Request().Context(), in.CID, in.Phone)
	if err != nil {
		return err
	}
	mins := int((sched.Delay + time.Minute - 1) / time.Minute)
	return c.JSON(http.StatusOK, accountResponse{Result: 1, Action: "reset_scheduled", ResetInMinutes: mins,
		ResetAt: sched.At.UTC().Format(time.RFC3339)})
}

func (s *Server) handleResetNow(c echo.Context) error {
	var in resetNowRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	tid, phone := first(in.CID, in.ResetNowTid), first(in.PhoneNumber, in.Phone)
	if tid == "" || phone == "" {
		return errMissingData
	}
	if err := s.Service.ResetNow(c.Request().Context(), tid, phone); err != nil {
		return err
	}
	// The bindings are gone: the browser's cookie is worth nothing now.
	s.setDeviceCookie(c, s.Service.DeviceTag(phone), "", 0)
	return c.JSON(http.StatusOK, accountResponse{Result: 1, Action: "reset"})
}

func (s *Server) handleDisable(c echo.Context) error {
	var in disableRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.DisableTid == "" || in.Phone == "" {
		return errMissingData
	}
	if err := s.Service.Disable(c.Request().Context(), in.DisableTid, in.Phone); err != nil {
		return err
	}
	s.setDeviceCookie(c, s.Service.DeviceTag(in.Phone), "", 0)
	return c.JSON(http.StatusOK, accountResponse{Result: 1, Action: "disabled"})
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
