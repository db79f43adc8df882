package history

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/closecast/closecast"
)

// ensureTail fetches sym's days after the last known one up to min(to,
// today) unless they are known, being fetched (then it waits for that
// fetch), or were asked for recently without success.
func (l *Layered) ensureTail(ctx context.Context, st *symState, sym string, from, to closecast.Date) error {
	// After waiting for another request's fetch, look again: that fetch may
	// have covered fewer days than this request needs. Every extra round
	// follows a finished fetch, so rounds run out only under a storm of
	// fetches of this symbol; then the request fails rather than answer
	// short.
	for round := 0; round < maxRounds; round++ {
		l.mu.Lock()
		gen := st.gen
		l.mu.Unlock()
		snap, err := l.snapshot(ctx, st, sym)
		if err != nil {
			return err
		}
		last, known := snap.last()
		now := l.now()
		start, end := from, min(to, closecast.DateOf(now))
		if known {
			start = last + 1
		}
		if start > end {
			return nil // covered, or only days that have not happened yet
		}

		l.mu.Lock()
		if st.gen != gen {
			// A fetch finished since the snapshot was taken: look again
			// rather than fetch what that fetch just stored.
			l.mu.Unlock()
			continue
		}
		f, leader := st.flight, false
		if f == nil && !known {
			if e, ok := l.notFound[sym]; ok && now.Before(e.until) {
				l.mu.Unlock()
				l.skipped.Add(1)
				return e.err
			}
		}
		if f == nil {
			if m := st.memo; m != nil && m.known == known && m.last == last && m.to >= end && now.Before(m.until) {
				l.mu.Unlock()
				l.skipped.Add(1)
				return m.err
			}
			f, leader = &flight{done: make(chan struct{})}, true
			st.flight = f
			go l.fetch(context.WithoutCancel(ctx), st, f, sym, start, end, last, known)
		}
		l.mu.Unlock()
		if !leader {
			l.shared.Add(1)
		}

		select {
		case <-f.done:
		case <-ctx.Done():
			return fmt.Errorf("history: waiting for bars of %s from the provider: %w", sym, context.Cause(ctx))
		}
		if f.err != nil || leader {
			return f.err // the leader's fetch covered exactly what it needs
		}
	}
	return fmt.Errorf("history: %w: bars of %s up to %s still missing after %d concurrent fetches", closecast.ErrUnavailable, sym, to, maxRounds)
}

// maxRounds bounds the looks ensureTail takes at what is known.
const maxRounds = 32

// fetch runs flight f: asks the live provider for sym's days [start, end],
// stores them, and remembers an unsuccessful fetch. last/known describe
// what was known when the fetch started. ctx carries the first caller's
// values but not its cancellation.
func (l *Layered) fetch(ctx context.Context, st *symState, f *flight, sym string, start, end, last closecast.Date, known bool) {
	l.fetches.Add(1)
	ctx, cancel := context.WithTimeout(ctx, l.fetchTimeout)
	defer cancel()
	began := l.now()
	retryAt := began.Add(l.retryAfter)
	var newMemo *memo
	defer func() {
		l.mu.Lock()
		st.flight = nil
		st.gen++
		st.memo = newMemo
		l.mu.Unlock()
		close(f.done)
	}()

	if fl, ok := l.store.(fetchLeaser); ok {
		unlock, err := fl.LockFetch(ctx, sym)
		if err != nil {
			// Fetch anyway: at worst two processes ask for the same days,
			// and the store keeps one row of each.
			l.log.Warn("history: no fetch lease; fetching without it", "symbol", sym, "err", err)
		} else {
			// Held until the fetched bars are stored (defers run last in,
			// first out): a process waiting for it then finds them.
			defer unlock()
			if bars := l.storedMeanwhile(ctx, sym, start, end); len(bars) > 0 {
				l.stored.Add(1)
				l.invalidate(st, bars)
				l.log.Info("history: fetched by another process", "symbol", sym, "from", start, "to", end, "bars", len(bars))
				newMemo = tailMemo(last, known, end, retryAt, bars)
				return
			}
		}
	}

	bars, err := l.fetchBars(ctx, sym, start, end)
	if err != nil && errors.Is(err, closecast.ErrUnknownSymbol) && known {
		// Some providers answer "no data" for a range with no bar; for a
		// symbol known locally that means nothing new, not an unknown symbol.
		l.log.Info("history: provider has no new bars", "symbol", sym, "from", start, "to", end, "err", err)
		newMemo = &memo{last: last, known: known, to: end, until: retryAt}
		return
	}
	if err != nil {
		l.failures.Add(1)
		if errors.Is(err, closecast.ErrUnknownSymbol) {
			f.err = fmt.Errorf("history: %w: %s is neither embedded nor stored, and the provider does not know it: %w",
				closecast.ErrUnknownSymbol, sym, err)
		} else {
			f.err = &closecast.UnavailableError{Symbol: sym, From: start, To: end, RetryAt: retryAt, Err: err}
		}
		l.log.Warn("history: fetch failed", "symbol", sym, "from", start, "to", end, "err", err, "took", l.now().Sub(began))
		if fr, ok := l.store.(fetchRecorder); ok {
			if lerr := fr.LogFetchError(ctx, sym, start, end, err); lerr != nil {
				l.log.Warn("history: logging a failed fetch", "symbol", sym, "err", lerr)
			}
		}
		newMemo = &memo{last: last, known: known, to: end, until: retryAt, err: f.err}
		if errors.Is(err, closecast.ErrUnknownSymbol) {
			l.mu.Lock()
			l.rememberUnknown(sym, f.err)
			l.mu.Unlock()
		}
		return
	}

	if err := l.checkSeam(st, bars); err != nil {
		// The provider answered, with data that must not be stored.
		l.failures.Add(1)
		f.err = &closecast.UnavailableError{Symbol: sym, From: start, To: end, RetryAt: retryAt, Err: err}
		l.log.Warn("history: fetched bars refused", "symbol", sym, "from", start, "to", end, "err", err)
		newMemo = &memo{last: last, known: known, to: end, until: retryAt, err: f.err}
		return
	}
	added, updated := len(bars), 0
	if l.store != nil {
		if fr, ok := l.store.(fetchRecorder); ok {
			added, updated, err = fr.UpsertFetched(ctx, sym, start, end, bars)
		} else if len(bars) > 0 {
			added, updated, err = l.store.Upsert(ctx, sym, bars)
		}
		if err != nil {
			// Not the provider's fault, and the bars are good: serve them
			// from memory (a busy or damaged store must not fail a forecast
			// whose inputs were fetched fine) and log the failed write. No
			// memo: the next fetch of later days writes again.
			l.log.Warn("history: storing fetched bars failed; serving them from memory", "symbol", sym, "bars", len(bars), "err", err)
			l.keep(st, bars)
		}
	}
	if len(bars) > 0 {
		l.invalidate(st, bars)
	}
	l.log.Info("history: fetched", "symbol", sym, "from", start, "to", end, "bars", len(bars),
		"added", added, "updated", updated, "took", l.now().Sub(began))

	newMemo = tailMemo(last, known, end, retryAt, bars)
}

