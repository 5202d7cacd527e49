//go:build browser

package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/smsplus/smsplus/host/internal/challenge"
	"github.com/smsplus/smsplus/host/internal/e2e"
)

// The device binding in a real browser (issue 12): the owner's phone is the
// browser's own profile, another phone a second profile (a browser context of
// its own: no cookies, no IndexedDB in common).

const browserSalt = "browser-salt" // HASH_SALT of startServer

// deviceCookieName is the device cookie of a phone's user over http.
func deviceCookieName(phone string) string {
	return "smsplus-" + challenge.DeviceTag(challenge.UserID(phone, browserSalt))
}

// cookies returns the browser's cookies for url, HttpOnly ones included.
func (tb *tab) cookies(url string) []*network.Cookie {
	tb.t.Helper()
	var out []*network.Cookie
	tb.call(func(ctx context.Context) error {
		res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
		out = res.Cookies
		return err
	})
	return out
}

func findCookie(cs []*network.Cookie, name string) *network.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// setCookie puts a cookie SMS+ set elsewhere (for the same phone) into the
// browser, as the server would have set it.
func (tb *tab) setCookie(url string, c *http.Cookie) {
	tb.t.Helper()
	yes, no := true, false
	tb.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
			Name: c.Name, Value: c.Value, URL: url, Path: "/", HTTPOnly: &yes, Secure: &no,
			SameSite: network.CookieSameSiteStrict,
			Expires:  cdp.TimeSinceEpoch(time.Now().Add(time.Duration(c.MaxAge) * time.Second).Unix()),
		})
		return err
	})
}

// captured is a verification request as a proxy log or malware on the phone
// would keep it: the body and the Cookie header.
type captured struct {
	body   []byte
	cookie string
}

