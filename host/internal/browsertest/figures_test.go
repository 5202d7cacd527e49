//go:build browser

package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// figures measures the challenge page in Chromium with the cache off (a first
// visit): the weight of each response as transferred (compressed), and the time
// to first paint, to first contentful paint and until page.js is ready
// (interactive), on loopback (the page's own cost) and on an emulated 3G
// connection (where the first paint must come before the scripts). It logs them
// and writes figures.txt next to the screenshots.
func figures(t *testing.T, b *browser, srv *server) {
	const runs = 7
	link, _, _ := srv.challenge(t, "+12015550108", "777777", "EN-US")
	tb := b.newTab(t, "en-US,en;q=0.9")
	tb.setCache(true)
	type timing struct {
		FP, FCP, DOMInteractive, DCL, Ready, Load float64
		Resources                                 []struct {
			Name                       string
			Transfer, Encoded, Decoded float64
		}
	}
	measure := func(n int) []timing {
		var out []timing
		for range n {
			tb.navigate(link)
			tb.waitFor(`performance.getEntriesByName('smsplus-ready').length > 0 && performance.getEntriesByType('navigation')[0].loadEventEnd > 0 &&
			  performance.getEntriesByType('paint').length >= 2`, "load and paint")
			raw := eval[string](tb, `JSON.stringify((function () {
			  var paint = {}; performance.getEntriesByType('paint').forEach(function (e) { paint[e.name] = e.startTime; });
			  var nav = performance.getEntriesByType('navigation')[0];
			  var res = [{Name: location.pathname + ' (page)', Transfer: nav.transferSize, Encoded: nav.encodedBodySize, Decoded: nav.decodedBodySize}];
			  performance.getEntriesByType('resource').forEach(function (e) {
			    res.push({Name: new URL(e.name).pathname, Transfer: e.transferSize, Encoded: e.encodedBodySize, Decoded: e.decodedBodySize});
			  });
			  return {FP: paint['first-paint'] || 0, FCP: paint['first-contentful-paint'] || 0, DOMInteractive: nav.domInteractive,
			    DCL: nav.domContentLoadedEventEnd, Ready: performance.getEntriesByName('smsplus-ready')[0].startTime, Load: nav.loadEventEnd, Resources: res};
			})())`)
			var tm timing
			if err := json.Unmarshal([]byte(raw), &tm); err != nil {
				t.Fatal(err)
			}
			out = append(out, tm)
		}
		return out
	}
	all := measure(runs)
	// The same on an emulated phone network (DevTools' "Fast 3G": 562.5 ms
	// latency, 1.44 Mbit/s down, 675 kbit/s up), where the scripts' round trip
	// shows: the first paint must not wait for it.
	throttle := func(latency, down, up float64) {
		tb.call(func(ctx context.Context) error {
			_, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
				MatchedNetworkConditions: []*network.Conditions{{Latency: latency, DownloadThroughput: down, UploadThroughput: up}},
			})
			return err
		})
	}
	throttle(562.5, 180000, 84375)
	slow := measure(3)
	throttle(0, -1, -1)
	tb.setCache(false)
	median := func(set []timing, f func(timing) float64) float64 {
		v := make([]float64, len(set))
		for i, tm := range set {
			v[i] = f(tm)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	fp := func(x timing) float64 { return x.FP }
	fcp := func(x timing) float64 { return x.FCP }
	di := func(x timing) float64 { return x.DOMInteractive }
	ready := func(x timing) float64 { return x.Ready }
	load := func(x timing) float64 { return x.Load }
	add("challenge page, headless %s, 360x740 phone viewport, cache off (a first visit):", chromiumVersion(t, tb))
	add("  %-30s %12s %16s", "milliseconds after navigation", "loopback", "emulated 3G")
	add("  %-30s %12s %16s", "", fmt.Sprintf("(median of %d)", runs), fmt.Sprintf("(median of %d)", len(slow)))
	for _, row := range []struct {
		name string
		f    func(timing) float64
	}{{"first paint", fp}, {"first contentful paint", fcp}, {"DOM interactive", di}, {"interactive (page.js ready)", ready}, {"load event end", load}} {
		add("  %-30s %12.0f %16.0f", row.name, median(all, row.f), median(slow, row.f))
	}
	add("weight of the first load (bytes; transferred = compressed body + headers):")
	res := all[0].Resources
	sort.SliceStable(res, func(i, j int) bool { return res[i].Encoded > res[j].Encoded })
	var enc, dec, xfer float64
	for _, r := range res {
		name := r.Name
		if strings.Count(name, "/") == 1 && !strings.HasPrefix(name, "/static/") {
			name = "/<cid> (page, with the phrase picture inline)"
		}
		add("  %-45s compressed %6.0f  uncompressed %6.0f  transferred %6.0f", name, r.Encoded, r.Decoded, r.Transfer)
		enc, dec, xfer = enc+r.Encoded, dec+r.Decoded, xfer+r.Transfer
	}
	add("  %-45s compressed %6.0f  uncompressed %6.0f  transferred %6.0f", "total", enc, dec, xfer)
	if enc > 60<<10 {
		t.Errorf("the page and its assets weigh %.0f bytes compressed, want under 60 KB", enc)
	}
	if median(all, fp) == 0 {
		t.Error("no first-paint entry")
	}
	for _, x := range slow {
		if x.FP == 0 || x.FP >= x.Ready {
			t.Errorf("on a slow network the first paint (%.0f ms) waited for the scripts (ready at %.0f ms)", x.FP, x.Ready)
		}
	}
	out := strings.Join(lines, "\n")
	t.Log("\n" + out)
	if err := os.WriteFile(filepath.Join(b.shots, "figures.txt"), []byte(out+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func chromiumVersion(t *testing.T, tb *tab) string {
	v, err := chromedp.CallBrowser(tb.ctx, cdpbrowser.GetVersion, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	return v.Product
}
