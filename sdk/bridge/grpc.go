package bridge

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/smsplus/smsplus/sdk/internal/bridgepb"
)

// Errors the host can test with errors.Is. They cross the plugin boundary as gRPC
// status codes.
var (
	// ErrInvalidResult: a bridge returned a ParseResult that does not hold exactly
	// one of its fields, or an answer without a valid status.
	ErrInvalidResult = errors.New("bridge: invalid result")
	// ErrUnavailable: the plugin process cannot be reached (it died or is
	// restarting). gRPC Unavailable.
	ErrUnavailable = errors.New("bridge: plugin unavailable")
	// ErrUnsupported: the plugin does not implement an optional capability
	// (gRPC Unimplemented). Return it from an optional method to say the same.
	ErrUnsupported = errors.New("bridge: capability not implemented")
	// ErrNotConfigured: the call needs a successful Configure first (gRPC
	// FailedPrecondition).
	ErrNotConfigured = errors.New("bridge: not configured")
)

// grpcServer serves a Bridge implementation over gRPC (plugin side).
type grpcServer struct {
	bridgepb.UnimplementedBridgeServer
	impl Bridge
}

func (s *grpcServer) Info(ctx context.Context, _ *bridgepb.InfoRequest) (resp *bridgepb.InfoResponse, err error) {
	defer recoverTo(&err)
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return infoToPB(info), nil
}

func (s *grpcServer) Configure(ctx context.Context, req *bridgepb.ConfigureRequest) (resp *bridgepb.ConfigureResponse, err error) {
	defer recoverTo(&err)
	if f := req.GetHostFeatures(); len(f) > 0 {
		ctx = WithHostFeatures(ctx, f...)
	}
	err = s.impl.Configure(ctx, req.GetSettings())
	var cfgErr *ConfigError
	switch {
	case err == nil:
		return &bridgepb.ConfigureResponse{}, nil
	case errors.As(err, &cfgErr):
		return &bridgepb.ConfigureResponse{Problems: cfgErr.Problems}, nil
	default:
		return nil, toStatus(err)
	}
}

func (s *grpcServer) Parse(ctx context.Context, req *bridgepb.ParseRequest) (resp *bridgepb.ParseResponse, err error) {
	defer recoverTo(&err)
	r := requestFromPB(req.GetRequest())
	r.AnswerTransactionID = req.GetAnswerTransactionId()
	res, err := s.impl.Parse(ctx, r)
	if err != nil {
		return nil, toStatus(err)
	}
	if res != nil {
		// A copy: the bridge may return a result it shares between calls.
		withAnswers := *res
		withAnswers.Answers = nil // the SDK's, never the bridge's own
		if r.AnswerTransactionID != "" && res.OTP != nil {
			withAnswers.Answers = renderAhead(ctx, s.impl, r.AnswerTransactionID)
		}
		res = &withAnswers
	}
	pb, err := parseResultToPB(res)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return pb, nil
}

// renderAhead renders b's answers to the usual outcomes of an accepted hook
// with the transaction id the host proposed (FeatureAnswersAhead). A kind that
// fails to render is left out: the host then calls Respond for it.
func renderAhead(ctx context.Context, b Bridge, tid string) []AnswerAhead {
	var out []AnswerAhead
	for _, k := range answerAheadKinds {
		resp, err := b.Respond(ctx, &Outcome{Kind: k, TransactionID: tid})
		if err != nil || checkResponse("answer ahead", resp) != nil {
			continue
		}
		out = append(out, AnswerAhead{Kind: k, Response: resp})
	}
	return out
}

func (s *grpcServer) Respond(ctx context.Context, req *bridgepb.RespondRequest) (resp *bridgepb.RespondResponse, err error) {
	defer recoverTo(&err)
	res, err := s.impl.Respond(ctx, outcomeFromPB(req.GetOutcome()))
	if err != nil {
		return nil, toStatus(err)
	}
	if err := checkResponse("respond", res); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &bridgepb.RespondResponse{Response: responseToPB(res)}, nil
}