// tailMemo is the memo of a fetch of the days after last (none known:
// !known) up to end that got bars: nil when they reach end. Short of end,
// the provider has nothing newer yet (today's bar is not final, a weekend
// or holiday); the memo keeps requests until retryAt from asking again.
func tailMemo(last closecast.Date, known bool, end closecast.Date, retryAt time.Time, bars []closecast.Bar) *memo {
	if n := len(bars); n > 0 && (!known || bars[n-1].Date > last) {
		last, known = bars[n-1].Date, true
	}
	if !known || last < end {
		return &memo{last: last, known: known, to: end, until: retryAt}
	}
	return nil
}

// storedMeanwhile returns the bars of sym in [start, end] the store holds
// now: the days another process fetched while this one waited for the
// fetch lease (none when the store cannot be read: then fetch).
func (l *Layered) storedMeanwhile(ctx context.Context, sym string, start, end closecast.Date) []closecast.Bar {
	s, err := l.store.Bars(ctx, sym, start, end)
	if err != nil {
		return nil
	}
	return s.Bars
}

// seamError is a fetched close beyond the jump limit from the last known
// close before it.
type seamError struct{ err error }

func (e *seamError) Error() string {
	return "provider sent a jump from the last known close: " + e.err.Error()
}
func (e *seamError) Unwrap() error { return e.err }

// checkSeam checks the jump limit (WithMaxJump) between the last known
// close before the fetched bars and the first of them, so that a fetch
// cannot store what every later read would refuse.
func (l *Layered) checkSeam(st *symState, fetched []closecast.Bar) error {
	snap := st.snap.Load()
	if l.maxJump <= 0 || snap == nil || len(fetched) == 0 {
		return nil
	}
	i := closecast.Series{Bars: snap.bars}.Search(fetched[0].Date)
	if i == 0 {
		return nil
	}
	if err := closecast.CheckJumps([]closecast.Bar{snap.bars[i-1], fetched[0]}, l.maxJump); err != nil {
		return &seamError{err}
	}
	return nil
}

// fetchBars asks the provider for sym's bars in [start, end] and keeps only
// those, validated.
func (l *Layered) fetchBars(ctx context.Context, sym string, start, end closecast.Date) ([]closecast.Bar, error) {
	s, err := l.live.Bars(ctx, sym, start, end)
	if err != nil {
		return nil, err
	}
	// The provider's own Source contract says validated and in range;
	// check both rather than store what a faulty provider sent.
	if _, err := closecast.NewSeries(sym, s.Bars); err != nil {
		return nil, fmt.Errorf("provider sent invalid bars: %w", err)
	}
	return s.Between(start, end).Bars, nil
}
