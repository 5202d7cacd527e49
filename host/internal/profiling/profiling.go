// Package profiling serves Go's profiler (net/http/pprof) on a listener of its
// own, for an operator debugging a running SMS+ (PPROF_ADDR, off by default).
//
// The profiler has no authentication: whoever reaches it can read stack traces
// and the command line, and make the process spend CPU on profiles and traces.
// So it listens only on a loopback address unless the operator says otherwise
// (PPROF_ALLOW_NON_LOOPBACK), and never on the service's port.
package profiling

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
)

// ErrNotLoopback: the address is not a loopback address.
var ErrNotLoopback = errors.New("not a loopback address")

// CheckAddr checks a listen address (host:port): a loopback IP (127.0.0.0/8,
// ::1) or "localhost", unless allowAny. An empty host (":6060", every
// interface) is not loopback.
func CheckAddr(addr string, allowAny bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port, e.g. 127.0.0.1:6060: %w", err)
	}
	if port == "" {
		return errors.New("want host:port, e.g. 127.0.0.1:6060: no port")
	}
	if allowAny || isLoopback(host) {
		return nil
	}
	if host == "" {
		return fmt.Errorf("%w: no host means every interface", ErrNotLoopback)
	}
	return fmt.Errorf("%w: %s", ErrNotLoopback, host)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Listen checks addr (CheckAddr) and listens on it; the address actually bound
// is checked again, so a "localhost" that does not resolve to loopback is
// refused too.
func Listen(addr string, allowAny bool) (net.Listener, error) {
	if err := CheckAddr(addr, allowAny); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !allowAny && !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("%w: %s resolved to %s", ErrNotLoopback, addr, tcp.IP)
	}
	return ln, nil
}

// Handler serves the profiler under /debug/pprof/, on its own mux: importing
// net/http/pprof also registers it on http.DefaultServeMux, which SMS+ never
// serves.
//
// Unless allowAny, it answers only requests whose Host is a loopback address
// or localhost (421 otherwise): a loopback listener is reachable from any web
// page the operator's browser opens once that page's name is rebound to
// 127.0.0.1 (DNS rebinding), and the browser then sends the page's own name.
func Handler(allowAny bool) http.Handler {
	mux := profiles()
	if allowAny {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isLoopback(hostName(r.Host)) {
			http.Error(w, "profiler: Host must be a loopback address or localhost", http.StatusMisdirectedRequest)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// hostName is a Host header's name, without its port or IPv6 brackets.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

func profiles() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // and every named profile (heap, goroutine, ...)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
