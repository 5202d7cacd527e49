// Package attack is SMS+'s attack suite: each test drives the real binaries over
// HTTP (through host/internal/e2e) the way an attacker would, and asserts that the
// attack fails. One file per attack family; docs/security.md names, for every
// defence, the test here that proves it.
//
// The attackers: a SIM holder or phishing relay holding a link and a script; a
// network client with no credentials; a script working through many links and
// numbers; a malicious or replaced bridge plugin; operator mistakes (a volatile
// Redis, writable plugin folders). Every test is bounded and runs on loopback
// only; servers are independent, so the tests run in parallel.
package attack
