// Package e2e drives the real SMS+ binaries from tests: it builds `smsplus` and
// the bridge plugins once per test process, starts `smsplus serve` on laptop
// defaults (embedded store in a temporary DATA_DIR, console SMS sender, local
// biometrics engine) on a free port, and gives tests what a vendor, a phone and an
// operator see: hook answers, the texts the console sender prints, the challenge
// page, /readyz, /metrics, and the processes.
//
// It is a normal package (not a _test file) so that every test package that runs
// the binaries shares one harness. A test package that uses it should clean the
// build up from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }
//
// Typical use:
//
//	bin := e2e.Shipped(t)                       // smsplus + every plugin in ./plugins
//	s := bin.Start(t, "ENABLED_BRIDGES=okta")   // later settings win over the defaults
//	a := s.Hook(t, "okta", "+12015550123", "0123456789") // Okta's call, as the plugin renders it
//	sms := s.NextSMS(t, "+12015550123")      // the console sender's text to that phone
//
// The vendors' calls come from the bridges themselves: Hook and Example launch
// the server's plugin binary once more, configured with the server's settings,
// and ask it for its vendor's call (the optional Example RPC that `smsplus
// simulate` uses), so the harness holds no vendor's payload or credential
// scheme. Sample and AuthHeaders remain for the tests that must alter a
// vendor's own bytes (a duplicated key, a content type, a national number).
//
// What it offers, by who would see it:
//
//   - building: Shipped (host + ./plugins/*, once per process), BuildPlugin (any
//     main package, e.g. a bridge in its own module, optionally with -ldflags),
//     Binaries.PluginDirWith (a private plugin folder a test may change).
//   - running: Binaries.Start (ready or the test fails), StartExpectingFailure
//     (exit code and output, or Started), Launch/WaitReady; Binaries.Run (any
//     other command: check-config, simulate, healthcheck); a Binaries of your
//     own for binaries built another way (make static); DefaultEnv and
//     MergeEnv ("KEY=v" sets, a bare "KEY" unsets); TwilioEnv and TypingDNAEnv
//     (the production clients against the fakes); Server.Stop (SIGTERM and
//     wait), Signal, Wait, Kill (SIGKILL), PluginPIDs, PluginPID, PluginsSeen,
//     Stdout/Stderr, Logs and LogTime (the JSON log lines), StoreFile, DataDir.
//   - a vendor: Server.Hook and HookErr (the plugin's example), Example and
//     ExampleErr (the request, to send with Do and a client of your own:
//     deadlines, source addresses), Parse (what the host learns from a call),
//     PostHook, HookRequest, Sample, AuthHeaders, Secrets; Answer.Delivered,
//     OktaStatus, OktaReason, and Sent, Received and Took.
//   - a phone: SMS, SMSTo, LastSMS, NextSMS, SMS.Link; NewChallenge (hook, text,
//     page), NewLink, Page, Verify, Enroll, Pass; Owner and Impostor typists.
//   - a browser: Device (a cookie jar and a key standing in for the page's
//     WebCrypto key), NewDevice, Server.Phone (the browser every request above
//     comes from, so Enroll binds it), VerifyFrom, EnrollFrom, PassFrom,
//     Device.VerifyBody and Device.Post (a request to capture and replay),
//     Cookies, SetCookies, NewKey, WipeKey; PhraseBook and SpelledPhrase (the
//     phrase, read from the page's spelled-out view: every verification proves
//     the phrase was typed).
//   - an operator: Readyz and PluginStatus (the plugins' status), Metrics
//     (/metrics as a map; Value, Lookup and Sum by labels), RedisServer (a
//     private redis-server with given flags; skips without the binary unless
//     CI=true).
//   - processes: ChildPIDs, DescendantPIDs, Alive (zombies count as dead),
//     Argv0, ExeSHA256, FileSHA256.
//
// Everything runs on loopback. The server listens on every address (":PORT"), so
// tests may dial it from other loopback source addresses (127.0.0.2, ...) to act
// as other clients.
package e2e
