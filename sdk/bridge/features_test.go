package bridge

import (
	"context"
	"reflect"
	"slices"
	"testing"
)

// hostAware records the host features its Configure saw.
type hostAware struct {
	echoBridge
	seen []string
}

func (h *hostAware) Configure(ctx context.Context, _ map[string]string) error {
	h.seen = HostFeatures(ctx)
	return nil
}

// TestFeaturesCrossTheWire: the host's features reach the plugin's Configure;
// the plugin's features (filled by Serve) reach the host's Info; a host that
// announces none is seen as announcing none.
func TestFeaturesCrossTheWire(t *testing.T) {
	t.Parallel()
	h := &hostAware{}
	b := dial(t, h)
	ctx := context.Background()
	if err := b.Configure(WithHostFeatures(ctx, FeatureNotices, "future_feature"), nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h.seen, []string{FeatureNotices, "future_feature"}) {
		t.Errorf("plugin saw host features %q", h.seen)
	}
	if err := b.Configure(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if len(h.seen) != 0 {
		t.Errorf("a host that announced nothing: plugin saw %q", h.seen)
	}
	info, err := b.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FeatureWithheld, FeatureNotices, FeatureVoiceWithoutCode} {
		if !info.HasFeature(f) {
			t.Errorf("Info.Features %q lacks %s", info.Features, f)
		}
	}
	if HostHasFeature(ctx, FeatureNotices) || !HostHasFeature(WithHostFeatures(ctx, FeatureNotices), FeatureNotices) {
		t.Error("HostHasFeature")
	}
	if !slices.Equal(PluginFeatures(), pluginFeatures) {
		t.Error("PluginFeatures")
	}
}

// TestNoticeAndWithheldCrossTheWire: a Notice keeps every field, WITHHELD
// arrives as such with its reason and counts as a success.
func TestNoticeAndWithheldCrossTheWire(t *testing.T) {
	t.Parallel()
	want := &Notice{Phone: "+14155550123", Message: "Your account was blocked", Sender: "+15550100", Locale: "en_US",
		Kind: "blocked_account", TransactionID: "corr-1"}
	var got *Outcome
	b := dial(t, &echoBridge{
		parse: func(*Request) (*ParseResult, error) { return &ParseResult{Notice: want}, nil },
		respond: func(o *Outcome) (*Response, error) {
			got = o
			return &Response{Status: 200}, nil
		},
	})
	res, err := b.Parse(context.Background(), &Request{Method: "POST"})
	if err != nil || res.Notice == nil || !reflect.DeepEqual(res.Notice, want) {
		t.Fatalf("Parse = %+v, %v; want the notice %+v", res, err, want)
	}
	if _, err := b.Respond(context.Background(), &Outcome{Kind: OutcomeWithheld, Reason: ReasonUnsupportedChannel}); err != nil {
		t.Fatal(err)
	}
	if got.Kind != OutcomeWithheld || got.Reason != ReasonUnsupportedChannel || !got.Kind.Success() || got.Kind.String() != "withheld" {
		t.Errorf("Respond saw %+v (%s)", got, got.Kind)
	}
	// A result holding a notice and something else is invalid.
	if _, err := parseResultToPB(&ParseResult{Notice: want, TestPing: &TestPing{}}); err == nil {
		t.Error("a notice and a test ping in one result")
	}
}

func TestIsConnectionTest(t *testing.T) {
	for text, want := range map[string]bool{"SMS+ connection test": true, "  sms+ CONNECTION test\n": true,
		"SMS+ connection test 123456": false, "This is a test message from PingOne.": false, "": false, "testing": false} {
		if IsConnectionTest(text) != want {
			t.Errorf("IsConnectionTest(%q) = %v", text, !want)
		}
	}
}
