package sms

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestConsolePrintsTheMessage(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r, err := NewConsole(&buf).Send(context.Background(), Message{To: "+15555550100", Body: "Open http://x/abc"})
	if err != nil || !strings.HasPrefix(r.ID, "console-") {
		t.Fatalf("receipt %+v, err %v", r, err)
	}
	out := buf.String()
	for _, want := range []string{"DEVELOPMENT MODE", "sms to: +15555550100", "sms body: Open http://x/abc\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewConsole(&buf).Send(ctx, Message{}); err == nil {
		t.Error("a cancelled send must fail")
	}
}
