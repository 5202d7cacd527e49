package host

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/smsplus/smsplus/host/internal/config"
)

func TestReport(t *testing.T) {
	t.Parallel()
	var r report
	r.add(&config.Error{Problems: []string{"A: one", "B: two"}})
	r.add(errors.Join(errors.New("bridge x: invalid settings:\n  - X_SECRET is required"), errors.New("A: one")))
	r.add(fmt.Errorf("wrapped: %w", errors.Join(errors.New("c"), errors.New("d"))))
	r.add(nil)
	r.warn("W: maybe", "", "W: maybe")
	var out bytes.Buffer
	r.print(&out)
	want := `4 configuration problem(s):
  - A: one
  - B: two
  - bridge x: invalid settings:
      - X_SECRET is required
  - wrapped: c
    d
1 warning(s):
  - W: maybe
`
	if out.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", out.String(), want)
	}
}
