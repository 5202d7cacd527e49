// Package rulecheck checks the monitoring files an operator loads beside SMS+
// (deploy/monitoring): the Prometheus alert rules, parsed by Prometheus's own
// rule parser, and the Grafana dashboard's queries, parsed by its PromQL
// parser. Every metric and label they name must be one SMS+ exports, as
// listed in deploy/monitoring/metrics.txt (which a test of the metrics package
// keeps equal to the registry).
//
// It is its own module so that the SMS+ module does not depend on Prometheus's
// server code; `make test` runs it.
package rulecheck

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
)

// Family is one metric family SMS+ exports.
type Family struct {
	Name   string
	Type   string // counter, gauge, histogram
	Labels []string
}

// Families are SMS+'s metrics by name.
type Families map[string]Family

// ReadList reads metrics.txt: name, type, labels (comma-separated), help,
// tab-separated; lines starting with # are comments.
func ReadList(path string) (Families, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fams := Families{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 4 || cols[0] == "" || cols[1] == "" {
			return nil, fmt.Errorf("%s:%d: want name, type, labels, help separated by tabs", path, n)
		}
		fam := Family{Name: cols[0], Type: cols[1]}
		if cols[2] != "" {
			fam.Labels = strings.Split(cols[2], ",")
		}
		fams[fam.Name] = fam
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(fams) == 0 {
		return nil, fmt.Errorf("%s: no metric listed", path)
	}
	return fams, nil
}

// targetLabels are added by Prometheus to every scraped series.
var targetLabels = []string{"job", "instance"}

// prometheusSeries are series Prometheus makes itself, for any target.
var prometheusSeries = Families{
	"up":     {Name: "up", Type: "gauge"},
	"ALERTS": {Name: "ALERTS", Type: "gauge", Labels: []string{"alertname", "alertstate", "severity"}},
}

// series is the family a selector's name refers to, with the labels its
// series carry: a histogram's _bucket, _sum and _count series are its own.
func (fs Families) series(name string) (Family, []string, bool) {
	if f, ok := fs[name]; ok && f.Type != "histogram" {
		return f, append(slices.Clone(f.Labels), targetLabels...), true
	}
	if f, ok := prometheusSeries[name]; ok {
		return f, append(slices.Clone(f.Labels), targetLabels...), true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if f, found := fs[base]; ok && found && f.Type == "histogram" {
			labels := append(slices.Clone(f.Labels), targetLabels...)
			if suffix == "_bucket" {
				labels = append(labels, "le")
			}
			return f, labels, true
		}
	}
	return Family{}, nil, false
}

// Metrics are the series names an expression selects.
func Metrics(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && !slices.Contains(names, selectorName(vs)) {
			names = append(names, selectorName(vs))
		}
		return nil
	})
	return names
}

func selectorName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == "__name__" {
			return m.Value
		}
	}
	return ""
}

// Check parses a PromQL expression and returns every problem with the names
// in it: a series SMS+ does not export, a label its series do not carry (in a
// matcher, a by/without clause or an on/ignoring clause).
func (fs Families) Check(p parser.Parser, expr string) []error {
	ast, err := p.ParseExpr(expr)
	if err != nil {
		return []error{fmt.Errorf("parse: %w", err)}
	}
	var errs []error
	parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			name := selectorName(n)
			_, labels, ok := fs.series(name)
			if !ok {
				errs = append(errs, fmt.Errorf("metric %q is not one SMS+ exports (deploy/monitoring/metrics.txt)", name))
				return nil
			}
			for _, m := range n.LabelMatchers {
				if m.Name != "__name__" && !slices.Contains(labels, m.Name) {
					errs = append(errs, fmt.Errorf("%s has no label %q", name, m.Name))
				}
			}
		case *parser.AggregateExpr:
			errs = append(errs, fs.checkLabels(n.Grouping, n.Expr, "by/without")...)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				errs = append(errs, fs.checkLabels(n.VectorMatching.MatchingLabels, n, "on/ignoring")...)
				errs = append(errs, fs.checkLabels(n.VectorMatching.Include, n, "group_left/group_right")...)
			}
		}
		return nil
	})
	return errs
}

// checkLabels: each label must be carried by a series selected under node.
func (fs Families) checkLabels(labels []string, node parser.Node, clause string) []error {
	var carried []string
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			_, l, _ := fs.series(selectorName(vs))
			carried = append(carried, l...)
		}
		return nil
	})
	var errs []error
	for _, l := range labels {
		if !slices.Contains(carried, l) {
			errs = append(errs, fmt.Errorf("%s (%s): no series under it carries label %q", clause, parser.Node(node).String(), l))
		}
	}
	return errs
}
