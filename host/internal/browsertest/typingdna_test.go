//go:build browser

package browsertest

import (
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/biometrics/typingdna/fake"
)

// standInRecorder stands in for TypingDNA's recorder (typingdna.js), which
// production loads from TypingDNA's URL and which is never copied into this
// repository. It was written for this test: it offers what static/tdna.js uses
// of the recorder's API (a singleton with addTarget, removeTarget, reset, stop
// and getTypingPattern) and writes a mobile same-text (type 1) pattern in the
// layout typingdna/api.md section 6 describes, with made-up motion data. Its
// device-signature hash is fixed, which the fake TypingDNA server takes as "the
// same typist".
const standInRecorder = `/* stand-in for TypingDNA's recorder, for SMS+ browser tests only */
function TypingDNA() {
  if (TypingDNA.instance) { return TypingDNA.instance; }
  TypingDNA.instance = this;
  var self = this;
  this.targets = []; this.keys = []; this.downs = {}; this.on = true;
  document.addEventListener('keydown', function (e) {
    if (self.on && self.targets.indexOf(e.target.id) >= 0) { self.downs[e.code] = e.timeStamp; }
  }, true);
  document.addEventListener('keyup', function (e) {
    if (!self.on || self.targets.indexOf(e.target.id) < 0 || !(e.code in self.downs)) { return; }
    self.keys.push([self.downs[e.code], e.timeStamp]);
    delete self.downs[e.code];
  }, true);
}
TypingDNA.prototype.addTarget = function (id) { this.targets.push(id); };
TypingDNA.prototype.removeTarget = function (id) { this.targets = this.targets.filter(function (t) { return t !== id; }); };
TypingDNA.prototype.reset = function () { this.keys = []; this.downs = {}; };
TypingDNA.prototype.stop = function () { this.on = false; this.reset(); };
TypingDNA.prototype.getTypingPattern = function (o) {
  var n = o.text.length, keys = this.keys.slice(-n);
  if (o.type !== 1 || keys.length !== n) { return null; }
  var head = [1, 3.2, 0, 0, n, o.textId];
  for (var i = 0; i < 15; i++) { head.push(i % 3 === 0 ? 0 : -1); }
  head = head.concat([1, 0, 0, 1, 2, 1, 916068587, 1, 1, 0, 0, 0, 1, 360, 740, 0, 1015, 118, 0, 424242]);
  var out = [head.join(',')], fixed = [], z = [], a = [], b = [];
  for (var k = 0; k < n; k++) {
    var seek = k === 0 ? 0 : Math.round(keys[k][0] - keys[k - 1][0]);
    out.push(seek + ',' + Math.max(1, Math.round(keys[k][1] - keys[k][0])));
    fixed.push([12 + k, 480, 860, 3, -2, 1, 410, -30].join(','));
    z.push(k % 5 - 2); a.push(2 - k % 3); b.push(k % 4);
  }
  return out.join('|') + '#' + fixed.join('|') + '#' + z.join('|') + '/' + a.join('|') + '/' + b.join('|');
};
`

// testTypingDNA runs the page in TypingDNA mode: a second SMS+ uses the fake
// TypingDNA API, and the page loads the recorder from another origin, which its
// CSP must allow, and nothing else from there.
func testTypingDNA(t *testing.T, b *browser, bin string, rng *rand.Rand) {
	api := fake.Start(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/scripts/typingdna.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte(standInRecorder))
	})
	mux.HandleFunc("/scripts/other.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte("window.otherRan = true;"))
	})
	scripts := httptest.NewServer(mux)
	t.Cleanup(scripts.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(scripts.URL, "http://"))
	origin := "http://localhost:" + port // not the page's origin (127.0.0.1)
	recorder := origin + "/scripts/typingdna.js"

	srv := startServer(t, bin, "BIOMETRICS_ENGINE=typingdna", "TYPINGDNA_API_KEY=fake-key", "TYPINGDNA_API_SECRET=fake-secret",
		"TYPINGDNA_SERVER="+api.URL, "TYPINGDNA_RECORDER_URL="+recorder)
	const phone = "+12015550107"
	lang := "en"
	link, _, body := srv.challenge(t, phone, "864202", "EN-US")
	if !strings.Contains(body, "864202") {
		t.Fatalf("first TypingDNA challenge: the SMS should carry the code: %q", body)
	}
	tb := b.newTab(t, "en-US,en;q=0.9")
	tb.navigate(link)
	if got := eval[string](tb, `document.getElementById('page').dataset.engine + '|' + typeof window.TypingDNA + '|' + document.scripts[0].src`); got != "typingdna|function|"+recorder {
		t.Fatalf("recorder not loaded: %q", got)
	}
	// Chromium, like iOS Safari, has DeviceMotionEvent.requestPermission: the
	// page asks before typing starts.
	if tb.visible("motion") {
		if eval[bool](tb, `!document.getElementById('typed').disabled`) {
			t.Error("typing allowed before the motion permission")
		}
		tb.shot("typingdna-motion-permission")
		tb.click("motion-allow")
		tb.waitFor(`document.getElementById('motion').hidden && !document.getElementById('typed').disabled`, "motion permission")
	} else if eval[bool](tb, `typeof DeviceMotionEvent !== 'undefined' && typeof DeviceMotionEvent.requestPermission === 'function'`) {
		t.Error("no motion panel though the browser wants a permission")
	}
	tb.click("terms")
	tb.typePhrase(owner, rng)
	tb.click("submit")
	tb.waitStatus(txt(lang, "msg.enroll_done"))
	tb.typePhrase(owner, rng)
	tb.click("submit")
	tb.waitStage("result")
	if got := tb.text("otp"); got != "864202" {
		t.Fatalf("revealed code %q", got)
	}
	tb.shot("typingdna-result")
	if n := api.Calls(fake.OpVerify); n < 2 {
		t.Errorf("TypingDNA verify calls: %d", n)
	}

	// The CSP allows exactly the recorder: another script of the same origin is
	// refused.
	eval[bool](tb, `(function () { var s = document.createElement('script'); s.src = `+js(origin+"/scripts/other.js")+`; document.head.appendChild(s); return true; })()`)
	tb.waitFor(`true`, "a moment")
	refused := false
	for _, m := range tb.takeMessages() {
		if bad, why := tb.unexpected(m); bad && why == "CSP" && strings.Contains(m.Text, "script-src") {
			refused = true
		}
	}
	if !refused || eval[bool](tb, `window.otherRan === true`) {
		t.Error("a second script from the recorder's origin was not refused")
	}
}
