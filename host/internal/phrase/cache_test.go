package phrase

import (
	"errors"
	"html/template"
	"sync/atomic"
	"testing"
	"time"
)

// countingCache is a cache whose drawings are counted and told apart, on a
// clock the test moves.
func countingCache(max int, ttl time.Duration) (*Cache, *atomic.Int64, *time.Time) {
	c := NewCache(max, ttl)
	var draws atomic.Int64
	clock := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return clock }
	c.draw = func(text string) (template.URL, error) {
		n := draws.Add(1)
		return template.URL(text + "#" + string(rune('0'+n))), nil
	}
	return c, &draws, &clock
}

func TestCacheDrawsOncePerChallenge(t *testing.T) {
	t.Parallel()
	c, draws, _ := countingCache(10, time.Minute)
	first, err := c.DataURI("cid1", "amber walrus kite")
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, _ := c.DataURI("cid1", "amber walrus kite")
		if again != first {
			t.Fatalf("view shows %q, first view %q: the image changed", again, first)
		}
	}
	if n := draws.Load(); n != 1 {
		t.Fatalf("%d drawings for 6 views of one challenge, want 1", n)
	}
	// Another challenge, even with the same phrase, gets its own drawing.
	if other, _ := c.DataURI("cid2", "amber walrus kite"); other == first {
		t.Fatal("two challenges share one drawing")
	}
	// Another phrase under the same key (not expected; never the wrong image).
	if uri, _ := c.DataURI("cid1", "quiet horse run"); uri == first {
		t.Fatal("a changed phrase got the old image")
	}
}

func TestCacheBounds(t *testing.T) {
	t.Parallel()
	c, draws, clock := countingCache(2, time.Minute)
	c.DataURI("a", "one")
	c.DataURI("b", "two")
	c.DataURI("a", "one") // a is now the most recently viewed
	c.DataURI("c", "three")
	if c.Len() != 2 {
		t.Fatalf("%d images held, want at most 2", c.Len())
	}
	before := draws.Load()
	c.DataURI("a", "one")
	if draws.Load() != before {
		t.Fatal("the most recently viewed image was evicted")
	}
	c.DataURI("b", "two")
	if draws.Load() != before+1 {
		t.Fatal("the least recently viewed image was kept over the bound")
	}

	// An image is drawn again once its TTL has passed.
	before = draws.Load()
	*clock = clock.Add(time.Minute)
	c.DataURI("b", "two")
	if draws.Load() != before+1 {
		t.Fatal("an image older than the TTL was shown")
	}
}

func TestCacheOff(t *testing.T) {
	t.Parallel()
	c := NewCache(0, time.Minute)
	a, err := c.DataURI("cid", "amber walrus kite")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.DataURI("cid", "amber walrus kite")
	if a == b || c.Len() != 0 {
		t.Fatal("a cache of size 0 kept an image")
	}
	if _, err := c.DataURI("cid", ""); !errors.Is(err, ErrText) {
		t.Fatalf("empty phrase: %v, want ErrText", err)
	}
}
