package bridge

import (
	"fmt"
	"time"

	"github.com/smsplus/smsplus/sdk/internal/bridgepb"
)

// The generated types stay internal to the SDK; these functions are the only place
// that knows both sides, so the public API can evolve without breaking the wire.

func infoToPB(i Info) *bridgepb.InfoResponse {
	pb := &bridgepb.InfoResponse{
		Id:              i.ID,
		DisplayName:     i.DisplayName,
		Version:         i.Version,
		SdkVersion:      i.SDKVersion,
		ProtocolVersion: uint32(i.Protocol),
		Capabilities:    i.Capabilities,
		DeadlineMs:      i.Deadline.Milliseconds(),
	}
	for _, s := range i.Settings {
		pb.Settings = append(pb.Settings, &bridgepb.Setting{
			Name: s.Name, Required: s.Required, Secret: s.Secret, Description: s.Description,
		})
	}
	return pb
}

func infoFromPB(pb *bridgepb.InfoResponse) Info {
	i := Info{
		ID:           pb.GetId(),
		DisplayName:  pb.GetDisplayName(),
		Version:      pb.GetVersion(),
		SDKVersion:   pb.GetSdkVersion(),
		Protocol:     int(pb.GetProtocolVersion()),
		Capabilities: pb.GetCapabilities(),
		Deadline:     time.Duration(pb.GetDeadlineMs()) * time.Millisecond,
	}
	for _, s := range pb.GetSettings() {
		i.Settings = append(i.Settings, Setting{
			Name: s.GetName(), Required: s.GetRequired(), Secret: s.GetSecret(), Description: s.GetDescription(),
		})
	}
	return i
}

func headersToPB(hs []Header) []*bridgepb.Header {
	out := make([]*bridgepb.Header, 0, len(hs))
	for _, h := range hs {
		out = append(out, &bridgepb.Header{Name: h.Name, Values: h.Values})
	}
	return out
}

func headersFromPB(hs []*bridgepb.Header) []Header {
	out := make([]Header, 0, len(hs))
	for _, h := range hs {
		out = append(out, Header{Name: h.GetName(), Values: h.GetValues()})
	}
	return out
}

func requestToPB(r *Request) *bridgepb.HTTPRequest {
	if r == nil {
		return nil
	}
	return &bridgepb.HTTPRequest{
		Method: r.Method, Path: r.Path, RawQuery: r.RawQuery, Headers: headersToPB(r.Headers),
		Body: r.Body, RemoteAddr: r.RemoteAddr, RequestId: r.RequestID,
	}
}

func requestFromPB(pb *bridgepb.HTTPRequest) *Request {
	return &Request{
		Method: pb.GetMethod(), Path: pb.GetPath(), RawQuery: pb.GetRawQuery(), Headers: headersFromPB(pb.GetHeaders()),
		Body: pb.GetBody(), RemoteAddr: pb.GetRemoteAddr(), RequestID: pb.GetRequestId(),
	}
}

func responseToPB(r *Response) *bridgepb.HTTPResponse {
	return &bridgepb.HTTPResponse{Status: int32(r.Status), Headers: headersToPB(r.Headers), Body: r.Body}
}

func responseFromPB(pb *bridgepb.HTTPResponse) *Response {
	return &Response{Status: int(pb.GetStatus()), Headers: headersFromPB(pb.GetHeaders()), Body: pb.GetBody()}
}

func parseResultToPB(r *ParseResult) (*bridgepb.ParseResponse, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil parse result", ErrInvalidResult)
	}
	n := 0
	pb := &bridgepb.ParseResponse{}
	if e := r.OTP; e != nil {
		n++
		var exp int64
		if !e.ExpiresAt.IsZero() {
			exp = e.ExpiresAt.UnixMilli()
		}
		pb.Result = &bridgepb.ParseResponse_Otp{Otp: &bridgepb.OTPEvent{
			Phone: e.Phone, Otp: e.OTP, Message: e.Message, Channel: bridgepb.Channel(e.Channel),
			Locale: e.Locale, ExpiresAtMs: exp, Subject: e.Subject, TransactionId: e.TransactionID,
			Metadata: e.Metadata,
		}}
	}
	if p := r.TestPing; p != nil {
		n++
		pb.Result = &bridgepb.ParseResponse_TestPing{TestPing: &bridgepb.TestPing{Metadata: p.Metadata}}
	}
	if rj := r.Rejection; rj != nil {
		n++
		pb.Result = &bridgepb.ParseResponse_Rejection{Rejection: &bridgepb.Rejection{
			Code: rj.Code, Message: rj.Message, Status: int32(rj.Status),
		}}
	}
	if n != 1 {
		return nil, fmt.Errorf("%w: parse result holds %d results, want exactly 1", ErrInvalidResult, n)
	}
	return pb, nil
}

func parseResultFromPB(pb *bridgepb.ParseResponse) (*ParseResult, error) {
	switch r := pb.GetResult().(type) {
	case *bridgepb.ParseResponse_Otp:
		e := r.Otp
		ev := &OTPEvent{
			Phone: e.GetPhone(), OTP: e.GetOtp(), Message: e.GetMessage(), Channel: Channel(e.GetChannel()),
			Locale: e.GetLocale(), Subject: e.GetSubject(), TransactionID: e.GetTransactionId(),
			Metadata: e.GetMetadata(),
		}
		if ms := e.GetExpiresAtMs(); ms != 0 {
			ev.ExpiresAt = time.UnixMilli(ms)
		}
		return &ParseResult{OTP: ev}, nil
	case *bridgepb.ParseResponse_TestPing:
		return &ParseResult{TestPing: &TestPing{Metadata: r.TestPing.GetMetadata()}}, nil
	case *bridgepb.ParseResponse_Rejection:
		rj := r.Rejection
		return &ParseResult{Rejection: &Rejection{Code: rj.GetCode(), Message: rj.GetMessage(), Status: int(rj.GetStatus())}}, nil
	}
	return nil, fmt.Errorf("%w: empty parse response", ErrInvalidResult)
}

func outcomeToPB(o *Outcome) *bridgepb.Outcome {
	if o == nil {
		return nil
	}
	return &bridgepb.Outcome{
		Kind: bridgepb.OutcomeKind(o.Kind), TransactionId: o.TransactionID, Code: o.Code, Message: o.Message,
		Status: int32(o.Status), DurationUs: o.Duration.Microseconds(), Metadata: o.Metadata,
	}
}

func outcomeFromPB(pb *bridgepb.Outcome) *Outcome {
	return &Outcome{
		Kind: OutcomeKind(pb.GetKind()), TransactionID: pb.GetTransactionId(), Code: pb.GetCode(),
		Message: pb.GetMessage(), Status: int(pb.GetStatus()),
		Duration: time.Duration(pb.GetDurationUs()) * time.Microsecond, Metadata: pb.GetMetadata(),
	}
}
