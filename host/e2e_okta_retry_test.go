package host_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics/typingdna/fake"
	"github.com/smsplus/smsplus/host/internal/e2e"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
)

// oktaDocumentedCall is the telephony hook request as Okta's reference prints
// it (developer.okta.com, telephony inline hook, "Sample JSON payload of a
// request"), with the phone and code of the test. Okta's retry is this same
// request again: same eventId, same otpCode.
func oktaDocumentedCall(phone, code string) []byte {
	return []byte(`{"eventId":"uS5871kJThSsU8qlA1LTcg","eventTime":"2022-01-28T21:43:40.000Z",` +
		`"eventType":"com.okta.telephony.provider","eventTypeVersion":"1.0","contentType":"application/json",` +
		`"cloudEventVersion":"0.1","source":"https://acme.okta.com/api/v1/inlineHooks/calz6lVQA77AwFeEe0g3",` +
		`"requestType":"com.okta.user.telephony.mfa-verification","data":{"context":{"request":{"id":"reqRgSk8IBBRhuo0YdlEDTmUw",` +
		`"method":"POST","url":{"value":"/idp/idx/challenge/send"},"ipAddress":"203.0.113.24"}},` +
		`"userProfile":{"firstName":"test","lastName":"user","login":"test.user@okta.com","userId":"00uyxxSknGtK8022w0g3"},` +
		`"messageProfile":{"msgTemplate":"Your code is ` + code + `","phoneNumber":"` + phone + `",` +
		`"otpExpires":"2099-01-28T21:48:34.321Z","deliveryChannel":"SMS","otpCode":"` + code + `","locale":"EN-US"}}}`)
}

// TestOktaRetrySendsOneSMS: Okta's inline hooks concept page says Okta makes
// at most one retry, after a timeout or a 5xx answer. Its retry is the same
// request, and it must neither text the user a second time nor get a failure
// answer (Okta would then text the plain code through its own providers). Both
// cases Okta can retry in: the first answer was lost after SMS+ sent it, and
// the retry comes while the first is still with the SMS provider.
func TestOktaRetrySendsOneSMS(t *testing.T) {
	skipShort(t)
	bin := e2e.Shipped(t)
	tw := twiliofake.New(t)
	td := fake.Start(t)
	s := bin.Start(t, append(append(e2e.TwilioEnv(tw), e2e.TypingDNAEnv(td)...), "HOOK_BUDGET_MS=1500")...)
	auth := map[string]string{"Authorization": e2e.Secrets["OKTA_SHARED_SECRET"]}
	call := func(phone, code string) *http.Request {
		return s.HookRequest("okta", auth, oktaDocumentedCall(phone, code))
	}
	texts := func(phone string) int {
		n := 0
		for _, m := range tw.Messages() {
			if m.To == phone {
				n++
			}
		}
		return n
	}
	// noFailover: an answer Okta takes as done, neither the error object nor a
	// non-200 (each of which makes Okta text the plain code itself).
	noFailover := func(t *testing.T, what string, a e2e.Answer) {
		t.Helper()
		if a.Status != http.StatusOK || (a.OktaStatus() != "SUCCESSFUL" && a.OktaStatus() != "PENDING") {
			t.Fatalf("%s: %s; want 200 SUCCESSFUL or PENDING", what, a)
		}
	}

	t.Run("the first answer was lost", func(t *testing.T) {
		const phone = "+14155550161"
		noFailover(t, "first call", inTime(t, call(phone, "604913"), oktaDeadline))
		noFailover(t, "Okta's retry", inTime(t, call(phone, "604913"), oktaDeadline))
		if n := texts(phone); n != 1 {
			t.Fatalf("%d texts for one code and Okta's retry", n)
		}
	})

	t.Run("the retry comes while the first is sending", func(t *testing.T) {
		const phone = "+14155550162"
		// Slower than the budget: the first call is answered PENDING and the
		// send goes on; Okta, not having read that answer, retries.
		tw.SetOutcomeFor(phone, twiliofake.Slow(2500*time.Millisecond))
		var wg sync.WaitGroup
		answers := make([]e2e.Answer, 2)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == 1 {
					time.Sleep(300 * time.Millisecond) // the retry comes second
				}
				ctx, cancel := context.WithTimeout(context.Background(), oktaDeadline)
				defer cancel()
				a, err := e2e.Do(nil, call(phone, "318842").WithContext(ctx))
				if err != nil {
					t.Errorf("call %d: no answer within Okta's 3 s: %v", i, err)
				}
				answers[i] = a
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		noFailover(t, "first call", answers[0])
		noFailover(t, "Okta's retry", answers[1])
		// Both answers are in; the slow send finishes after them.
		deadline := time.Now().Add(5 * time.Second)
		for texts(phone) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // room for a second text, were one sent
		if n := texts(phone); n != 1 {
			t.Fatalf("%d texts for one code and Okta's retry", n)
		}
	})
}
