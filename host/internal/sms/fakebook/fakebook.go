// Package fakebook is the bookkeeping the SMS provider fakes share (twiliofake,
// snsfake, vonagefake, telnyxfake): the outcome each destination gets, the
// messages a fake accepted and the requests it saw. Each fake speaks its own
// provider's wire format around it and embeds a Book, whose methods are then
// the fake's own.
package fakebook

import "sync"

// Book is safe for concurrent use. Its zero value is ready: every destination
// gets the zero outcome, which the fakes define as "accepted".
type Book[M, O any] struct {
	mu       sync.Mutex
	outcome  O
	byTo     map[string]O
	messages []M
	requests int
}

// SetOutcome sets the outcome for destinations without one of their own.
func (b *Book[M, O]) SetOutcome(o O) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.outcome = o
}

// SetOutcomeFor sets the outcome for one destination, written as the
// provider's request names it (E.164, or digits for Vonage).
func (b *Book[M, O]) SetOutcomeFor(to string, o O) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byTo == nil {
		b.byTo = map[string]O{}
	}
	b.byTo[to] = o
}

// OutcomeFor is the outcome a message to the destination to gets (as
// SetOutcomeFor names it).
func (b *Book[M, O]) OutcomeFor(to string) O {
	b.mu.Lock()
	defer b.mu.Unlock()
	if o, ok := b.byTo[to]; ok {
		return o
	}
	return b.outcome
}

// Messages returns the messages accepted so far, oldest first.
func (b *Book[M, O]) Messages() []M {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]M(nil), b.messages...)
}

// Find returns the first accepted message that match accepts.
func (b *Book[M, O]) Find(match func(M) bool) (M, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.messages {
		if match(m) {
			return m, true
		}
	}
	var none M
	return none, false
}

// Requests returns how many requests reached the fake's sending endpoint,
// whatever their outcome.
func (b *Book[M, O]) Requests() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.requests
}

// CountRequest counts one request to the sending endpoint.
func (b *Book[M, O]) CountRequest() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests++
}

// Accept records an accepted message.
func (b *Book[M, O]) Accept(m M) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.messages = append(b.messages, m)
}
