package pluginhost

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/sdk/bridge"
)

func TestRenaming(t *testing.T) {
	t.Parallel()
	okta := declare("OKTA_SHARED_SECRET", "OKTA_SHARED_SECRET_PREVIOUS", "OKTA_AUTH_HEADER", "DEFAULT_PHONE_REGION")
	pingone := declare("PING_SHARED_SECRET", "PINGONE_SHARED_SECRET", "PINGONE_SHARED_SECRET_PREVIOUS", "PING_USERNAME")
	tests := map[string]struct {
		id, plugin string
		declared   []bridge.Setting
		want       map[string]string
	}{
		"a plugin under its own id reads its own names": {"okta", "okta", okta, map[string]string{
			"OKTA_SHARED_SECRET": "OKTA_SHARED_SECRET", "OKTA_SHARED_SECRET_PREVIOUS": "OKTA_SHARED_SECRET_PREVIOUS",
			"OKTA_AUTH_HEADER": "OKTA_AUTH_HEADER", "DEFAULT_PHONE_REGION": "DEFAULT_PHONE_REGION"}},
		"an instance reads its own prefix; shared host settings keep their names": {"okta-preview", "okta", okta, map[string]string{
			"OKTA_SHARED_SECRET": "OKTA_PREVIEW_SHARED_SECRET", "OKTA_SHARED_SECRET_PREVIOUS": "OKTA_PREVIEW_SHARED_SECRET_PREVIOUS",
			"OKTA_AUTH_HEADER": "OKTA_PREVIEW_AUTH_HEADER", "DEFAULT_PHONE_REGION": "DEFAULT_PHONE_REGION"}},
		// PING_SHARED_SECRET and PINGONE_SHARED_SECRET are aliases: the plugin's
		// own prefix wins, the legacy alias is never answered.
		"legacy names map to the instance's prefix": {"pingone-eu", "pingone", pingone, map[string]string{
			"PING_SHARED_SECRET": "", "PINGONE_SHARED_SECRET": "PINGONE_EU_SHARED_SECRET",
			"PINGONE_SHARED_SECRET_PREVIOUS": "PINGONE_EU_SHARED_SECRET_PREVIOUS", "PING_USERNAME": "PINGONE_EU_USERNAME"}},
		// The settings rule refuses such a plugin; the renaming alone never
		// answers a name outside the plugin's namespace either.
		"names outside the namespace are never answered": {"acme-2", "acme", declare("ACME_KEY", "OKTA_SHARED_SECRET", "HASH_SALT"),
			map[string]string{"ACME_KEY": "ACME_2_KEY", "OKTA_SHARED_SECRET": "", "HASH_SALT": ""}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := newRenaming(tc.id, tc.plugin, tc.declared).names
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("names = %v\nwant    %v", got, tc.want)
			}
		})
	}
}

func TestRenamingTexts(t *testing.T) {
	t.Parallel()
	r := newRenaming("okta-preview", "okta", declare("OKTA_SHARED_SECRET", "OKTA_SHARED_SECRET_PREVIOUS", "OKTA_OAUTH_ISSUER"))
	for in, want := range map[string]string{
		"OKTA_SHARED_SECRET is required unless OKTA_OAUTH_ISSUER (OAuth 2.0) is set.": "OKTA_PREVIEW_SHARED_SECRET is required unless OKTA_PREVIEW_OAUTH_ISSUER (OAuth 2.0) is set.",
		"OKTA_SHARED_SECRET_PREVIOUS equals OKTA_SHARED_SECRET":                       "OKTA_PREVIEW_SHARED_SECRET_PREVIOUS equals OKTA_PREVIEW_SHARED_SECRET",
		"when any OKTA_OAUTH_ setting is set":                                         "when any OKTA_PREVIEW_OAUTH_ setting is set",
		"the Okta bridge: X-OKTA_SHARED_SECRETS, DEFAULT_PHONE_REGION":                "the Okta bridge: X-OKTA_PREVIEW_SHARED_SECRETS, DEFAULT_PHONE_REGION",
	} {
		if got := r.text(in); got != want {
			t.Errorf("text(%q)\n = %q\nwant %q", in, got, want)
		}
	}
	if got := newRenaming("okta", "okta", nil).text("OKTA_SHARED_SECRET"); got != "OKTA_SHARED_SECRET" {
		t.Errorf("a plugin under its own id: %q", got)
	}
}

