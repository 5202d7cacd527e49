package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// LogEntry is one JSON log line of the server (LOG_FORMAT=json, the harness's
// default): slog's time, level and msg, the plugins' lines included, and every
// other key.
type LogEntry struct {
	Time  time.Time
	Level string
	Msg   string
	// Fields holds the whole line, decoded.
	Fields map[string]any
}

// Logs returns the server's log lines so far, decoded, and the lines that are
// not JSON objects.
func (s *Server) Logs() (entries []LogEntry, notJSON []string) {
	for line := range strings.SplitSeq(strings.TrimSpace(s.Stderr()), "\n") {
		if line == "" {
			continue
		}
		var fields map[string]any
		if err := json.Unmarshal([]byte(line), &fields); err != nil {
			notJSON = append(notJSON, line)
			continue
		}
		e := LogEntry{Fields: fields}
		e.Level, _ = fields["level"].(string)
		e.Msg, _ = fields["msg"].(string)
		if ts, ok := fields["time"].(string); ok {
			e.Time, _ = time.Parse(time.RFC3339Nano, ts)
		}
		entries = append(entries, e)
	}
	return entries, notJSON
}

// LogTime returns the time of the first log line whose msg starts with prefix,
// and fails the test if there is none.
func (s *Server) LogTime(t testing.TB, prefix string) time.Time {
	t.Helper()
	entries, _ := s.Logs()
	for _, e := range entries {
		if strings.HasPrefix(e.Msg, prefix) {
			return e.Time
		}
	}
	t.Fatalf("no log line %q", prefix)
	return time.Time{}
}
