package httpapi

import (
	"net/http"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU this process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPageGet is the CPU of one challenge page view through the real
// router (store read, image, template, gzip), the browser accepting gzip; the
// same page viewed again, as a user who reloads or switches language does.
// Not part of the tests: go test -run '^$' -bench PageGet ./host/internal/httpapi
func BenchmarkPageGet(b *testing.B) {
	s, svc := newPageServer(b, &pageVerifier{required: 3}, nil)
	cid, _ := startChallenge(b, svc, "en")
	if rec := get(s, "/"+cid, "Accept-Encoding", "gzip"); rec.Code != http.StatusOK {
		b.Fatalf("page: %d", rec.Code)
	}
	b.ReportAllocs()
	start, n := cpuTime(b), 0
	for b.Loop() {
		if rec := get(s, "/"+cid, "Accept-Encoding", "gzip"); rec.Code != http.StatusOK {
			b.Fatalf("page: %d", rec.Code)
		}
		n++
	}
	// CPU, not wall time: the machine may be shared. GC is included.
	b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/1000/float64(n), "cpu-ms/op")
}

// BenchmarkStaticGet is one static asset served compressed.
func BenchmarkStaticGet(b *testing.B) {
	s, _ := newPageServer(b, &pageVerifier{required: 3}, nil)
	b.ReportAllocs()
	for b.Loop() {
		if rec := get(s, "/static/page.js", "Accept-Encoding", "gzip"); rec.Code != http.StatusOK {
			b.Fatalf("static: %d", rec.Code)
		}
	}
}
