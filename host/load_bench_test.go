package host_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/e2e"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
)

// BenchmarkHookLoad prints the figures of issue 16 for one store: hooks/s at 8
// and 32 concurrent clients, p99, CPU per hook of the host, the plugin and the
// store's process (found by its port; embedded: inside the host), store calls
// per hook, then the overload split at twice the capacity measured: the p99 of
// accepted hooks against its value at half capacity, the refused ones answered
// early (under 150 ms) or late, and answers after 2.5 s. Every hook is an Okta
// hook for a new user; texts go through twilio-go to the Twilio fake.
//
//	SMSPLUS_BENCH_STORE=embedded|redis|mongo (default embedded; redis and mongo
//	use SMSPLUS_TEST_REDIS_URL / SMSPLUS_TEST_MONGO_URL, as .ci/services.sh sets)
//	SMSPLUS_BENCH_DURATION=10s (each phase)
//	SMSPLUS_BENCH_SMS=console (texts printed by the server instead of sent
//	through twilio-go to the Twilio fake in this process)
//	go test -run '^$' -bench HookLoad -benchtime 1x ./host
//
// `make bench` runs it for every store. It is no test: nothing fails but a
// server that does not start.
func BenchmarkHookLoad(b *testing.B) {
	store := cmp(os.Getenv("SMSPLUS_BENCH_STORE"), "embedded")
	phase := 10 * time.Second
	if d, err := time.ParseDuration(os.Getenv("SMSPLUS_BENCH_DURATION")); err == nil && d > 0 {
		phase = d
	}
	env, storePort := benchStoreEnv(b, store)
	if os.Getenv("SMSPLUS_BENCH_SMS") == "console" {
		// The console sender: this process only sends hooks, and takes less of
		// the machine's CPU from the server.
		env = append(env, "SMS_PROVIDER=console")
	} else {
		tw := twiliofake.Start()
		defer tw.Close()
		env = append(env, e2e.TwilioEnv(tw)...)
	}
	env = append(env, "LOG_LEVEL=warn", "LOG_REQUESTS=false",
		// New numbers by the thousand: a benchmark, not a pumping attack.
		"MAX_SMS_PER_PHONE_PER_HOUR=0", "MAX_SMS_PER_RANGE_PER_HOUR=0", "MAX_SMS_PER_HOUR=0")
	srv := e2e.Shipped(b).Start(b, env...)
	l := newLoad(b, srv, storePort)

	l.closed(8, phase/5) // warm-up
	fmt.Printf("== %s store (%v per phase)\n", store, phase)
	c8 := l.measure("closed loop c=8", func() []shot { return l.closed(8, phase) })
	c32 := l.measure("closed loop c=32", func() []shot { return l.closed(32, phase) })
	capacity := max(c8.rate, c32.rate)
	half := l.measure(fmt.Sprintf("open loop %.0f/s (half capacity)", capacity/2), func() []shot { return l.open(capacity/2, phase) })
	over := l.measure(fmt.Sprintf("open loop %.0f/s (twice capacity)", 2*capacity), func() []shot { return l.open(2*capacity, phase) })
	fmt.Printf("overload: accepted p99 %.1f ms = %.1f x half capacity's %.1f ms; refused %d: %.1f%% early (<150 ms), %.1f%% late; answered after 2.5 s: %d\n",
		ms(over.acceptedP99), over.acceptedP99.Seconds()/max(1e-9, half.acceptedP99.Seconds()), ms(half.acceptedP99),
		over.refused, pct(over.refusedEarly, over.refused), pct(over.refused-over.refusedEarly, over.refused), over.afterDeadline)
	b.ReportMetric(c8.rate, "hooks/s-c8")
	b.ReportMetric(c32.rate, "hooks/s-c32")
	b.ReportMetric(pct(over.refusedEarly, over.refused), "%-refused-early-2x")
	b.ReportMetric(over.acceptedP99.Seconds()/max(1e-9, half.acceptedP99.Seconds()), "p99-2x/half")
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// benchStoreEnv is the settings of store, with a key prefix or database of
// this run's own, and the port of the store's process (0: none).
func benchStoreEnv(b *testing.B, store string) (env []string, port int) {
	run := fmt.Sprintf("bench%08x", rand.Uint32())
	need := func(key string) *url.URL {
		raw := os.Getenv(key)
		if raw == "" {
			b.Fatalf("SMSPLUS_BENCH_STORE=%s needs %s (run under .ci/services.sh)", store, key)
		}
		u, err := url.Parse(raw)
		if err != nil {
			b.Fatalf("%s: %v", key, err)
		}
		port, _ = strconv.Atoi(u.Port())
		return u
	}
	switch store {
	case "embedded":
		return nil, 0
	case "redis":
		u := need("SMSPLUS_TEST_REDIS_URL")
		return []string{"DATA_STORE=redis", "REDIS_URL=" + u.String(), "REDIS_KEY_PREFIX=" + run + ":"}, port
	case "mongo":
		u := need("SMSPLUS_TEST_MONGO_URL")
		return []string{"DATA_STORE=mongo", "MONGO_URI=" + u.String(), "MONGO_DB_NAME=" + run}, port
	}
	b.Fatalf("SMSPLUS_BENCH_STORE=%q: want embedded, redis or mongo", store)
	return nil, 0
}

// shot is one hook as the client saw it.
type shot struct {
	took     time.Duration
	accepted bool // the vendor was told the code was sent
	err      bool // no answer
}

// load sends Okta hooks for new users to a server.
type load struct {
	b         *testing.B
	srv       *e2e.Server
	client    *http.Client
	header    http.Header
	body      []byte // with sentinel for the phone
	storePID  int
	phoneBase int64
	seq       atomic.Int64
}

const sentinelPhone = "+14155550100"

func newLoad(b *testing.B, srv *e2e.Server, storePort int) *load {
	req := srv.Example(b, "okta", sentinelPhone, "123456")
	body, err := io.ReadAll(req.Body)
	if err != nil || !bytes.Contains(body, []byte(sentinelPhone)) {
		b.Fatalf("the Okta example does not carry the phone as sent (%v): %s", err, body)
	}
	l := &load{b: b, srv: srv, header: req.Header, body: body, phoneBase: rand.Int64N(5_000_000),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4096, MaxIdleConns: 4096}}}
	if storePort > 0 {
		l.storePID = listenerPID(storePort)
	}
	return l
}

