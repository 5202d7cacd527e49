package config

import "github.com/smsplus/smsplus/host/internal/profiling"

// Profiling holds the operator's profiler (package profiling).
type Profiling struct {
	// PprofAddr is where Go's profiler listens (PPROF_ADDR, host:port; empty,
	// the default, = off). A loopback address unless PprofAllowNonLoopback.
	PprofAddr string
	// PprofAllowNonLoopback accepts any address (PPROF_ALLOW_NON_LOOPBACK): the
	// profiler has no authentication.
	PprofAllowNonLoopback bool
}

func (r *reader) profiling() Profiling {
	c := Profiling{PprofAddr: r.str("pprof_addr"), PprofAllowNonLoopback: r.bool("pprof_allow_non_loopback")}
	if c.PprofAddr == "" {
		return c
	}
	if err := profiling.CheckAddr(c.PprofAddr, c.PprofAllowNonLoopback); err != nil {
		r.problem("PPROF_ADDR: %v (the profiler has no authentication: keep it on loopback, e.g. 127.0.0.1:6060, "+
			"or set PPROF_ALLOW_NON_LOOPBACK=true behind a network you control)", err)
	}
	if c.PprofAllowNonLoopback {
		r.warn("PPROF_ALLOW_NON_LOOPBACK=true: the profiler at PPROF_ADDR has no authentication; whoever reaches it reads stack traces and can load the CPU")
	}
	return c
}
