package challenge

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/logbuf"
)

// lines are the JSON log lines with msg.
func logLines(t *testing.T, logs, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON log line: %q", l)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// Failed verifications, lockouts, unknown devices and resets are logged at
// info, at the default level, with the user's hashed id and the challenge's
// transaction id, so an operator can follow them; never with a code, a phone
// number, a link or the phrase.
func TestSecurityEventsAreLoggedWithoutSecrets(t *testing.T) {
	t.Parallel()
	var buf logbuf.Buffer
	f := newFixtureWith(t, nil, func(_ *Settings, d *Deps) {
		d.Log = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	ctx := context.Background()
	uid := UserID(phone, "salt")
	owner := f.phone(t)
	cid, textID := f.enrollFrom(t, owner)
	codes := []string{"123456"}
	cids := []string{cid}

	// An enrollment sample of the wrong phrase, on a new user's challenge.
	other := "+15555550177"
	st, err := f.svc.Start(ctx, Event{Bridge: "okta", Phone: other, OTP: "771342"})
	if err != nil {
		t.Fatal(err)
	}
	codes, cids = append(codes, "771342"), append(cids, st.ChallengeID)
	if _, err := f.verifyFrom(ctx, newBrowser(t, true), st.ChallengeID, textID, "genuine", "wrong phrase"); !errors.Is(err, ErrPhraseMismatch) {
		t.Fatalf("wrong phrase while enrolling: %v", err)
	}

	// Another browser is refused; the owner then fails until the lockout.
	if _, err := f.verifyFrom(ctx, newBrowser(t, true), cid, textID, "genuine", ""); !errors.As(err, new(*UnknownDeviceError)) {
		t.Fatalf("other browser: %v", err)
	}
	var locked *UserLockedError
	for i := 0; i < 5 && locked == nil; i++ {
		c := f.start(t, "55443"+string(rune('0'+i)))
		codes, cids = append(codes, "55443"+string(rune('0'+i))), append(cids, c)
		_, err := f.verifyFrom(ctx, owner, c, textID, "impostor", "")
		errors.As(err, &locked)
	}
	if locked == nil {
		t.Fatal("no lockout")
	}
	f.clock.advance(16 * time.Minute)

	// A reset scheduled, cancelled by the owner's pass, scheduled again and done.
	c := f.start(t, "908172")
	codes, cids = append(codes, "908172"), append(cids, c)
	if _, err := f.svc.ScheduleReset(ctx, c, phone); err != nil {
		t.Fatal(err)
	}
	if res, err := f.verifyFrom(ctx, owner, c, textID, "genuine", ""); err != nil || !res.ResetCancelled {
		t.Fatalf("pass: %+v %v", res, err)
	}
	c = f.start(t, "663421")
	codes, cids = append(codes, "663421"), append(cids, c)
	if _, err := f.svc.ScheduleReset(ctx, c, phone); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(25 * time.Hour)
	c = f.start(t, "120934")
	codes, cids = append(codes, "120934"), append(cids, c)

	logs := buf.String()
	tx := func(cid string) string { return TransactionID(cid) }
	want := map[string]map[string]any{
		"verification failed":                         {"user": shortID(uid), "why": "verify_failed"},
		"user locked out":                             {"user": shortID(uid), "minutes": float64(15)},
		"verification from an unknown device refused": {"user": shortID(uid), "transaction": tx(cid), "outcome": "refused"},
		"enrollment sample refused":                   {"user": shortID(UserID(other, "salt")), "transaction": tx(st.ChallengeID), "why": "phrase_mismatch"},
		"profile reset scheduled":                     {"user": shortID(uid)},
		"pending profile reset cancelled by a pass":   {"user": shortID(uid)},
		"profile reset":                               {"user": shortID(uid), "why": "scheduled"},
	}
	for msg, fields := range want {
		lines := logLines(t, logs, msg)
		if len(lines) == 0 {
			t.Errorf("no %q log line", msg)
			continue
		}
		l := lines[len(lines)-1]
		if l["level"] != "INFO" {
			t.Errorf("%q logged at %v, want INFO", msg, l["level"])
		}
		for k, v := range fields {
			if l[k] != v {
				t.Errorf("%q: %s = %v, want %v", msg, k, l[k], v)
			}
		}
	}
	for _, msg := range []string{"verification failed", "user locked out", "profile reset scheduled"} {
		for _, l := range logLines(t, logs, msg) {
			if tr, _ := l["transaction"].(string); !strings.HasPrefix(tr, "sp_") {
				t.Errorf("%q without the challenge's transaction id: %v", msg, l)
			}
		}
	}
	if n := len(logLines(t, logs, "verification failed")); n < 5 {
		t.Errorf("%d failed verifications logged, want at least 5", n)
	}

	// Nothing secret: no code, no phone (whole or national), no link, no phrase.
	secrets := []string{phone, phone[2:], other, other[2:], "blue river", "sms.example"}
	secrets = append(append(secrets, codes...), cids...)
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %q", s)
		}
	}
}