// TestNamedInstances runs the shipped Okta plugin twice, as okta and as the
// named instance okta-preview, each with its own secret: two processes, each
// configured with its own settings only, each refusing the other's calls.
func TestNamedInstances(t *testing.T) {
	t.Parallel()
	fs := found(t, "okta", "auth0")
	const prod, preview, previous = "okta-prod-secret-0123456789", "okta-preview-secret-0123456789", "okta-preview-old-secret-0123"
	env := map[string]string{
		"OKTA_SHARED_SECRET": prod, "OKTA_PREVIEW_SHARED_SECRET": preview, "OKTA_PREVIEW_SHARED_SECRET_PREVIOUS": previous,
		"OKTA_PREVIEW_AUTH_HEADER": "X-Preview-Secret",
	}
	m := NewManager(Options{Setting: settingsWith(env), Instances: map[string]string{"okta-preview": "okta"}})
	if err := m.Start(context.Background(), fs, []string{"okta", "okta-preview"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	a, _ := m.Get("okta")
	b, ok := m.Get("okta-preview")
	if !ok || a.PID() == 0 || b.PID() == 0 || a.PID() == b.PID() {
		t.Fatalf("want two processes, got okta pid %d, okta-preview %v pid %d", a.PID(), ok, b.PID())
	}
	if b.Info.ID != "okta-preview" || b.Binary.ID != "okta" || !slices.ContainsFunc(b.Info.Settings, func(s bridge.Setting) bool {
		return s.Name == "OKTA_PREVIEW_SHARED_SECRET" && s.Secret && !strings.Contains(s.Description, "OKTA_OAUTH_ISSUER")
	}) {
		t.Errorf("okta-preview as the host sees it: id %q, binary %q, settings %+v", b.Info.ID, b.Binary.ID, b.Info.Settings)
	}
	var statuses []string
	for _, st := range m.Status() {
		statuses = append(statuses, st.ID+"/"+st.Plugin+"/"+yes(st.Found)+yes(st.Enabled)+yes(st.Running))
	}
	if want := []string{"auth0//y--", "okta//yyy", "okta-preview/okta/yyy"}; !slices.Equal(statuses, want) {
		t.Errorf("status = %q, want %q", statuses, want)
	}

	// Each instance renders its vendor's call with its own secret and header
	// (the Example RPC), and accepts only its own.
	ctx := context.Background()
	example := func(p *Plugin) *bridge.Request {
		req, err := p.Example(ctx, bridge.ExampleRequest{Phone: "+14155550100", OTP: "493027"})
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	toProd, toPreview := example(a), example(b)
	if toPreview.Header("X-Preview-Secret") != preview || toPreview.Header("Authorization") != "" || toProd.Header("Authorization") != prod {
		t.Fatalf("examples carry the wrong credentials: prod %v, preview %v", toProd.Headers, toPreview.Headers)
	}
	// Production's call, sent in the preview's header: the secret is not the preview's.
	stolen := *toPreview
	stolen.Headers = []bridge.Header{{Name: "Content-Type", Values: []string{"application/json"}}, {Name: "X-Preview-Secret", Values: []string{prod}}}
	rotated := stolen
	rotated.Headers = []bridge.Header{{Name: "Content-Type", Values: []string{"application/json"}}, {Name: "X-Preview-Secret", Values: []string{previous}}}
	for name, tc := range map[string]struct {
		p    *Plugin
		req  *bridge.Request
		want bool
	}{
		"okta accepts its own call":                {a, toProd, true},
		"okta-preview accepts its own call":        {b, toPreview, true},
		"okta-preview accepts its previous secret": {b, &rotated, true},
		"okta-preview refuses production's secret": {b, &stolen, false},
		"okta-preview refuses production's call":   {b, toProd, false},
		"okta refuses the preview's call":          {a, toPreview, false},
	} {
		res, err := tc.p.Parse(ctx, tc.req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := res.OTP != nil; got != tc.want {
			t.Errorf("%s: accepted = %v, want %v (%+v)", name, got, tc.want, res.Rejection)
		}
	}
}

func yes(b bool) string {
	if b {
		return "y"
	}
	return "-"
}

// An instance reads its own settings and nothing else: with its secret unset it
// does not start, whatever production's secret is, and every instance problem
// is reported in one Start.
func TestNamedInstanceProblems(t *testing.T) {
	t.Parallel()
	fs := found(t, "okta", "auth0")
	m := NewManager(Options{
		Setting:   settingsWith(map[string]string{"OKTA_SHARED_SECRET": "okta-prod-secret-0123456789", "OKTA_PREVIEW_SHARED_SECRET_PREVIOUS": "okta-old-secret-0123456789"}),
		Instances: map[string]string{"okta-preview": "okta", "auth0": "okta", "okta-eu": "oktaa", "hash-okta": "okta"},
	})
	err := m.Start(context.Background(), fs, []string{"okta", "okta-preview", "auth0", "okta-eu", "hash-okta"})
	if err == nil {
		t.Fatal("started")
	}
	msg := err.Error()
	for _, want := range []string{
		// The plugin's own problem, in the instance's names.
		"OKTA_PREVIEW_SHARED_SECRET is required",
		"OKTA_PREVIEW_SHARED_SECRET_PREVIOUS is set but OKTA_PREVIEW_SHARED_SECRET is not",
		"bridge auth0 is a named instance of plugin okta, but a plugin named auth0 is installed too",
		"bridge okta-eu runs plugin oktaa (okta-eu=oktaa in ENABLED_BRIDGES), but no smsplus-bridge-oktaa binary was found",
		"bridge hash-okta (a named instance of plugin okta): its settings would be named HASH_OKTA_..., and names that start with HASH_ are the host's",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
		}
	}
	if len(m.Plugins()) != 0 {
		t.Error("a failed start left bridges running")
	}
}

// Every shipped plugin runs as a named instance on the instance's settings
// alone, and offers the instance its own rotation setting.
func TestEveryShippedPluginRunsAsAnInstance(t *testing.T) {
	t.Parallel()
	ids := []string{"auth0", "cyberark", "fusionauth", "okta", "pingone"}
	own := map[string]string{
		"AUTH0_TWO_SECRET": "auth0-two-secret-0123456789", "CYBERARK_TWO_PASS": "cyberark-two-pass-0123456789",
		"FUSIONAUTH_TWO_PASS": "fusionauth-two-pass-0123456789", "OKTA_TWO_SHARED_SECRET": "okta-two-secret-0123456789",
		"PINGONE_TWO_SHARED_SECRET": "ping-two-secret-0123456789",
	}
	instances, enabled := map[string]string{}, []string(nil)
	for _, id := range ids {
		instances[id+"-two"] = id
		enabled = append(enabled, id+"-two")
	}
	// Only the instances' settings: the plugins' own are unset.
	m := NewManager(Options{Setting: func(name string) string { return own[name] }, Instances: instances})
	if err := m.Start(context.Background(), found(t, ids...), enabled); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	for _, id := range enabled {
		p, ok := m.Get(id)
		if !ok || !p.Alive() {
			t.Fatalf("%s is not running", id)
		}
		previous := SettingsPrefix(id) + "SHARED_SECRET_PREVIOUS"
		if !slices.ContainsFunc(p.Info.Settings, func(s bridge.Setting) bool { return s.Name == previous && s.Secret }) {
			t.Errorf("%s does not read %s", id, previous)
		}
		for _, s := range p.Info.Settings {
			if !strings.HasPrefix(s.Name, SettingsPrefix(id)) && !slices.Contains(AllowedHostSettings, s.Name) {
				t.Errorf("%s reads %s, outside its namespace", id, s.Name)
			}
		}
	}
}
