package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Metrics is a /metrics scrape: "name{label="value",...}" (labels sorted by name;
// just "name" without labels) -> value.
type Metrics map[string]float64

// Value returns the sample of name with exactly the given labels (pairs of label
// name and value), 0 if there is none.
func (m Metrics) Value(name string, labels ...string) float64 {
	return m[metricKey(name, labels)]
}

// Lookup returns the sample of name with exactly the given labels, and whether
// the server exports it at all (a counter at 0 is there; a misspelt one is not).
func (m Metrics) Lookup(name string, labels ...string) (float64, bool) {
	v, ok := m[metricKey(name, labels)]
	return v, ok
}

// Sum adds every sample of name whose labels include the given pairs.
func (m Metrics) Sum(name string, labels ...string) float64 {
	var sum float64
	for key, v := range m {
		n, ls := splitKey(key)
		if n != name {
			continue
		}
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			if !slices.Contains(ls, fmt.Sprintf("%s=%q", labels[i], labels[i+1])) {
				ok = false
			}
		}
		if ok {
			sum += v
		}
	}
	return sum
}

func metricKey(name string, labels []string) string {
	if len(labels) == 0 {
		return name
	}
	var pairs []string
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

func splitKey(key string) (string, []string) {
	name, rest, ok := strings.Cut(key, "{")
	if !ok {
		return name, nil
	}
	return name, parseLabels(strings.TrimSuffix(rest, "}"))
}

// parseLabels splits `a="x",b="y"` into `a="x"`, `b="y"` (values re-quoted with
// Go quoting, so that keys compare equal however the server escaped them).
func parseLabels(s string) []string {
	var out []string
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			break
		}
		name := strings.TrimSpace(s[:eq])
		var val strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(s[i])
				}
				continue
			}
			val.WriteByte(s[i])
		}
		out = append(out, fmt.Sprintf("%s=%q", name, val.String()))
		s = strings.TrimLeft(s[min(i+1, len(s)):], ", ")
	}
	return out
}

// ParseMetrics reads the Prometheus text format.
func ParseMetrics(text string) Metrics {
	m := Metrics{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		var series, value string
		if i := strings.LastIndexByte(line, '}'); i >= 0 {
			series, value = line[:i+1], strings.TrimSpace(line[i+1:])
		} else {
			series, value, _ = strings.Cut(line, " ")
		}
		value, _, _ = strings.Cut(strings.TrimSpace(value), " ") // drop a timestamp
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		name, labels := splitKey(series)
		slices.Sort(labels)
		key := name
		if len(labels) > 0 {
			key += "{" + strings.Join(labels, ",") + "}"
		}
		m[key] = v
	}
	return m
}

// Metrics scrapes /metrics (with the METRICS_TOKEN the server was started with,
// if any).
func (s *Server) Metrics(t testing.TB) Metrics {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.Base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok := Getenv(s.Env, "METRICS_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	a, err := Do(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != http.StatusOK {
		t.Fatalf("/metrics: %s", a)
	}
	return ParseMetrics(string(a.Body))
}
