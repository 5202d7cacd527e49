package bridge

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/smsplus/smsplus/sdk/internal/bridgepb"
)

// echoBridge returns canned values so the tests can check that every field crosses
// the gRPC boundary intact.
type echoBridge struct {
	parse     func(*Request) (*ParseResult, error)
	respond   func(*Outcome) (*Response, error)
	configure func(map[string]string) error
}

func (e *echoBridge) Info(context.Context) (Info, error) {
	return Info{
		ID: "echo", DisplayName: "Echo", Version: "1.2.3",
		Deadline: 2500 * time.Millisecond,
		Settings: []Setting{{Name: "ECHO_SHARED_SECRET", Required: true, Secret: true, Description: "d"}},
	}, nil
}

func (e *echoBridge) Configure(_ context.Context, s map[string]string) error { return e.configure(s) }
func (e *echoBridge) Parse(_ context.Context, r *Request) (*ParseResult, error) {
	return e.parse(r)
}
func (e *echoBridge) Respond(_ context.Context, o *Outcome) (*Response, error) { return e.respond(o) }

// dial serves b in-process over a real gRPC connection, the way the host sees it.
func dial(t *testing.T, b Bridge) Bridge {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{PluginName: &Plugin{Impl: &servedBridge{Bridge: b}}})
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(Bridge)
}

func TestRoundTripKeepsEveryField(t *testing.T) {
	t.Parallel()
	exp := time.UnixMilli(1_790_000_000_123)
	wantEvent := &OTPEvent{
		Phone: "+14155550123", OTP: "012345", Message: "Your code is 012345", Channel: ChannelVoice,
		Locale: "EN-US", ExpiresAt: exp, TransactionID: "evt-1",
	}
	var gotReq *Request
	var gotOutcome *Outcome
	b := dial(t, &echoBridge{
		configure: func(map[string]string) error { return nil },
		parse: func(r *Request) (*ParseResult, error) {
			gotReq = r
			return &ParseResult{OTP: wantEvent}, nil
		},
		respond: func(o *Outcome) (*Response, error) {
			gotOutcome = o
			return &Response{Status: 200, Headers: []Header{{Name: "Content-Type", Values: []string{"application/json"}}}, Body: []byte(`{}`)}, nil
		},
	})
	ctx := context.Background()

	info, err := b.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != "echo" || info.Version != "1.2.3" || info.SDKVersion != SDKVersion || info.Protocol != ProtocolVersion ||
		info.Deadline != 2500*time.Millisecond || len(info.Settings) != 1 || !info.Settings[0].Secret {
		t.Fatalf("info = %+v", info)
	}

	req := &Request{Method: "POST", Path: "/hooks/echo", RawQuery: "a=1", Body: []byte{0, 1, 0xff},
		Headers: []Header{{Name: "Authorization", Values: []string{"Bearer x", "y"}}}, RemoteAddr: "127.0.0.1:9", RequestID: "rid"}
	res, err := b.Parse(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotReq, req) {
		t.Errorf("plugin saw request %+v, want %+v", gotReq, req)
	}
	if !reflect.DeepEqual(res.OTP, wantEvent) || res.TestPing != nil || res.Rejection != nil {
		t.Errorf("event = %+v, want %+v", res.OTP, wantEvent)
	}

	out := &Outcome{Kind: OutcomeFailed, TransactionID: "sp_1", Reason: ReasonSMSFailed, Duration: 1500 * time.Microsecond}
	resp, err := b.Respond(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotOutcome, out) {
		t.Errorf("plugin saw outcome %+v, want %+v", gotOutcome, out)
	}
	if resp.Status != 200 || string(resp.Body) != "{}" || resp.Headers[0].Values[0] != "application/json" {
		t.Errorf("response = %+v", resp)
	}
}

func TestParseResultsAndErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		result  *ParseResult
		err     error
		wantErr string
		check   func(*ParseResult) bool
	}{
		"test ping": {result: &ParseResult{TestPing: &TestPing{}},
			check: func(r *ParseResult) bool { return r.TestPing != nil && r.OTP == nil && r.Rejection == nil }},
		"rejection": {result: Reject(ReasonUnauthorized, &Response{Status: 401, Body: []byte("no")}),
			check: func(r *ParseResult) bool {
				return r.Rejection != nil && r.Rejection.Reason == ReasonUnauthorized && r.Rejection.Response.Status == 401 &&
					string(r.Rejection.Response.Body) == "no"
			}},
		"rejection without an answer": {result: Reject(ReasonUnauthorized, nil), wantErr: "rejection without a response"},
		"rejection with a bad status": {result: Reject(ReasonUnauthorized, &Response{Status: 0}), wantErr: "status 0 out of range"},
		"two results":                 {result: &ParseResult{TestPing: &TestPing{}, Rejection: &Rejection{Response: &Response{Status: 400}}}, wantErr: "exactly 1"},
		"no result":                   {result: &ParseResult{}, wantErr: "exactly 1"},
		"nil result":                  {result: nil, wantErr: "nil parse result"},
		"bridge error":                {err: errors.New("boom"), wantErr: "boom"},
		"bridge panics":               {wantErr: "bridge panicked"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := dial(t, &echoBridge{parse: func(*Request) (*ParseResult, error) {
				if name == "bridge panics" {
					panic("a bug in the bridge")
				}
				return tc.result, tc.err
			}})
			res, err := b.Parse(context.Background(), &Request{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(res) {
				t.Fatalf("res = %+v, err = %v", res, err)
			}
		})
	}
}

func TestConfigureProblemsCrossTheWire(t *testing.T) {
	t.Parallel()
	b := dial(t, &echoBridge{configure: func(s map[string]string) error {
		if s["ECHO_SHARED_SECRET"] == "" {
			return &ConfigError{Problems: []string{"ECHO_SHARED_SECRET is required", "second"}}
		}
		return nil
	}})
	err := b.Configure(context.Background(), map[string]string{})
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 2 {
		t.Fatalf("err = %v, want ConfigError with 2 problems", err)
	}
	if err := b.Configure(context.Background(), map[string]string{"ECHO_SHARED_SECRET": "s"}); err != nil {
		t.Fatalf("err = %v", err)
	}
}

