package host

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/smsplus/smsplus/host/internal/config"
)

// report gathers the problems and warnings of every check, each once.
type report struct {
	problems, warnings []string
}

// add records err's problems: each of a *config.Error, each of an errors.Join.
func (r *report) add(err error) {
	var ce *config.Error
	joined, isJoin := err.(interface{ Unwrap() []error })
	switch {
	case err == nil:
	case errors.As(err, &ce):
		r.problem(ce.Problems...)
	case isJoin:
		for _, e := range joined.Unwrap() {
			r.add(e)
		}
	default:
		r.problem(err.Error())
	}
}

func (r *report) problem(ps ...string) {
	for _, p := range ps {
		if !slices.Contains(r.problems, p) {
			r.problems = append(r.problems, p)
		}
	}
}

func (r *report) warn(ws ...string) {
	for _, w := range ws {
		if w != "" && !slices.Contains(r.warnings, w) {
			r.warnings = append(r.warnings, w)
		}
	}
}

// print lists the problems, then the warnings; a problem of several lines (a
// bridge's list) keeps its lines together, indented.
func (r *report) print(w io.Writer) {
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(w, "%d %s:\n", len(items), title)
		for _, it := range items {
			fmt.Fprintf(w, "  - %s\n", strings.ReplaceAll(it, "\n", "\n    "))
		}
	}
	list("configuration problem(s)", r.problems)
	list("warning(s)", r.warnings)
}
