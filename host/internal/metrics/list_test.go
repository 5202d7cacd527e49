package metrics

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/memory"
)

// listFile is the published list of SMS+'s metrics. The alert rules and the
// Grafana dashboard beside it are checked against it (deploy/monitoring/rulecheck).
const listFile = "../../../deploy/monitoring/metrics.txt"

var update = flag.Bool("update", false, "rewrite "+listFile+" from the registry")

const listHeader = `# The metrics SMS+ exports at /metrics, generated from its registry by
#   go test ./host/internal/metrics -run TestPublishedMetricList -update
# (the Go runtime's go_* and the process's process_* metrics are exported too,
# and not listed: they change with the Go version and the platform).
# The alert rules and the dashboard are checked against this list by
# deploy/monitoring/rulecheck. Columns, tab-separated: name, type, labels, help.
`

// TestPublishedMetricList fails when deploy/monitoring/metrics.txt is not
// what the registry exports, so the rules' check reads the truth.
func TestPublishedMetricList(t *testing.T) {
	t.Parallel()
	m := exercised(t)
	got := listHeader + publishedList(t, m)
	if *update {
		if err := os.WriteFile(listFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(listFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != got {
		t.Errorf("%s is not what the registry exports; rerun with -update and review the diff. Want:\n%s", listFile, got)
	}
}

// publishedList is one line per smsplus_ family: name, type, labels, help.
// Every registered collector must have been exercised, so that each family
// shows in the gathered output with its labels.
func publishedList(t *testing.T, m *Metrics) string {
	t.Helper()
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	gathered := map[string]*dto.MetricFamily{}
	for _, f := range families {
		gathered[f.GetName()] = f
	}
	var lines []string
	for _, name := range describedNames(t, m) {
		f, ok := gathered[name]
		if !ok {
			t.Errorf("%s is registered but shows no sample: exercise it in exercised()", name)
			continue
		}
		var labels []string
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if !slices.Contains(labels, l.GetName()) {
					labels = append(labels, l.GetName())
				}
			}
		}
		slices.Sort(labels)
		lines = append(lines, fmt.Sprintf("%s\t%s\t%s\t%s\n", name, strings.ToLower(f.GetType().String()),
			strings.Join(labels, ","), f.GetHelp()))
	}
	return strings.Join(lines, "")
}

// fqName reads a descriptor's name: client_golang's Desc has no accessor, and
// its String is the only place the name shows before a sample exists.
var fqName = regexp.MustCompile(`^Desc\{fqName: "([^"]+)"`)

// describedNames are the sorted smsplus_ names of every registered collector.
func describedNames(t *testing.T, m *Metrics) []string {
	t.Helper()
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range m.registered {
			c.Describe(ch)
		}
		close(ch)
	}()
	var names []string
	for d := range ch {
		match := fqName.FindStringSubmatch(d.String())
		if match == nil {
			t.Fatalf("cannot read the name of %s", d)
		}
		if strings.HasPrefix(match[1], namespace+"_") && !slices.Contains(names, match[1]) {
			names = append(names, match[1])
		}
	}
	if len(names) == 0 {
		t.Fatal("no smsplus_ metric described")
	}
	slices.Sort(names)
	return names
}

type nopAuditor struct{}

func (nopAuditor) Record(string, string, map[string]any) {}

type sendFunc func(context.Context, sms.Message) (sms.Receipt, error)

func (f sendFunc) Send(ctx context.Context, msg sms.Message) (sms.Receipt, error) { return f(ctx, msg) }

type failingStore struct{ storage.Store }

func (failingStore) Ping(context.Context) error { return errors.New("down") }

// exercised is a Metrics registered as host.build does, with a sample in every
// family.
func exercised(t *testing.T) *Metrics {
	t.Helper()
	m := New()
	m.ObserveHook("okta", "delivered", "", time.Second)
	a := m.Auditor(nopAuditor{})
	for _, e := range []string{"challenge_created", "otp_revealed", "user_locked", "refused_number_type"} {
		a.Record(e, "u", map[string]any{"type": "premium_rate"})
	}
	a.Record("unknown_device", "u", map[string]any{"policy": "refuse", "outcome": "refused"})
	s := m.Sender(sendFunc(func(context.Context, sms.Message) (sms.Receipt, error) { return sms.Receipt{}, nil }))
	_, _ = s.Send(context.Background(), sms.Message{})
	st := m.Store(failingStore{memory.New(time.Now, 0)})
	_, _ = st.Incr(context.Background(), storage.SMSGlobalRate, "all", time.Hour)
	_ = st.Ping(context.Background())
	m.Plugins(func() []Plugin { return []Plugin{{ID: "okta", Up: true, Deadline: 3 * time.Second}} })
	m.AuditDropped(func() float64 { return 0 })
	o := m.SMSObserver()
	o.Sent("twilio", "US", "sent", time.Second)
	o.Failover("twilio", "sns", "US")
	o.Circuit("twilio", true)
	o.Delivered("twilio", "US", sms.StateDelivered, time.Second)
	o.Resent("sns", "US")
	o.ReceiptRefused("twilio", "signature")
	return m
}
