package phrase

import (
	"container/list"
	"html/template"
	"sync"
	"time"
)

// Cache keeps the phrase image of each challenge, so that it is drawn once,
// not at every view of the page (drawing is most of a page view's CPU). It is
// also the safer choice: every view of a challenge shows the same distortion,
// so an OCR attacker who reloads the page gets no new samples to combine.
//
// It holds at most Max images (about 20 kB each, as data: URLs), evicting the
// least recently viewed, and forgets an image TTL after it was drawn (the
// challenge is gone by then). A replica that did not draw a challenge's image
// draws its own. It is safe for concurrent use.
type Cache struct {
	max int
	ttl time.Duration
	now func() time.Time
	// draw renders a phrase (DataURI; tests count calls).
	draw func(text string) (template.URL, error)

	mu    sync.Mutex
	order *list.List // of *cached, most recently viewed first
	byKey map[string]*list.Element
}

type cached struct {
	key, text string
	uri       template.URL
	expires   time.Time
}

// NewCache returns a cache of at most max images kept for ttl; max <= 0 turns
// caching off (every view draws).
func NewCache(max int, ttl time.Duration) *Cache {
	return &Cache{max: max, ttl: ttl, now: time.Now, draw: DataURI, order: list.New(), byKey: map[string]*list.Element{}}
}

// DataURI returns the image of text for key (a challenge id), drawing it if
// the cache has none for that key and text.
func (c *Cache) DataURI(key, text string) (template.URL, error) {
	if c == nil || c.max <= 0 {
		return DataURI(text)
	}
	now := c.now()
	c.mu.Lock()
	if el, ok := c.byKey[key]; ok {
		e := el.Value.(*cached)
		if e.text == text && now.Before(e.expires) {
			c.order.MoveToFront(el)
			c.mu.Unlock()
			return e.uri, nil
		}
		c.remove(el)
	}
	c.mu.Unlock()

	// Drawn outside the lock: views of other challenges do not wait. Two
	// first views of one challenge at once may both draw; the last one kept
	// is shown from then on.
	uri, err := c.draw(text)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.remove(el)
	}
	c.byKey[key] = c.order.PushFront(&cached{key: key, text: text, uri: uri, expires: now.Add(c.ttl)})
	for c.order.Len() > c.max {
		c.remove(c.order.Back())
	}
	return uri, nil
}

// Len is the number of images held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// remove drops el; c.mu is held.
func (c *Cache) remove(el *list.Element) {
	delete(c.byKey, el.Value.(*cached).key)
	c.order.Remove(el)
}
