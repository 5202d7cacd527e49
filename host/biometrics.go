package host

import (
	"context"
	"errors"

	"github.com/smsplus/smsplus/host/internal/biometrics/eval"
)

// runBiometrics is `smsplus biometrics eval|prior`, the research command line:
// it lives with the engine's evaluation code (eval/cli.go).
func runBiometrics(ctx context.Context, args []string, p proc) error {
	err := eval.Command(ctx, args, p.stdout, p.stderr)
	if ue, ok := errors.AsType[*eval.UsageError](err); ok {
		return usageError{ue.Err}
	}
	return err
}