// one sends one hook for a new user (a US number, 415-2xx-xxxx and up).
func (l *load) one() shot {
	phone := fmt.Sprintf("+1415%07d", 2_000_000+(l.phoneBase+l.seq.Add(1))%7_000_000)
	req, err := http.NewRequest(http.MethodPost, l.srv.Base+"/hooks/okta",
		bytes.NewReader(bytes.ReplaceAll(l.body, []byte(sentinelPhone), []byte(phone))))
	if err != nil {
		l.b.Fatal(err)
	}
	req.Header = l.header.Clone()
	a, err := e2e.Do(l.client, req)
	if err != nil {
		return shot{err: true}
	}
	return shot{took: a.Took, accepted: a.Delivered("okta")}
}

// closed runs c clients, each sending its next hook when answered, for d.
func (l *load) closed(c int, d time.Duration) []shot {
	var mu sync.Mutex
	var all []shot
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for range c {
		wg.Go(func() {
			var mine []shot
			for time.Now().Before(end) {
				mine = append(mine, l.one())
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all
}

// open sends rate hooks a second for d, each on time whatever the answers; a
// hook's time counts from when it was due (no coordinated omission).
func (l *load) open(rate float64, d time.Duration) []shot {
	var mu sync.Mutex
	var all []shot
	var wg sync.WaitGroup
	start := time.Now()
	every := time.Duration(float64(time.Second) / rate)
	for due := start; due.Before(start.Add(d)); due = due.Add(every) {
		time.Sleep(time.Until(due))
		wg.Go(func() {
			s := l.one()
			if !s.err {
				s.took = time.Since(due)
			}
			mu.Lock()
			all = append(all, s)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all
}

// figures are one phase's results.
type figures struct {
	rate                          float64 // accepted hooks a second
	acceptedP99                   time.Duration
	refused, refusedEarly, errors int
	afterDeadline                 int
	hostCPU, pluginCPU, storeCPU  time.Duration
	storeCalls, hooksAnswered     float64
}

// measure runs a phase and prints its figures.
func (l *load) measure(name string, phase func() []shot) figures {
	plugins := l.srv.PluginPIDs()
	h0, p0, s0 := cpuTime(l.srv.PID()), cpuTime(plugins...), cpuTime(l.storePID)
	m0 := l.srv.Metrics(l.b)
	limits := l.sampleLimit()
	start := time.Now()
	shots := phase()
	elapsed := time.Since(start)
	lim := limits()
	m1 := l.srv.Metrics(l.b)
	f := figures{hostCPU: cpuTime(l.srv.PID()) - h0, pluginCPU: cpuTime(plugins...) - p0}
	if l.storePID > 0 {
		f.storeCPU = cpuTime(l.storePID) - s0
	}
	f.storeCalls = m1.Sum("smsplus_store_calls_total") - m0.Sum("smsplus_store_calls_total")
	f.hooksAnswered = m1.Sum("smsplus_hooks_total") - m0.Sum("smsplus_hooks_total")
	var accepted, all []time.Duration
	for _, s := range shots {
		switch {
		case s.err:
			f.errors++
			continue
		case s.accepted:
			accepted = append(accepted, s.took)
		default:
			f.refused++
			if s.took < 150*time.Millisecond {
				f.refusedEarly++
			}
		}
		if s.took > 2500*time.Millisecond {
			f.afterDeadline++
		}
		all = append(all, s.took)
	}
	f.rate = float64(len(accepted)) / elapsed.Seconds()
	f.acceptedP99 = p99(accepted)
	n := max(1, float64(len(shots)))
	perHook := func(d time.Duration) float64 { return ms(d) / n }
	storeCPU := "in the host"
	if l.storePID > 0 {
		storeCPU = fmt.Sprintf("%.3f ms", perHook(f.storeCPU))
	}
	fmt.Printf("%-36s %7.1f accepted/s  p99 %7.1f ms (all %7.1f)  accepted %d refused %d errors %d | cpu/hook host %.3f ms plugin %.3f ms store %s | store calls/hook %.2f | admission limit %d..%d\n",
		name, f.rate, ms(f.acceptedP99), ms(p99(all)), len(accepted), f.refused, f.errors,
		perHook(f.hostCPU), perHook(f.pluginCPU), storeCPU, f.storeCalls/max(1, f.hooksAnswered), minOf(lim), slices.Max(append(lim, 0)))
	return f
}

// sampleLimit reads the admission limit every 100 ms until the returned
// function is called, which returns the values read.
func (l *load) sampleLimit() func() []int {
	done, out := make(chan struct{}), make(chan []int)
	go func() {
		var seen []int
		for {
			// Not srv.Metrics: a goroutine may not fail the benchmark.
			if a, err := e2e.Do(l.client, mustGet(l.srv.Base+"/metrics")); err == nil {
				seen = append(seen, int(e2e.ParseMetrics(string(a.Body)).Value("smsplus_hook_admission_limit")))
			}
			select {
			case <-done:
				out <- seen
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() []int { close(done); return <-out }
}

func mustGet(u string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		panic(err) // Base is a valid URL
	}
	return req
}

func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*99/100)]
}

func minOf(v []int) int {
	if len(v) == 0 {
		return 0
	}
	return slices.Min(v)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(part, whole int) float64 { return 100 * float64(part) / float64(max(1, whole)) }

// cpuTime is the user and system CPU time the processes used so far (proc(5),
// fields 14 and 15, in clock ticks of 10 ms).
func cpuTime(pids ...int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		if pid <= 0 {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(u+s) * 10 * time.Millisecond
	}
	return total
}

// listenerPID is the process listening on 127.0.0.1:port (TCP), or 0: the
// socket's inode from /proc/net/tcp, then the process holding it.
func listenerPID(port int) int {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return 0
	}
	defer f.Close()
	inode := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// local_address is hex ip:port; state 0A is LISTEN.
		if len(fields) > 9 && fields[3] == "0A" && strings.HasSuffix(fields[1], fmt.Sprintf(":%04X", port)) {
			inode = fields[9]
			break
		}
	}
	if inode == "" {
		return 0
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		if link, err := os.Readlink(fd); err == nil && link == "socket:["+inode+"]" {
			pid, _ := strconv.Atoi(strings.Split(fd, "/")[2])
			return pid
		}
	}
	return 0
}
