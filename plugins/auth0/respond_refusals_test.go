package main

import (
	"testing"

	"github.com/smsplus/smsplus/sdk/bridgetest"
)

// Auth0 (Action and legacy gateway) reads only the status: a refused destination
// is a 422 that says not to retry, a cap a 429 that says a retry may help later.
func TestRespondDestinationRefusals(t *testing.T) {
	t.Parallel()
	b := newAuth0()
	bridgetest.StatusOnlyRefusals(t, b)
}
