package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/phrase"
	"github.com/smsplus/smsplus/web"
)

// handlePage renders the challenge page, or a clear page for a bad link.
func (s *Server) handlePage(c echo.Context) error {
	cid := c.Param("cid")
	p, err := s.Service.Page(c.Request().Context(), cid)
	if err != nil {
		return s.renderErrorPage(c, err)
	}
	img, err := phrase.DataURI(p.Phrase)
	if err != nil {
		return s.renderErrorPage(c, err)
	}
	var buf bytes.Buffer
	if err := web.RenderChallenge(&buf, web.ChallengePage{
		Lang: p.Language, CID: p.ChallengeID, PhraseImage: img, PhraseLength: len([]rune(p.Phrase)), TextID: p.TextID,
		Enrolling: !p.Enrollment.Enrolled, Samples: p.Enrollment.Samples, Required: p.Enrollment.Required, Engine: s.Engine,
	}); err != nil {
		return err
	}
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

func (s *Server) renderErrorPage(c echo.Context, err error) error {
	ae := toAPIError(err)
	if ae.Status >= 500 {
		s.log.Error("page failed", "request_id", requestID(c), "err", err)
	}
	title := "Link not valid"
	switch ae.Status {
	case http.StatusForbidden:
		title = "Too many failed attempts"
	case http.StatusServiceUnavailable, http.StatusInternalServerError:
		title = "Something went wrong"
	}
	msg := ae.Message
	if ae.TryAgainMinutes > 0 {
		msg = "Too many failed attempts. Try again in " + strconv.Itoa(ae.TryAgainMinutes) + " minutes."
	}
	var buf bytes.Buffer
	if rerr := web.RenderError(&buf, web.ErrorPage{Lang: "en", Title: title, Message: msg, Status: ae.Status}); rerr != nil {
		return rerr
	}
	return c.HTMLBlob(ae.Status, buf.Bytes())
}

// verifyRequest keeps the Node SMS+ field names.
type verifyRequest struct {
	CID    string `json:"cid"`
	TP     string `json:"tp"`
	TextID string `json:"textId"`
}

type enrollmentJSON struct {
	Samples  int `json:"samples"`
	Required int `json:"required"`
}

type verifyResponse struct {
	Result       int             `json:"result"`
	Action       string          `json:"action"`
	OTP          string          `json:"otp,omitempty"`
	Enrollment   *enrollmentJSON `json:"enrollment,omitempty"`
	AttemptsLeft int             `json:"attemptsLeft,omitempty"`
	DisableTid   string          `json:"disableTid,omitempty"`
	ResetNowTid  string          `json:"resetNowTid,omitempty"`
}

// maxVerifyBody bounds a verify request: a pattern for a 128-character phrase fits
// in a few kilobytes.
const maxVerifyBody = 16 << 10

// decodeJSON reads a small JSON body strictly: the right content type, one object,
// no unknown fields, nothing after it.
func decodeJSON(c echo.Context, v any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); !strings.HasPrefix(strings.ToLower(ct), echo.MIMEApplicationJSON) {
		return errMediaType
	}
	body, err := readBody(req, maxVerifyBody)
	if errors.Is(err, errBodyTooLarge) {
		return errTooLarge
	}
	if err != nil {
		return errBadJSON
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.Decode(new(json.RawMessage)) != io.EOF {
		return errBadJSON
	}
	return nil
}

func (s *Server) handleVerify(c echo.Context) error {
	var in verifyRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.CID == "" || in.TP == "" || in.TextID == "" {
		return errMissingData
	}
	res, err := s.Service.Verify(c.Request().Context(), in.CID, in.TextID, in.TP)
	if err != nil {
		return err
	}
	out := verifyResponse{Action: string(res.Action), OTP: res.OTP, AttemptsLeft: res.AttemptsLeft,
		DisableTid: res.DisableToken, ResetNowTid: res.ResetToken}
	if res.Match {
		out.Result = 1
	}
	if res.Action == biometrics.ActionEnroll {
		out.Enrollment = &enrollmentJSON{Samples: res.Enrollment.Samples, Required: res.Enrollment.Required}
	}
	if res.OTP != "" {
		s.log.Info("otp revealed", "request_id", requestID(c))
	}
	return c.JSON(http.StatusOK, out)
}
