package config

import "time"

// Ops holds the logging and operations settings.
type Ops struct {
	LogLevel    string
	LogFormat   string // json | text
	LogRequests bool
	// ShutdownDrain is how long /readyz answers 503 before the listener closes on
	// SIGTERM, so load balancers stop sending work first.
	ShutdownDrain time.Duration
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
}

func (r *reader) ops() Ops {
	c := Ops{
		LogLevel:      r.oneOf("log_level", "debug", "info", "warn", "error"),
		LogFormat:     r.oneOf("log_format", "json", "text"),
		LogRequests:   r.bool("log_requests"),
		ShutdownDrain: r.millis("shutdown_drain_ms", 0, 60000),
	}
	token, ok := r.checkedSecret("metrics_token")
	c.MetricsToken = token
	if ok && token != "" && len(token) < 16 {
		r.problem("METRICS_TOKEN: must be at least 16 characters (e.g. openssl rand -hex 16), or unset for an open /metrics")
	}
	return c
}
