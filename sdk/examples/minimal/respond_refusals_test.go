package main

import (
	"testing"
	"time"

	"github.com/smsplus/smsplus/sdk/bridgetest"
)

// The minimal bridge answers by status only: a refused destination is a 422
// that says not to retry, a cap a 429 that says a retry may help later.
func TestRespondDestinationRefusals(t *testing.T) {
	t.Parallel()
	bridgetest.StatusOnlyRefusals(t, &minimal{now: time.Now})
}
