package attack_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// Okta gives up on a telephony hook after 3 s and then texts the raw code itself:
// a hook that is not answered in time is a bypass, not an outage.
const oktaDeadline = 3 * time.Second

// TestAttackSlowBodiesForceVendorFailover.
//
// Attacker: a network client with no credentials, anywhere that can reach the hook
// URL. It opens 300 connections (from 127.0.0.2 to 127.0.0.11, so that they are
// other clients than the IAM on 127.0.0.1), sends a hook's headers and the start
// of its body, then trickles the rest one byte at a time, reconnecting whenever
// the server answers or closes.
//
// Path: POST /hooks/{bridge} -> admission slot -> body read. If a slot is taken
// before the body has arrived, 300 trickling connections hold every slot for as
// long as the server lets a body take, every legitimate hook is refused as
// "overloaded", and Okta (or Auth0's Action) falls back to texting the raw code.
//
// Defence proved: a hook's body is read under its own short deadline
// (HOOK_BODY_TIMEOUT_MS) before an admission slot is taken, with a per-client cap
// (HOOK_MAX_PER_CLIENT): while the attack runs, every legitimate Okta and Auth0 hook
// from 127.0.0.1 is answered as delivered within Okta's 3 s.
func TestAttackSlowBodiesForceVendorFailover(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t, "ENABLED_BRIDGES=okta,auth0")

	ctx, stop := context.WithCancel(context.Background())
	var attackers sync.WaitGroup
	t.Cleanup(func() { stop(); attackers.Wait() })

	const conns = 300
	var trickling atomic.Int64 // connections that have sent headers and two trickled bytes
	var ready sync.WaitGroup
	ready.Add(conns)
	for i := range conns {
		src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%10))}
		bridge := []string{"okta", "auth0"}[i%2]
		attackers.Add(1)
		go func() {
			defer attackers.Done()
			slowBody(ctx, src, s.Port, bridge, func() { trickling.Add(1); ready.Done() })
		}()
	}
	// The attack is in place once every connection has sent its headers and
	// trickled twice (the server has had their headers for a while) or has been
	// answered already.
	established := make(chan struct{})
	go func() { ready.Wait(); close(established) }()
	select {
	case <-established:
	case <-time.After(20 * time.Second):
		t.Fatalf("only %d of %d attack connections got going", trickling.Load(), conns)
	}

	// The IAM, on 127.0.0.1, with Okta's deadline on every call.
	legit := &http.Client{
		Timeout: oktaDeadline,
		Transport: &http.Transport{DialContext: (&net.Dialer{
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)},
		}).DialContext},
	}
	const perBridge = 8
	var failures []string
	delivered := map[string]int{}
	var slowest time.Duration
	for i := range perBridge * 2 {
		bridge := []string{"okta", "auth0"}[i%2]
		phone := fmt.Sprintf("+120155501%02d", 20+i)
		req := s.HookRequest(bridge, e2e.AuthHeaders(bridge), e2e.Sample(t, bridge, phone, e2e.RandomOTP(8)))
		began := time.Now()
		a, err := e2e.Do(legit, req)
		slowest = max(slowest, time.Since(began))
		switch {
		case err != nil:
			failures = append(failures, bridge+": no answer within Okta's 3s")
		case !a.Delivered(bridge):
			failures = append(failures, bridge+": "+brief(bridge, a))
		default:
			delivered[bridge]++
		}
	}
	t.Logf("while %d connections trickled bodies: %d/%d Okta and %d/%d Auth0 hooks delivered, slowest answer %s",
		conns, delivered["okta"], perBridge, delivered["auth0"], perBridge, slowest.Round(time.Millisecond))
	if len(failures) > 0 {
		t.Errorf("while %d connections trickled hook bodies, %d of %d Okta and %d of %d Auth0 legitimate hooks were answered "+
			"as delivered within %s (the vendor texts the raw code for every other one): %s",
			conns, delivered["okta"], perBridge, delivered["auth0"], perBridge, oktaDeadline, tally(failures))
	}
}

// slowBody keeps one trickling hook request open from src, reconnecting whenever
// the server answers or closes, until ctx ends. going is called once, when the
// first request has sent its headers and trickled two bytes, or has been answered.
func slowBody(ctx context.Context, src *net.TCPAddr, port int, bridge string, going func()) {
	var once sync.Once
	d := net.Dialer{LocalAddr: src, Timeout: 2 * time.Second}
	body := strings.Repeat(" ", 4000)
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		closed := make(chan struct{})
		go func() { // any answer or close ends this request
			var b [512]byte
			_, _ = c.Read(b[:])
			close(closed)
		}()
		_, err = fmt.Fprintf(c, "POST /hooks/%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"+
			"Content-Length: %d\r\n\r\n{\"data\":", bridge, port, len(body)+8)
		for i := 0; err == nil && i < len(body); i++ {
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-closed:
				err = net.ErrClosed
			case <-time.After(100 * time.Millisecond):
				_, err = c.Write([]byte{body[i]})
				if err == nil && i == 1 {
					once.Do(going)
				}
			}
		}
		c.Close()
		<-closed
		// Answered or closed: this connection has been dealt with, whether it got
		// to trickle or was refused at once (e.g. by a per-client cap).
		once.Do(going)
		// Reconnect as a patient attacker would: a flood of new connections is
		// another attack (volumetric), for the ingress to absorb.
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	once.Do(going) // never leave the test waiting on a connection that ended early
}
