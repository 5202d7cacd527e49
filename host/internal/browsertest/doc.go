// Package browsertest holds the browser end-to-end tests of the challenge page:
// it builds the real binaries, starts `smsplus serve`, and drives Debian's
// Chromium through chromedp on a 360x740 phone viewport, the way a user with a
// text message would. The tests are behind the build tag "browser":
//
//	make test-browser        # installs Chromium when missing (.ci/chromium.sh)
//	go test -tags browser -v ./host/internal/browsertest/
//
// They fail on any console error or Content-Security-Policy violation, save a
// screenshot of every stage under $ARTIFACTS_DIR/browser (default
// ./artifacts/browser at the repository root) and log the page's weight and
// timings. Without Chromium they skip, except under CI=true, where they fail.
package browsertest
