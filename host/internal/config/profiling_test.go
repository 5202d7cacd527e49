package config

import "testing"

func TestProfilingSection(t *testing.T) {
	t.Parallel()
	runSection(t, (*reader).profiling, map[string]sectionCase[Profiling]{
		"off by default": {want: &Profiling{}},
		"loopback":       {env: []string{"PPROF_ADDR=127.0.0.1:6060"}, want: &Profiling{PprofAddr: "127.0.0.1:6060"}},
		"every interface": {env: []string{"PPROF_ADDR=:6060"},
			problems: []string{"PPROF_ADDR: not a loopback address: no host means every interface"}},
		"public": {env: []string{"PPROF_ADDR=0.0.0.0:6060"}, problems: []string{"PPROF_ADDR: not a loopback address: 0.0.0.0"}},
		"overridden": {env: []string{"PPROF_ADDR=0.0.0.0:6060", "PPROF_ALLOW_NON_LOOPBACK=true"},
			want: &Profiling{PprofAddr: "0.0.0.0:6060", PprofAllowNonLoopback: true}},
		"no port":      {env: []string{"PPROF_ADDR=127.0.0.1"}, problems: []string{"PPROF_ADDR: want host:port"}},
		"bad override": {env: []string{"PPROF_ALLOW_NON_LOOPBACK=maybe"}, problems: []string{"PPROF_ALLOW_NON_LOOPBACK: must be true or false"}},
	})
}
