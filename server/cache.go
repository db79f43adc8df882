package server

import (
	"sync"
	"time"

	"github.com/closecast/closecast"
)

// predictCache keeps encoded 200 answers of /predict by symbol and date for
// a fixed time. A forecast changes only when the bars it reads change (a new
// day fetched, a bar revised in the store), so within a short TTL the answer
// is the same and recomputing it is waste; staleness is bounded by the TTL.
// Errors are never kept: an out-of-range date may become valid once a fetch
// brings the next day.
type predictCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[cacheKey]cacheEntry
}

// cacheKey identifies one answer: a plain one-day forecast has horizon and
// samples 0; a horizon request keeps its own entry per horizon and samples.
type cacheKey struct {
	symbol   string
	date     closecast.Date
	horizon  int
	interval string
	samples  int
	// quantiles are the asked levels in percent as fmt.Sprint writes them
	// ("[5 50 95]"), "" when none were asked.
	quantiles string
}

type cacheEntry struct {
	body    []byte // the JSON answer, shared read-only by every hit
	expires time.Time
	// model is the market whose model made the answer: after a swap a
	// forecast still running on the old model may store its answer, which
	// must not be served for the new one.
	model *market
}

// maxCacheEntries bounds the cache: dates are client-chosen, so without a
// bound a client walking through every day would grow it without end. When
// full, it starts over (entries are cheap to recompute).
const maxCacheEntries = 4096

func newPredictCache(ttl time.Duration) *predictCache {
	if ttl <= 0 {
		return nil
	}
	return &predictCache{ttl: ttl, m: make(map[cacheKey]cacheEntry)}
}

// get returns the cached answer for k made by model, if any and fresh. A
// nil cache has none.
func (c *predictCache) get(k cacheKey, now time.Time, model *market) []byte {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) || e.model != model {
		return nil
	}
	return e.body
}

// put keeps body, made by model, as the answer for k until now+ttl.
func (c *predictCache) put(k cacheKey, body []byte, now time.Time, model *market) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if len(c.m) >= maxCacheEntries {
		clear(c.m)
	}
	c.m[k] = cacheEntry{body: body, expires: now.Add(c.ttl), model: model}
	c.mu.Unlock()
}

// dropSymbol forgets every cached answer of sym (its model changed).
func (c *predictCache) dropSymbol(sym string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	for k := range c.m {
		if k.symbol == sym {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}
