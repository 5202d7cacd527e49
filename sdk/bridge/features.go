package bridge

import (
	"context"
	"slices"
	"strings"
)

// Optional features of contract v1. Each side announces those it implements:
// a plugin in Info.Features (Serve fills them in from this SDK), the host on the
// context of Configure (WithHostFeatures). Neither sends the other what it did
// not announce, so plugins and hosts built before a feature existed keep
// working together.
const (
	// FeatureWithheld (plugin): Respond renders OutcomeWithheld as the vendor's
	// success. Every bridge built with this SDK has it: answer.ByStatus renders
	// it, and the conformance kit checks that Respond does.
	FeatureWithheld = "outcome_withheld"
	// FeatureNotices (plugin and host): the plugin may return a Notice from
	// Parse; the host texts a Notice as is and answers it like an OTP event.
	FeatureNotices = "notices"
	// FeatureVoiceWithoutCode (plugin): the plugin reports a voice request as an
	// OTPEvent even when it carries no readable code (OTP empty), so that the
	// host's voice policy, not a missing-code refusal, decides its answer.
	FeatureVoiceWithoutCode = "voice_without_code"
	// FeatureAnswersAhead (plugin): given Request.AnswerTransactionID, the
	// plugin's Parse of an OTP event comes with its answers to the usual
	// outcomes rendered ahead (ParseResult.Answers), so the host need not call
	// Respond for them. The SDK does it for every bridge (from its Respond).
	FeatureAnswersAhead = "answers_ahead"
)

// pluginFeatures are the features every plugin built with this SDK announces.
var pluginFeatures = []string{FeatureWithheld, FeatureNotices, FeatureVoiceWithoutCode, FeatureAnswersAhead}

// PluginFeatures lists the features a plugin built with this SDK announces.
func PluginFeatures() []string { return slices.Clone(pluginFeatures) }

type hostFeaturesKey struct{}

// WithHostFeatures returns ctx carrying the features the host implements. The
// host passes it to Configure; the SDK carries them to the plugin, whose
// Configure reads them with HostHasFeature.
func WithHostFeatures(ctx context.Context, features ...string) context.Context {
	return context.WithValue(ctx, hostFeaturesKey{}, slices.Clone(features))
}

// HostFeatures are the features the host announced to Configure; none when
// the host announced none (a host built before features existed).
func HostFeatures(ctx context.Context) []string {
	f, _ := ctx.Value(hostFeaturesKey{}).([]string)
	return slices.Clone(f)
}

// HostHasFeature reports whether the host announced feature f to Configure.
// A bridge checks it for every setting that needs the feature, and refuses
// the setting (a ConfigError naming it) when the host lacks it.
func HostHasFeature(ctx context.Context, f string) bool {
	f2, _ := ctx.Value(hostFeaturesKey{}).([]string)
	return slices.Contains(f2, f)
}

// ConnectionTestText is the one text every bridge SMS+ ships takes for an
// admin's connection test (answered as a success, never texted), wherever the
// vendor lets an admin send a message of their own: the vendors' own test
// buttons send texts that are undocumented and cannot be told from a real
// message without a code, which must not be dropped silently.
const ConnectionTestText = "SMS+ connection test"

// IsConnectionTest reports whether text is ConnectionTestText, ignoring case
// and the spaces around it.
func IsConnectionTest(text string) bool {
	t := strings.TrimSpace(text)
	return len(t) == len(ConnectionTestText) && strings.EqualFold(t, ConnectionTestText)
}