func TestDeadlineCrossesTheWire(t *testing.T) {
	t.Parallel()
	b := dial(t, &slowBridge{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.Parse(ctx, &Request{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("parse took %v, the deadline did not cut it short", time.Since(start))
	}
}

// slowBridge waits on the context, as a well-behaved bridge must.
type slowBridge struct{ echoBridge }

func (s *slowBridge) Parse(ctx context.Context, _ *Request) (*ParseResult, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestRespondRejectsInvalidStatus(t *testing.T) {
	t.Parallel()
	b := dial(t, &echoBridge{respond: func(*Outcome) (*Response, error) { return &Response{Status: 0}, nil }})
	if _, err := b.Respond(context.Background(), &Outcome{Kind: OutcomeDelivered}); err == nil {
		t.Fatal("a response without a status must be an error")
	}
}

// The Go enums are converted by value; pin them to the wire enums.
func TestEnumsMatchWire(t *testing.T) {
	t.Parallel()
	pairs := map[OutcomeKind]bridgepb.OutcomeKind{
		OutcomeUnspecified: bridgepb.OutcomeKind_OUTCOME_KIND_UNSPECIFIED, OutcomeDelivered: bridgepb.OutcomeKind_OUTCOME_KIND_DELIVERED,
		OutcomePending: bridgepb.OutcomeKind_OUTCOME_KIND_PENDING, OutcomeTestOK: bridgepb.OutcomeKind_OUTCOME_KIND_TEST_OK,
		OutcomeFallbackDelivered: bridgepb.OutcomeKind_OUTCOME_KIND_FALLBACK_DELIVERED, OutcomeFailed: bridgepb.OutcomeKind_OUTCOME_KIND_FAILED,
		OutcomeRejected: bridgepb.OutcomeKind_OUTCOME_KIND_REJECTED, OutcomeWithheld: bridgepb.OutcomeKind_OUTCOME_KIND_WITHHELD,
	}
	for k, pb := range pairs {
		if int32(k) != int32(pb) {
			t.Errorf("%v = %d, wire %v = %d", k, k, pb, pb)
		}
	}
	if len(pairs) != len(bridgepb.OutcomeKind_name) {
		t.Errorf("wire has %d outcome kinds, Go maps %d", len(bridgepb.OutcomeKind_name), len(pairs))
	}
	if int32(ChannelSMS) != int32(bridgepb.Channel_CHANNEL_SMS) || int32(ChannelVoice) != int32(bridgepb.Channel_CHANNEL_VOICE) ||
		len(bridgepb.Channel_name) != 3 {
		t.Error("channel enums drifted from the wire")
	}
}

// Given the host's transaction id, the plugin's Parse of an OTP event comes
// back with the bridge's own answers to delivered and pending with that id,
// rendered by the SDK from Respond; what a bridge puts in Answers itself never
// crosses, nor do answers for anything but an OTP event, or without the id.
func TestAnswersAheadCrossTheWire(t *testing.T) {
	t.Parallel()
	const tid = "sp_0123456789abcdef01"
	render := func(o *Outcome) (*Response, error) {
		body := o.Kind.String() + " " + o.TransactionID + " " + o.Reason.String() + " " + o.Duration.String()
		return &Response{Status: 200, Body: []byte(body)}, nil
	}
	forged := []AnswerAhead{{Kind: OutcomeFailed, Response: &Response{Status: 200, Body: []byte("forged")}}}
	tests := map[string]struct {
		result *ParseResult
		tid    string
		want   []string // the answers' bodies, by kind
	}{
		"an OTP event":      {result: &ParseResult{OTP: &OTPEvent{Phone: "+14155550123", OTP: "123456"}, Answers: forged}, tid: tid, want: []string{"delivered " + tid + " unspecified 0s", "pending " + tid + " unspecified 0s"}},
		"no transaction id": {result: &ParseResult{OTP: &OTPEvent{Phone: "+14155550123", OTP: "123456"}, Answers: forged}},
		"a rejection":       {result: Reject(ReasonUnauthorized, &Response{Status: 401}), tid: tid},
		"a test ping":       {result: &ParseResult{TestPing: &TestPing{}}, tid: tid},
		"a notice":          {result: &ParseResult{Notice: &Notice{Phone: "+14155550123", Message: "m", Kind: "k"}}, tid: tid},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var offered string
			b := dial(t, &echoBridge{respond: render, parse: func(r *Request) (*ParseResult, error) {
				offered = r.AnswerTransactionID
				return tc.result, nil
			}})
			res, err := b.Parse(context.Background(), &Request{Method: "POST", AnswerTransactionID: tc.tid})
			if err != nil {
				t.Fatal(err)
			}
			if offered != tc.tid {
				t.Fatalf("bridge saw AnswerTransactionID %q, want %q", offered, tc.tid)
			}
			var got []string
			for _, a := range res.Answers {
				got = append(got, string(a.Response.Body))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("answers %q, want %q", got, tc.want)
			}
			for _, k := range []OutcomeKind{OutcomeDelivered, OutcomePending} {
				resp, ok := res.Answer(&Outcome{Kind: k, TransactionID: tid}, tid)
				if ok != (tc.want != nil) || ok && !strings.HasPrefix(string(resp.Body), k.String()+" ") {
					t.Fatalf("Answer(%s) = %v, %v", k, resp, ok)
				}
			}
			for _, out := range []*Outcome{
				{Kind: OutcomeDelivered, TransactionID: "sp_other"},
				{Kind: OutcomeFailed, Reason: ReasonSMSFailed, TransactionID: tid},
				{Kind: OutcomeWithheld, Reason: ReasonUnsupportedChannel, TransactionID: tid},
			} {
				if _, ok := res.Answer(out, tid); ok {
					t.Fatalf("an answer ahead for %+v", out)
				}
			}
		})
	}
}
