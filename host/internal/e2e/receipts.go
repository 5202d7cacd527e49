package e2e

import (
	"testing"
	"time"
)

// WaitSendRecorded waits up to SMSWait until the server has recorded the send
// of the provider's message id (receipt.Tracker writes it off the hook path
// and logs "sms send recorded" at debug level: start the server with
// LOG_LEVEL=debug), so that a receipt for it finds it.
func (s *Server) WaitSendRecorded(t testing.TB, messageID string) {
	t.Helper()
	for deadline := time.Now().Add(SMSWait); ; time.Sleep(10 * time.Millisecond) {
		entries, _ := s.Logs()
		for _, e := range entries {
			if e.Msg == "sms send recorded" && e.Fields["message_id"] == messageID {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("send of %s not recorded within %s (is LOG_LEVEL=debug?)", messageID, SMSWait)
		}
	}
}
