//go:build browser

package browsertest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/smsplus/smsplus/host/internal/e2e"
	"github.com/smsplus/smsplus/host/internal/i18n"
)

var (
	// The owner of each phone, and someone else who holds it.
	owner    = typist{name: "owner", hold: 95, flight: 140, seed: 7}
	stranger = typist{name: "stranger", hold: 55, flight: 270, seed: 99}
)

// txt is the page's text for key in lang, with its placeholders filled.
func txt(lang, key string, args ...string) string {
	s, ok := i18n.Builtin().Lookup(lang, i18n.Key(key))
	if !ok {
		panic("no text " + key)
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+args[i]+"}", args[i+1])
	}
	return s
}

// TestChallengePage walks users through every stage of the page in Chromium.
// One server and one browser serve all scenarios; each scenario has its own
// phone number and tab.
func TestChallengePage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium and the binaries")
	}
	chromium := chromiumPath(t)
	start := time.Now()
	bin := buildBinaries(t)
	srv := startServer(t, bin, "LOCAL_ENROLL_SAMPLES=3", "MAX_FAILED_ATTEMPTS=2")
	shots := artifactsDir(t)
	old, _ := filepath.Glob(filepath.Join(shots, "*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	b := startBrowser(t, chromium, shots)
	rng := rand.New(rand.NewPCG(1, 2))
	t.Logf("setup (build, server, browser) took %v", time.Since(start).Round(time.Millisecond))

	t.Run("CSP probe catches a violation", func(t *testing.T) {
		// The console check below is only worth something if it sees violations.
		link, _, _ := srv.challenge(t, "+12015550101", "100001", "EN-US")
		tb := b.newTab(t, "en-US,en;q=0.9")
		tb.navigate(link)
		eval[bool](tb, `(function () { var i = document.createElement('img'); i.src = 'https://example.invalid/x.png'; document.body.appendChild(i); return true; })()`)
		tb.waitFor(`true`, "a moment")
		found := false
		for _, m := range tb.takeMessages() {
			if bad, why := tb.unexpected(m); bad && why == "CSP" && strings.Contains(m.Text, "img-src") {
				found = true
			}
		}
		if !found {
			t.Fatal("an image from another origin was not reported as a CSP violation")
		}
	})

	t.Run("enroll, reveal, reset now, opt out", func(t *testing.T) {
		const phone = "+12015550102"
		lang := "en"
		link, _, body := srv.challenge(t, phone, "246810", "EN-US")
		if !strings.Contains(body, "246810") {
			t.Fatalf("an enrolling user's SMS carries the code too: %q", body)
		}
		tb := b.newTab(t, "en-US,en;q=0.9")
		tb.navigate(link)
		tb.waitStage("challenge")
		if !tb.visible("terms") || !tb.visible("enroll") || !tb.visible("phrase") {
			t.Fatal("first visit: no consent box, enrollment box or phrase picture")
		}
		tb.shot("challenge-first-enrollment")

		// Sending without agreeing is refused by the page; ticking the box and
		// sending again needs no retyping.
		tb.typePhrase(owner, rng)
		tb.click("submit")
		tb.waitStatus(txt(lang, "terms.required"))
		tb.click("terms")
		for i := 1; i <= 3; i++ {
			if i > 1 {
				tb.typePhrase(owner, rng)
			}
			tb.click("submit")
			if i < 3 {
				tb.waitStatus(txt(lang, "msg.enroll_next", "done", fmt.Sprint(i), "required", "3"))
				if i == 1 {
					if tb.visible("terms") {
						t.Error("consent asked again after the first sample")
					}
					tb.shot("challenge-enrollment-progress")
				}
			} else {
				tb.waitStatus(txt(lang, "msg.enroll_done"))
			}
		}
		tb.typePhrase(owner, rng)
		tb.click("submit")
		tb.waitStage("result")
		if got := tb.text("otp"); got != "246810" {
			t.Fatalf("revealed code %q, want 246810", got)
		}
		if tb.visible("langs") || tb.visible("resetnow") || !tb.visible("disable-open") {
			t.Error("result stage: language switch shown, reset-now offered without a pending reset, or no opt-out")
		}
		if got := eval[string](tb, `document.activeElement.id`); got != "otp" {
			t.Errorf("focus on #%s, want the code", got)
		}
		tb.click("copy")
		tb.waitStatus(txt(lang, "result.copied"))
		tb.shot("result-code")
		if u := eval[string](tb, `location.href`); strings.Contains(u, "246810") {
			t.Errorf("the code is in the URL %q", u)
		}

		// The next sign-in, with a reset requested meanwhile: the page offers to
		// reset at once after the check passes.
		link, cid2, body := srv.challenge(t, phone, "135791", "EN-US")
		if strings.Contains(body, "135791") {
			t.Fatalf("an enrolled user's SMS carries the code: %q", body)
		}
		if status, res := srv.post(t, "/reset-account", map[string]string{"cid": cid2, "phone": phone}); status != 200 {
			t.Fatalf("schedule reset: %d %v", status, res)
		}
		tb.navigate(link)
		tb.waitStage("challenge")
		if tb.visible("terms") || tb.visible("enroll") {
			t.Error("an enrolled user sees the enrollment")
		}
		tb.typePhrase(owner, rng)
		tb.click("submit")
		tb.waitStage("result")
		if got := tb.text("otp"); got != "135791" {
			t.Fatalf("revealed code %q, want 135791", got)
		}
		if !tb.visible("resetnow") {
			t.Fatal("no reset-now prompt though a reset is pending")
		}
		tb.shot("result-reset-now-prompt")
		tb.fill("resetnow-phone", phone)
		tb.click("resetnow-submit")
		tb.waitStatus(txt(lang, "resetnow.done"))
		tb.shot("result-reset-now-done")

		tb.click("disable-open")
		tb.waitStage("disable")
		tb.shot("disable")
		tb.fill("disable-phone", phone)
		tb.click("disable-submit")
		tb.waitStage("done")
		if got := tb.text("done-text"); got != txt(lang, "disable.done") {
			t.Errorf("done text %q", got)
		}
		tb.shot("disable-done")

		// Opted out: the next code comes in the text message again.
		if _, _, body := srv.challenge(t, phone, "975310", "EN-US"); !strings.Contains(body, "975310") {
			t.Errorf("after opting out the SMS should carry the code: %q", body)
		}
	})

	t.Run("locked, then reset", func(t *testing.T) {
		const phone = "+12015550103"
		lang := "en"
		// Enrolled earlier on this phone (through the API, with the owner's
		// typing; the device cookie it set is this browser's).
		_, cid, _ := srv.challenge(t, phone, "111111", "EN-US")
		tb := b.newTab(t, "en-US,en;q=0.9")
		link := srv.base + "/" + cid
		tb.navigate(link)
		textID := eval[string](tb, `document.getElementById('page').dataset.textId`)
		n := eval[int](tb, `parseInt(document.getElementById('page').dataset.length, 10)`)
		api, phrase := e2e.NewDevice(false), srv.phrase(t, cid)
		for i := 1; i <= 3; i++ {
			a, err := api.Post(srv.base, "/verify-otp", api.VerifyBody(cid, textID, owner.pattern(textID, n, rng), phrase))
			if err != nil || a.Status != 200 || a.JSON()["action"] != "enroll" {
				t.Fatalf("enroll %d: %v %v", i, a, err)
			}
			for _, c := range a.Header.Values("Set-Cookie") {
				if hc, err := http.ParseSetCookie(c); err == nil {
					tb.setCookie(srv.base, hc)
				}
			}
		}

		link, _, _ = srv.challenge(t, phone, "222222", "EN-US")
		tb.navigate(link)
		// The keyboard is up while the user types, and after a failed attempt
		// the field has the focus again: the message must show above it.
		tb.keyboardUp(true)
		tb.typePhrase(stranger, rng)
		tb.click("submit")
		tb.waitStatus(txt(lang, "msg.miss", "left", "2"))
		tb.messageInSight(txt(lang, "msg.miss", "left", "2"))
		tb.shot("challenge-retry-keyboard")
		tb.keyboardUp(false)
		tb.shot("challenge-retry")
		tb.allow("/verify-otp", 403)
		tb.typePhrase(stranger, rng)
		tb.click("submit")
		tb.waitStage("locked")
		if got, want := tb.text("locked-text"), txt(lang, "locked.user", "minutes", "15"); got != want {
			t.Errorf("locked text %q, want %q", got, want)
		}
		tb.shot("locked")

		tb.click("reset-open")
		tb.waitStage("reset")
		tb.shot("reset")
		tb.allow("/reset-account", 403)
		tb.fill("reset-phone", "+1 555 555 0199")
		tb.click("reset-submit")
		tb.waitStatus(txt(lang, "phone.mismatch"))
		tb.fill("reset-phone", "+1 (201) 555-0103")
		tb.click("reset-submit")
		tb.waitStage("done")
		done := tb.text("done-text")
		if !strings.HasPrefix(done, strings.Split(txt(lang, "reset.done"), "{delay}")[0]+"1 h (") {
			t.Errorf("reset answer %q does not say it takes effect in 1 h", done)
		}
		tb.shot("reset-requested")

		// Opening the link again: the server renders the locked stage itself.
		tb.allow("/"+strings.TrimPrefix(link, srv.base+"/"), 403)
		tb.navigate(link)
		tb.waitStage("locked")
		tb.shot("locked-page")
	})

	t.Run("languages", func(t *testing.T) {
		// The IAM sent the default locale, so the browser's language wins.
		link, _, _ := srv.challenge(t, "+12015550104", "333333", "EN-US")
		tb := b.newTab(t, "fr-FR,fr;q=0.9,en;q=0.5")
		tb.navigate(link)
		if got := eval[string](tb, `document.documentElement.lang + '|' + document.querySelector('h1').textContent`); got != "fr|"+txt("fr", "challenge.title") {
			t.Fatalf("browser in French: %q", got)
		}
		tb.shot("language-browser-fr")
		// The switch.
		tb.must(chromedp.Tap(chromedp.CSS(`a[hreflang="es"]`)))
		tb.waitFor(`document.documentElement.lang === 'es' && document.getElementById('page').dataset.ready === 'true'`, "Spanish page")
		if got := eval[string](tb, `document.querySelector('h1').textContent + '|' + document.querySelector('a[aria-current]').textContent + '|' + location.search`); got != txt("es", "challenge.title")+"|Español|?lang=es" {
			t.Errorf("after the switch: %q", got)
		}
		tb.shot("language-switch-es")
		// The accessible alternative, in the chosen language.
		tb.click("spell")
		tb.waitFor(`!!document.getElementById('spelled') && document.documentElement.lang === 'es'`, "spelled phrase")
		if tb.visible("phrase") {
			t.Error("picture shown with the spelled phrase")
		}
		tb.shot("phrase-spelled-es")

		// The IAM's own locale wins over the browser's.
		link, _, body := srv.challenge(t, "+12015550105", "444444", "pt-BR")
		if !strings.Contains(body, "codigo de acesso") {
			t.Errorf("SMS not in Portuguese: %q", body)
		}
		tb2 := b.newTab(t, "fr-FR,fr;q=0.9")
		tb2.navigate(link)
		if got := eval[string](tb2, `document.documentElement.lang + '|' + document.querySelector('h1').textContent`); got != "pt|"+txt("pt", "challenge.title") {
			t.Fatalf("IAM locale pt: %q", got)
		}
		tb2.shot("language-iam-pt")
	})

	t.Run("small screen and dark mode", func(t *testing.T) {
		link, _, _ := srv.challenge(t, "+12015550106", "555555", "EN-US")
		tb := b.newTab(t, "en-US,en;q=0.9")
		tb.colorScheme("dark")
		tb.navigate(link)
		bg := eval[string](tb, `getComputedStyle(document.body).backgroundColor`)
		if bg != "rgb(17, 19, 24)" {
			t.Errorf("dark mode background %q", bg)
		}
		tb.shot("challenge-dark")
		tb.must(chromedp.EmulateViewport(320, 640, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
		tb.navigate(link)
		if w := eval[int](tb, `document.documentElement.scrollWidth`); w > 320 {
			t.Errorf("page is %d px wide on a 320 px screen", w)
		}
		if w := eval[float64](tb, `document.getElementById('phrase').getBoundingClientRect().width`); w < 280 {
			t.Errorf("phrase picture only %.0f px wide at 320 px", w)
		}
		tb.shot("challenge-320px-dark")
	})

	t.Run("unknown or expired link", func(t *testing.T) {
		tb := b.newTab(t, "en-US,en;q=0.9")
		path := "/" + strings.Repeat("Q", 22)
		tb.allow(path, 404)
		tb.navigate(srv.base + path)
		if got := eval[string](tb, `document.querySelector('h1').textContent`); got != txt("en", "error.link_title") {
			t.Errorf("title %q", got)
		}
		tb.shot("link-expired")
	})

	t.Run("device binding", func(t *testing.T) {
		testDeviceBinding(t, b, bin, rng)
	})

	t.Run("TypingDNA mode", func(t *testing.T) {
		testTypingDNA(t, b, bin, rng)
	})

	t.Run("figures", func(t *testing.T) {
		figures(t, b, srv)
	})

	b.mu.Lock()
	saved := slices.Clone(b.saved)
	b.mu.Unlock()
	t.Logf("screenshots (%d) in %s:\n  %s", len(saved), shots, strings.Join(saved, "\n  "))
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}
