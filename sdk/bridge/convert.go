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
		DeadlineMs:      i.Deadline.Milliseconds(),
		Features:        i.Features,
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
		ID:          pb.GetId(),
		DisplayName: pb.GetDisplayName(),
		Version:     pb.GetVersion(),
		SDKVersion:  pb.GetSdkVersion(),
		Protocol:    int(pb.GetProtocolVersion()),
		Deadline:    time.Duration(pb.GetDeadlineMs()) * time.Millisecond,
		Features:    pb.GetFeatures(),
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

// checkResponse refuses an answer the host could not send.
func checkResponse(what string, r *Response) error {
	if r == nil {
		return fmt.Errorf("%w: %s without a response", ErrInvalidResult, what)
	}
	if r.Status < 100 || r.Status > 599 {
		return fmt.Errorf("%w: %s status %d out of range", ErrInvalidResult, what, r.Status)
	}
	return nil
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
			Locale: e.Locale, ExpiresAtMs: exp, TransactionId: e.TransactionID,
		}}
	}
	if e := r.Notice; e != nil {
		n++
		pb.Result = &bridgepb.ParseResponse_Notice{Notice: &bridgepb.Notice{
			Phone: e.Phone, Message: e.Message, Sender: e.Sender, Locale: e.Locale, Kind: e.Kind, TransactionId: e.TransactionID,
		}}
	}
	if r.TestPing != nil {
		n++
		pb.Result = &bridgepb.ParseResponse_TestPing{TestPing: &bridgepb.TestPing{}}
	}
	if rj := r.Rejection; rj != nil {
		n++
		if err := checkResponse("rejection", rj.Response); err != nil {
			return nil, err
		}
		pb.Result = &bridgepb.ParseResponse_Rejection{Rejection: &bridgepb.Rejection{
			Reason: bridgepb.Reason(rj.Reason), Response: responseToPB(rj.Response),
		}}
	}
	if n != 1 {
		return nil, fmt.Errorf("%w: parse result holds %d results, want exactly 1", ErrInvalidResult, n)
	}
	for _, a := range r.Answers {
		if err := checkResponse("answer ahead", a.Response); err != nil {
			return nil, err
		}
		pb.Answers = append(pb.Answers, &bridgepb.AnswerAhead{Kind: bridgepb.OutcomeKind(a.Kind), Response: responseToPB(a.Response)})
	}
	return pb, nil
}

func parseResultFromPB(pb *bridgepb.ParseResponse) (*ParseResult, error) {
	switch r := pb.GetResult().(type) {
	case *bridgepb.ParseResponse_Otp:
		e := r.Otp
		ev := &OTPEvent{
			Phone: e.GetPhone(), OTP: e.GetOtp(), Message: e.GetMessage(), Channel: Channel(e.GetChannel()),
			Locale: e.GetLocale(), TransactionID: e.GetTransactionId(),
		}
		if ms := e.GetExpiresAtMs(); ms != 0 {
			ev.ExpiresAt = time.UnixMilli(ms)
		}
		return &ParseResult{OTP: ev, Answers: answersFromPB(pb.GetAnswers())}, nil
	case *bridgepb.ParseResponse_TestPing:
		return &ParseResult{TestPing: &TestPing{}}, nil
	case *bridgepb.ParseResponse_Notice:
		e := r.Notice
		return &ParseResult{Notice: &Notice{
			Phone: e.GetPhone(), Message: e.GetMessage(), Sender: e.GetSender(), Locale: e.GetLocale(), Kind: e.GetKind(),
			TransactionID: e.GetTransactionId(),
		}}, nil
	case *bridgepb.ParseResponse_Rejection:
		rj := r.Rejection
		if rj.GetResponse() == nil {
			return nil, fmt.Errorf("%w: rejection without a response", ErrInvalidResult)
		}
		resp := responseFromPB(rj.GetResponse())
		if err := checkResponse("rejection", resp); err != nil {
			return nil, err
		}
		return &ParseResult{Rejection: &Rejection{Reason: Reason(rj.GetReason()), Response: resp}}, nil
	}
	return nil, fmt.Errorf("%w: empty parse response", ErrInvalidResult)
}

// answersFromPB reads the answers rendered ahead, leaving out any that is not
// a valid answer (the host then calls Respond for its outcome).
func answersFromPB(pbs []*bridgepb.AnswerAhead) []AnswerAhead {
	var out []AnswerAhead
	for _, a := range pbs {
		if a.GetResponse() == nil {
			continue
		}
		resp := responseFromPB(a.GetResponse())
		if checkResponse("answer ahead", resp) != nil {
			continue
		}
		out = append(out, AnswerAhead{Kind: OutcomeKind(a.GetKind()), Response: resp})
	}
	return out
}

func outcomeToPB(o *Outcome) *bridgepb.Outcome {
	if o == nil {
		return nil
	}
	return &bridgepb.Outcome{
		Kind: bridgepb.OutcomeKind(o.Kind), Reason: bridgepb.Reason(o.Reason), TransactionId: o.TransactionID,
		DurationUs: o.Duration.Microseconds(),
	}
}

func outcomeFromPB(pb *bridgepb.Outcome) *Outcome {
	return &Outcome{
		Kind: OutcomeKind(pb.GetKind()), Reason: Reason(pb.GetReason()), TransactionID: pb.GetTransactionId(),
		Duration: time.Duration(pb.GetDurationUs()) * time.Microsecond,
	}
}

func exampleToPB(e ExampleRequest) *bridgepb.ExampleRequest {
	return &bridgepb.ExampleRequest{Phone: e.Phone, Otp: e.OTP, Locale: e.Locale}
}

func exampleFromPB(pb *bridgepb.ExampleRequest) ExampleRequest {
	return ExampleRequest{Phone: pb.GetPhone(), OTP: pb.GetOtp(), Locale: pb.GetLocale()}
}
