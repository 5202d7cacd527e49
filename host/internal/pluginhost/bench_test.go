package pluginhost

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// benchCase is one realistic hook per shipped bridge.
type benchCase struct {
	id, auth, body string
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

var benchCases = []benchCase{
	{"okta", "Bearer " + settings["OKTA_SHARED_SECRET"], `{"eventType":"com.okta.telephony.provider","eventId":"e1","requestType":"com.okta.user.telephony.mfa-verification",` +
		`"data":{"userProfile":{"login":"a@example.com"},"messageProfile":{"msgTemplate":"Your code is 123456",` +
		`"phoneNumber":"+15555550100","otpExpires":"2026-11-22T12:05:00.000Z","deliveryChannel":"SMS","otpCode":"123456","locale":"EN-US"}}}`},
	{"auth0", "Bearer " + settings["AUTH0_SECRET"], `{"recipient":"+14155550142","message":"Your verification code is 482913","code":"482913",` +
		`"message_type":"otp_verify","delivery_method":"text","locale":"en_US","correlation_id":"c0a8f3e2"}`},
	{"pingone", basicAuth("pingone", settings["PING_SHARED_SECRET"]), `{"recipient":"+14155552671","body":"Your Acme passcode is 730194.","otp":"730194","locale":"en","channel":"sms"}`},
	{"cyberark", basicAuth("cyberark", settings["CYBERARK_PASS"]), `{"phoneNumber":"+12025550187","smsMessage":"Your CyberArk Identity verification code is 604182"}`},
	{"fusionauth", basicAuth("fusionauth", settings["FUSIONAUTH_PASS"]), `{"code":"829104","phoneNumber":"3035551212","textMessage":"Two Factor Code: 829104","type":"SMS"}`},
}

// BenchmarkRoundTrip measures one hook's plugin work, Parse with the answer
// rendered ahead (or, variant mtls-respond, Parse then Respond), over
// go-plugin gRPC against each real bridge binary, and reports the p50 and p99
// of that round trip and the CPU it costs, on the host's side (this process)
// and in the plugin's process. Variants: with go-plugin's automatic mTLS (as
// shipped) and without, and with the plugin on 1 (as shipped) or 2 scheduler
// threads. Run it with `make bench` (or go test -bench); `go test` alone never
// runs it.
func BenchmarkRoundTrip(b *testing.B) {
	dir := pluginDir(b)
	variants := []struct {
		name         string
		plain        bool
		gomaxprocs   string
		respondAfter bool // Parse then Respond, as before answers_ahead
	}{{"mtls", false, "1", false}, {"mtls-respond", false, "1", true}, {"plain", true, "1", false}, {"mtls-procs2", false, "2", false}}
	for _, bc := range benchCases {
		for _, v := range variants {
			b.Run(bc.id+"/"+v.name, func(b *testing.B) {
				b.Setenv("PLUGIN_GOMAXPROCS", v.gomaxprocs)
				roundTrip(b, dir, bc, v.plain, v.respondAfter)
			})
		}
	}
}

func roundTrip(b *testing.B, dir string, bc benchCase, plain, respondAfter bool) {
	m := NewManager(Options{Setting: settingsWith(nil), plainSocket: plain})
	fs, _ := Discover([]string{dir})
	if err := m.Start(context.Background(), fs, []string{bc.id}); err != nil {
		b.Fatal(err)
	}
	defer m.Stop()
	p, _ := m.Get(bc.id)
	req := &bridge.Request{
		Method: "POST", Path: "/hooks/" + bc.id, Body: []byte(bc.body),
		Headers: []bridge.Header{{Name: "Authorization", Values: []string{bc.auth}}, {Name: "Content-Type", Values: []string{"application/json"}}},
	}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	hostCPU, pluginCPU := selfCPU(b), procCPU(p.PID())
	n := 0
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		req.AnswerTransactionID = ""
		if !respondAfter {
			req.AnswerTransactionID = "sp_1"
		}
		res, err := p.Parse(ctx, req)
		if err != nil || res.OTP == nil {
			b.Fatalf("parse: %v %+v", err, res)
		}
		delivered := &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: "sp_1"}
		if _, ok := res.Answer(delivered, req.AnswerTransactionID); !ok {
			if !respondAfter {
				b.Fatal("no answer rendered ahead")
			}
			if _, err := p.Respond(ctx, delivered); err != nil {
				b.Fatal(err)
			}
		}
		lat = append(lat, time.Since(start))
		n++
	}
	b.StopTimer()
	hostCPU, pluginCPU = selfCPU(b)-hostCPU, procCPU(p.PID())-pluginCPU
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(hostCPU.Microseconds())/float64(n), "host-cpu-µs/op")
	b.ReportMetric(float64(pluginCPU.Microseconds())/float64(n), "plugin-cpu-µs/op")
	b.ReportMetric(float64(rssKB(p.PID())), "rss-kB")
}

// selfCPU is the CPU this process has used, user and system.
func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the CPU a process has used (proc(5) fields 14 and 15, in ticks
// of 10 ms), or 0.
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

// BenchmarkStart measures launching one bridge: process start, handshake with
// mTLS, Info, Configure and the failure answer, until it can take hooks.
func BenchmarkStart(b *testing.B) {
	dir := pluginDir(b)
	for _, bc := range benchCases {
		b.Run(bc.id, func(b *testing.B) {
			fs, _ := Discover([]string{dir})
			for b.Loop() {
				m := NewManager(Options{Setting: settingsWith(nil)})
				if err := m.Start(context.Background(), fs, []string{bc.id}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				m.Stop()
				b.StartTimer()
			}
		})
	}
}

// rssKB reads a process's resident memory from /proc (Linux), or 0.
func rssKB(pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int
			fmt.Sscan(v, &kb)
			return kb
		}
	}
	return 0
}