// captureVerify records the POST /verify-otp requests the tab sends from now
// on and returns the last one: its body, and the Cookie header as it went over
// the wire (DevTools reports it apart, before or after the request itself).
func (tb *tab) captureVerify() func() captured {
	tb.t.Helper()
	var mu sync.Mutex
	var id network.RequestID
	var body []byte
	cookies := map[network.RequestID]string{}
	tb.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
		return err
	})
	if err := chromedp.Listen(tb.ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if strings.HasSuffix(e.Request.URL, "/verify-otp") {
				id, body = e.RequestID, nil
				for _, p := range e.Request.PostDataEntries {
					body = append(body, p.Bytes...)
				}
			}
		case *network.EventRequestWillBeSentExtraInfo:
			for k, v := range e.Headers {
				if s, ok := v.(string); ok && strings.EqualFold(k, "cookie") {
					cookies[e.RequestID] = s
				}
			}
		}
	}); err != nil {
		tb.t.Fatal(err)
	}
	return func() captured {
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			c, ok := cookies[id]
			got := captured{body: body, cookie: c}
			mu.Unlock()
			if id != "" && ok {
				return got
			}
			if time.Now().After(deadline) {
				tb.t.Fatalf("no verification request captured (request %q, body %d bytes, cookie %v)", id, len(got.body), ok)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// phrase reads the user's phrase from the page's spelled-out view, as anyone
// with the link can.
func (s *server) phrase(t *testing.T, cid string) string {
	t.Helper()
	resp, err := http.Get(s.base + "/" + cid + "?spell=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := e2e.SpelledPhrase(body)
	if p == "" {
		t.Fatalf("no spelled phrase on %s (%d)", cid, resp.StatusCode)
	}
	return p
}

// replay sends a captured request on another link, as an attacker's script
// would: the challenge id and the phrase proof redone for the new link (the
// phrase is no secret), the device's key and signature kept or stripped, the
// captured Cookie header.
func (s *server) replay(t *testing.T, c captured, cid, phrase string, strip bool) (int, map[string]any) {
	t.Helper()
	var body map[string]string
	if err := json.Unmarshal(c.body, &body); err != nil {
		t.Fatalf("captured body %q: %v", c.body, err)
	}
	body["cid"], body["phraseProof"] = cid, challenge.PhraseProof(cid, phrase)
	if strip {
		delete(body, "deviceKey")
		delete(body, "deviceProof")
	}
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.base+"/verify-otp", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", c.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// otherSite serves a page of another site (localhost is not 127.0.0.1) that
// links to url: the text message app, a web mail.
func otherSite(t *testing.T, url string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Messages</title><p><a id="link" href="%s">%s</a></p>`, url, url)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	return "http://localhost:" + port + "/"
}

// pass types the phrase with the typist's timing until the code shows (the
// engine refuses a genuine attempt now and then), at most tries times, and
// returns the timings of the attempt that passed.
func (tb *tab) pass(p typist, rng *rand.Rand, tries int) (holds, flights []time.Duration) {
	tb.t.Helper()
	for range tries {
		holds, flights = p.timings(tb.phraseLength(), rng)
		tb.typeTimings(holds, flights)
		tb.click("submit")
		tb.waitFor(`!document.getElementById('stage-result').hidden || / error$/.test(document.getElementById('status').className)`, "an answer")
		if tb.visible("otp") {
			return holds, flights
		}
	}
	tb.t.Fatalf("the owner did not pass in %d tries (status %q)", tries, tb.text("status"))
	return nil, nil
}

// testDeviceBinding runs on a server of its own: the scenario spends failed
// attempts on purpose, more than the main server's MAX_FAILED_ATTEMPTS=2.
func testDeviceBinding(t *testing.T, b *browser, bin string, rng *rand.Rand) {
	const phone = "+12015550109"
	lang := "en"
	cookieName := deviceCookieName(phone)
	srv := startServer(t, bin, "LOCAL_ENROLL_SAMPLES=3")

	// 1. The owner enrolls and passes on their phone.
	link, _, _ := srv.challenge(t, phone, "121212", "EN-US")
	owner := b.newTab(t, "en-US,en;q=0.9")
	owner.navigate(link)
	owner.click("terms")
	for i := 1; i <= 3; i++ {
		owner.typePhrase(ownerOfDevice, rng)
		owner.click("submit")
		if i < 3 {
			owner.waitStatus(txt(lang, "msg.enroll_next", "done", fmt.Sprint(i), "required", "3"))
		} else {
			owner.waitStatus(txt(lang, "msg.enroll_done"))
		}
	}
	passed, passedFlights := owner.pass(ownerOfDevice, rng, 3)
	if got := owner.text("otp"); got != "121212" {
		t.Fatalf("the owner's code: %q", got)
	}
	c := findCookie(owner.cookies(srv.base), cookieName)
	if c == nil {
		t.Fatalf("no device cookie %s after the enrollment", cookieName)
	}
	days := (c.Expires - float64(time.Now().Unix())) / 86400
	if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/" || c.Session || math.Abs(days-400) > 1 || len(c.Value) != 22 {
		t.Errorf("device cookie: HttpOnly %v, SameSite %q, Path %q, session %v, expires in %.1f days, %d chars; want HttpOnly, Strict, /, 400 days, 22 chars",
			c.HTTPOnly, c.SameSite, c.Path, c.Session, days, len(c.Value))
	}
	if eval[bool](owner, `document.cookie.indexOf(`+js(c.Value)+`) >= 0 || document.cookie.indexOf('smsplus') >= 0`) {
		t.Error("page script can read the device cookie")
	}
	key := evalAwait[string](owner, `new Promise(function (resolve) {
	  var open = indexedDB.open('smsplus');
	  open.onsuccess = function () {
	    var get = open.result.transaction('keys').objectStore('keys').get('device');
	    get.onsuccess = function () {
	      var k = get.result;
	      resolve(k ? k.privateKey.type + ' ' + k.privateKey.algorithm.namedCurve + ' extractable=' + k.privateKey.extractable : 'none');
	    };
	  };
	})`)
	if key != "private P-256 extractable=false" {
		t.Errorf("the device key in IndexedDB: %q, want a non-extractable P-256 private key", key)
	}

	// 2. Another phone with the same link and the owner's exact timings: those
	// of the attempt the owner just passed with.
	link2, _, _ := srv.challenge(t, phone, "343434", "EN-US")
	thief := b.otherPhone(t, "en-US,en;q=0.9")
	thief.navigate(link2)
	thief.allow("/verify-otp", 403)
	thief.typeTimings(passed, passedFlights)
	thief.click("submit")
	thief.waitStage("device")
	if got := eval[string](thief, `document.activeElement.id`); got != "device-title" {
		t.Errorf("focus on #%s, want the device stage's heading", got)
	}
	thief.shot("device-unknown")
	// The owner, same link: the code.
	owner.navigate(link2)
	owner.pass(ownerOfDevice, rng, 2)
	if got := owner.text("otp"); got != "343434" {
		t.Fatalf("the owner after the other phone's try: %q", got)
	}

	// 3. The owner opens the next link from another site (a text message app,
	// a web mail): the page's request still carries the SameSite=Strict
	// cookie. That request is captured, cookie and all, and replayed on a new
	// link: refused, signed or not.
	link3, _, _ := srv.challenge(t, phone, "565656", "EN-US")
	owner.navigate(otherSite(t, link3))
	owner.click("link")
	owner.waitFor(`location.href === `+js(link3)+` && document.getElementById('page') && document.getElementById('page').dataset.ready === 'true'`, "the link opened from another site")
	capture := owner.captureVerify()
	owner.pass(ownerOfDevice, rng, 3)
	if got := owner.text("otp"); got != "565656" {
		t.Fatalf("the owner, from another site: %q", got)
	}
	req := capture()
	if !strings.Contains(req.cookie, cookieName+"=") || !bytes.Contains(req.body, []byte(`"deviceProof"`)) {
		t.Fatalf("captured request without the device cookie or proof: cookie %q, body %s", req.cookie, req.body)
	}
	for i, strip := range []bool{false, true} {
		link4, cid4, _ := srv.challenge(t, phone, fmt.Sprintf("78787%d", i), "EN-US")
		status, res := srv.replay(t, req, cid4, srv.phrase(t, cid4), strip)
		if status != 403 || res["code"] != float64(114) || res["otp"] != nil {
			t.Errorf("the captured request (signature stripped: %v) replayed on a new link: %d %v; want 403 code 114", strip, status, res)
		}
		// The owner, on that link: the code (the refusal counted; a pass clears it).
		owner.navigate(link4)
		owner.pass(ownerOfDevice, rng, 2)
	}

	// 4. A reset: the binding is gone, from the browser and from SMS+.
	link5, cid5, _ := srv.challenge(t, phone, "909090", "EN-US")
	if status, res := srv.post(t, "/reset-account", map[string]string{"cid": cid5, "phone": phone}); status != 200 {
		t.Fatalf("schedule reset: %d %v", status, res)
	}
	owner.navigate(link5)
	owner.pass(ownerOfDevice, rng, 3)
	owner.fill("resetnow-phone", phone)
	owner.click("resetnow-submit")
	owner.waitStatus(txt(lang, "resetnow.done"))
	if c := findCookie(owner.cookies(srv.base), cookieName); c != nil {
		t.Errorf("after the reset the browser still holds the device cookie")
	}
	// The next code starts a new enrollment, which the other phone may now do.
	link6, _, body := srv.challenge(t, phone, "111222", "EN-US")
	if !strings.Contains(body, "111222") {
		t.Fatalf("after the reset the user enrolls again, with the code in the text: %q", body)
	}
	thief.navigate(link6)
	thief.click("terms")
	thief.typePhrase(ownerOfDevice, rng)
	thief.click("submit")
	thief.waitStatus(txt(lang, "msg.enroll_next", "done", "1", "required", "3"))
	if findCookie(thief.cookies(srv.base), cookieName) == nil {
		t.Error("the new phone was not bound by its first enrollment after the reset")
	}
}

// ownerOfDevice is the owner of the device-binding scenario's phone.
var ownerOfDevice = typist{name: "owner", hold: 92, flight: 150, seed: 11}