// Example serves the optional capability: Unimplemented unless the bridge is an
// Exampler.
func (s *grpcServer) Example(ctx context.Context, req *bridgepb.ExampleRequest) (resp *bridgepb.ExampleResponse, err error) {
	defer recoverTo(&err)
	ex, ok := s.impl.(Exampler)
	if !ok {
		return nil, toStatus(ErrUnsupported)
	}
	r, err := ex.Example(ctx, exampleFromPB(req))
	if err != nil {
		return nil, toStatus(err)
	}
	if r == nil {
		return nil, status.Error(codes.Internal, ErrInvalidResult.Error()+": example without a request")
	}
	return &bridgepb.ExampleResponse{Request: requestToPB(r)}, nil
}

// recoverTo turns a panic in a bridge into a gRPC error, so that one bad request
// cannot take the plugin process (and every other hook of that vendor) down.
func recoverTo(err *error) {
	if r := recover(); r != nil {
		*err = status.Errorf(codes.Internal, "bridge panicked: %v", r)
	}
}

func toStatus(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, ErrUnsupported):
		return status.Error(codes.Unimplemented, err.Error())
	case errors.Is(err, ErrNotConfigured):
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}

// grpcClient is the host's view of a plugin: a Bridge whose methods are RPCs. It
// implements every optional capability; a plugin without one answers
// ErrUnsupported.
type grpcClient struct {
	c bridgepb.BridgeClient
}

var (
	_ Bridge   = (*grpcClient)(nil)
	_ Exampler = (*grpcClient)(nil)
)

func (c *grpcClient) Info(ctx context.Context) (Info, error) {
	resp, err := c.c.Info(ctx, &bridgepb.InfoRequest{})
	if err != nil {
		return Info{}, fromStatus("info", err)
	}
	return infoFromPB(resp), nil
}

func (c *grpcClient) Configure(ctx context.Context, settings map[string]string) error {
	resp, err := c.c.Configure(ctx, &bridgepb.ConfigureRequest{Settings: settings, HostFeatures: HostFeatures(ctx)})
	if err != nil {
		return fromStatus("configure", err)
	}
	if len(resp.GetProblems()) > 0 {
		return &ConfigError{Problems: resp.GetProblems()}
	}
	return nil
}

func (c *grpcClient) Parse(ctx context.Context, req *Request) (*ParseResult, error) {
	resp, err := c.c.Parse(ctx, &bridgepb.ParseRequest{Request: requestToPB(req), AnswerTransactionId: req.AnswerTransactionID})
	if err != nil {
		return nil, fromStatus("parse", err)
	}
	res, err := parseResultFromPB(resp)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	return res, nil
}

func (c *grpcClient) Respond(ctx context.Context, out *Outcome) (*Response, error) {
	resp, err := c.c.Respond(ctx, &bridgepb.RespondRequest{Outcome: outcomeToPB(out)})
	if err != nil {
		return nil, fromStatus("respond", err)
	}
	r := responseFromPB(resp.GetResponse())
	if err := checkResponse("respond", r); err != nil {
		return nil, err
	}
	return r, nil
}

func (c *grpcClient) Example(ctx context.Context, want ExampleRequest) (*Request, error) {
	resp, err := c.c.Example(ctx, exampleToPB(want))
	if err != nil {
		return nil, fromStatus("example", err)
	}
	if resp.GetRequest() == nil {
		return nil, fmt.Errorf("example: %w: no request", ErrInvalidResult)
	}
	return requestFromPB(resp.GetRequest()), nil
}

// fromStatus maps gRPC status codes back to errors the host can test with errors.Is.
func fromStatus(op string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s: %w", op, err)
	}
	var sentinel error
	switch st.Code() {
	case codes.DeadlineExceeded:
		sentinel = context.DeadlineExceeded
	case codes.Canceled:
		sentinel = context.Canceled
	case codes.Unavailable:
		sentinel = ErrUnavailable
	case codes.Unimplemented:
		sentinel = ErrUnsupported
	case codes.FailedPrecondition:
		sentinel = ErrNotConfigured
	default:
		return fmt.Errorf("%s: %s", op, st.Message())
	}
	return fmt.Errorf("%s: %w: %s", op, sentinel, st.Message())
}
