// Command smsplus is the SMS+ host: serve | simulate | check-config | plugins | version.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/smsplus/smsplus/host"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := host.Main(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
