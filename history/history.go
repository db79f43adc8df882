// Package history is the one closecast.Source the rest of closecast reads
// daily bars from. It layers three sources:
//
//   - base: the data set embedded in the binary (read-only, never changes
//     while the process runs);
//   - store: the local store of bars fetched earlier (closecast.Store),
//     which wins over base on a date both have, as it holds newer or
//     revised data;
//   - live: a market data provider (Yahoo), asked only for the days after
//     the last known one, when a request needs them.
//
// Any layer may be nil: no base (symbols not embedded, such as AAPL), no
// store (nothing is kept between requests) or no live provider (offline:
// never fetches, answers with what is known).
package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/closecast/closecast"
)

// Defaults of the options.
const (
	// DefaultRetryAfter is how long a failed, empty or incomplete fetch is
	// remembered: for that long the same missing days are not asked for
	// again. Today's bar, not final until the day ends, is the usual case:
	// the provider has nothing new, and asking on every request would only
	// load it (and risk its rate limit).
	DefaultRetryAfter = time.Minute
	// DefaultFetchTimeout bounds one fetch from the live provider,
	// retries included.
	DefaultFetchTimeout = time.Minute
)

// farPast and farFuture bound the query used to find the last day of a base
// that is not a Ranger. Dates before 1900 do not occur in market data.
var (
	farPast   = closecast.MustParseDate("1900-01-01")
	farFuture = closecast.MustParseDate("9999-12-31")
)

// Ranger is implemented by sources that can tell the first and last date
// they hold for a symbol without reading the bars (closecast.Store does).
// Layered uses it, when the base implements it, to find the base's last
// day; otherwise it reads the base's whole series once per symbol.
type Ranger interface {
	Range(ctx context.Context, symbol string) (first, last closecast.Date, ok bool, err error)
}

// fetchRecorder is implemented by stores that log fetches next to the bars
// (sqlite.DB): the log row is written in the same transaction as the bars.
type fetchRecorder interface {
	UpsertFetched(ctx context.Context, symbol string, from, to closecast.Date, bars []closecast.Bar) (added, updated int, err error)
	LogFetchError(ctx context.Context, symbol string, from, to closecast.Date, fetchErr error) error
}

// UnavailableError is returned when bars that a request needs could not be
// fetched. It wraps closecast.ErrUnavailable and the provider's error.
// RetryAt is when Layered will ask the provider again (an HTTP server's
// Retry-After).
type UnavailableError struct {
	Symbol   string
	From, To closecast.Date // the missing days that were asked for
	RetryAt  time.Time
	Err      error // the provider's error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("history: bars of %s from %s to %s are needed but the provider failed: %v", e.Symbol, e.From, e.To, e.Err)
}

// Unwrap returns closecast.ErrUnavailable and the provider's error, so
// errors.Is matches either.
func (e *UnavailableError) Unwrap() []error { return []error{closecast.ErrUnavailable, e.Err} }

// Option configures a Layered.
type Option func(*Layered)

// WithRetryAfter sets how long a failed, empty or incomplete fetch is
// remembered before the provider is asked for the same days again
// (DefaultRetryAfter). Zero asks again on every request.
func WithRetryAfter(d time.Duration) Option { return func(l *Layered) { l.retryAfter = d } }

// WithFetchTimeout bounds one fetch from the live provider (DefaultFetchTimeout).
// A fetch is shared by every request waiting for it, so it runs on its own
// deadline, not the first caller's: a caller that gives up stops waiting
// without cancelling the fetch for the others.
func WithFetchTimeout(d time.Duration) Option { return func(l *Layered) { l.fetchTimeout = d } }

// WithClock sets the clock that decides "today" (the last day a provider
// can have a bar for) and when remembered fetches expire; for tests.
func WithClock(now func() time.Time) Option { return func(l *Layered) { l.now = now } }

// WithLogger logs every fetch (Info) and failure (Warn) to logger. The
// default logs nothing.
func WithLogger(logger *slog.Logger) Option { return func(l *Layered) { l.log = logger } }

// Stats counts what Layered asked of its live provider since New.
type Stats struct {
	Fetches  uint64 // fetches started
	Failures uint64 // fetches that failed
	Shared   uint64 // requests that waited for a fetch another request started
	Skipped  uint64 // requests that did not fetch because a recent fetch of the same days failed or had nothing new
}

// Layered serves bars from an embedded base data set and a local store (the
// store wins on a date both have, as it holds newer/revised data), fetching
// missing recent days from a live provider when one is set. It is safe for
// concurrent use.
type Layered struct {
	base  closecast.Source
	store closecast.Store
	live  closecast.Source

	retryAfter   time.Duration
	fetchTimeout time.Duration
	now          func() time.Time
	log          *slog.Logger

	mu       sync.Mutex
	flights  map[string]*flight // symbol → the fetch in progress
	memos    map[string]memo    // symbol → the last failed, empty or incomplete fetch
	gens     map[string]uint64  // symbol → number of fetches finished
	baseLast map[string]baseEnd // symbol → last day of the base (the base never changes)

	fetches, failures, shared, skipped atomic.Uint64
}

// flight is one fetch in progress, shared by every request that needs it.
// bars and err are written before done is closed.
type flight struct {
	done chan struct{}
	bars []closecast.Bar
	err  error
}

// memo remembers a fetch of the days after last (none known: !known) up to
// to that failed (err) or did not reach to, until until.
type memo struct {
	last  closecast.Date
	known bool
	to    closecast.Date
	until time.Time
	err   error
}

type baseEnd struct {
	last closecast.Date
	ok   bool
}

// New returns a Layered over base, store and live, any of which may be nil
// (a nil interface: a typed nil pointer is not detected). live nil means
// offline. Without a store, fetched bars are not kept: each request past the
// base asks the provider again.
func New(base closecast.Source, store closecast.Store, live closecast.Source, opts ...Option) *Layered {
	l := &Layered{
		base: base, store: store, live: live,
		retryAfter:   DefaultRetryAfter,
		fetchTimeout: DefaultFetchTimeout,
		now:          time.Now,
		log:          slog.New(slog.DiscardHandler),
		flights:      make(map[string]*flight),
		memos:        make(map[string]memo),
		gens:         make(map[string]uint64),
		baseLast:     make(map[string]baseEnd),
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Stats returns the provider counters.
func (l *Layered) Stats() Stats {
	return Stats{Fetches: l.fetches.Load(), Failures: l.failures.Load(), Shared: l.shared.Load(), Skipped: l.skipped.Load()}
}

// Bars returns the bars of symbol (case-insensitive; the series is labelled
// upper-case) with dates in [from, to], ascending, validated: the store's
// bar on a date both have, otherwise the base's.
//
// When a live provider is set and to is after the last known day (the
// later of the base's and the store's last), the missing days, from the
// last known day + 1 (or from, when nothing is known) to to (at most
// today), are fetched once — concurrent requests for the same symbol share
// one fetch — stored, and then the request is answered. If that fetch fails
// the error wraps closecast.ErrUnavailable (an *UnavailableError); a fetch
// that failed or found nothing new is not repeated for the retry-after
// time. When what is known covers [from, to], the provider is not asked.
//
// Without a provider, or when the provider has nothing after the last
// known day, the series simply ends there: callers check its last date. A
// symbol that no layer knows is an error wrapping closecast.ErrUnknownSymbol.
func (l *Layered) Bars(ctx context.Context, symbol string, from, to closecast.Date) (closecast.Series, error) {
	sym := strings.ToUpper(symbol)
	if sym == "" {
		return closecast.Series{}, errors.New("history: empty symbol")
	}
	if from > to {
		return closecast.Series{}, fmt.Errorf("history: bars of %s: from %s is after to %s", sym, from, to)
	}
	var fetched []closecast.Bar
	if l.live != nil {
		var err error
		if fetched, err = l.ensureTail(ctx, sym, from, to); err != nil {
			return closecast.Series{}, err
		}
	}
	return l.known(ctx, sym, from, to, fetched)
}

// known merges what base and store hold in [from, to], with extra (bars
// fetched but not stored, when there is no store) between them in priority.
func (l *Layered) known(ctx context.Context, sym string, from, to closecast.Date, extra []closecast.Bar) (closecast.Series, error) {
	var baseBars, storeBars []closecast.Bar
	anyKnown := len(extra) > 0 || l.live != nil
	for _, src := range []struct {
		name string
		s    closecast.Source
		dst  *[]closecast.Bar
	}{{"embedded data", l.base, &baseBars}, {"store", l.store, &storeBars}} {
		if src.s == nil {
			continue
		}
		s, err := src.s.Bars(ctx, sym, from, to)
		switch {
		case errors.Is(err, closecast.ErrUnknownSymbol):
			continue
		case err != nil:
			return closecast.Series{}, fmt.Errorf("history: reading %s from the %s: %w", sym, src.name, err)
		}
		anyKnown = true
		*src.dst = s.Bars
	}
	if !anyKnown {
		return closecast.Series{}, fmt.Errorf("history: %w: %s is neither embedded nor stored, and closecast is offline", closecast.ErrUnknownSymbol, sym)
	}
	if len(extra) > 0 {
		i, j := searchBars(extra, from), searchBars(extra, to+1)
		baseBars = merge(extra[i:j], baseBars)
	}
	s, err := closecast.NewSeries(sym, merge(storeBars, baseBars))
	if err != nil {
		return closecast.Series{}, fmt.Errorf("history: merged bars of %s: %w", sym, err)
	}
	return s, nil
}

// merge returns the union of two ascending bar lists; hi's bar wins on a
// date both have. Either list is returned as is when the other is empty.
func merge(hi, lo []closecast.Bar) []closecast.Bar {
	if len(lo) == 0 {
		return hi
	}
	if len(hi) == 0 {
		return lo
	}
	out := make([]closecast.Bar, 0, len(hi)+len(lo))
	i, j := 0, 0
	for i < len(hi) && j < len(lo) {
		switch {
		case hi[i].Date < lo[j].Date:
			out = append(out, hi[i])
			i++
		case hi[i].Date > lo[j].Date:
			out = append(out, lo[j])
			j++
		default:
			out = append(out, hi[i])
			i++
			j++
		}
	}
	out = append(out, hi[i:]...)
	return append(out, lo[j:]...)
}

// searchBars returns the index of the first bar dated on or after d.
func searchBars(bars []closecast.Bar, d closecast.Date) int {
	return closecast.Series{Bars: bars}.Search(d)
}

// lastKnown returns the later of the base's and the store's last day.
func (l *Layered) lastKnown(ctx context.Context, sym string) (last closecast.Date, ok bool, err error) {
	be, err := l.baseEnd(ctx, sym)
	if err != nil {
		return 0, false, err
	}
	last, ok = be.last, be.ok
	if l.store != nil {
		_, sl, sok, err := l.store.Range(ctx, sym)
		if err != nil {
			return 0, false, fmt.Errorf("history: range of %s in the store: %w", sym, err)
		}
		if sok && (!ok || sl > last) {
			last, ok = sl, true
		}
	}
	return last, ok, nil
}

// baseEnd returns the base's last day of sym, looked up once: the base is
// the embedded data set and does not change.
func (l *Layered) baseEnd(ctx context.Context, sym string) (baseEnd, error) {
	if l.base == nil {
		return baseEnd{}, nil
	}
	l.mu.Lock()
	be, cached := l.baseLast[sym]
	l.mu.Unlock()
	if cached {
		return be, nil
	}
	if r, ok := l.base.(Ranger); ok {
		_, last, ok, err := r.Range(ctx, sym)
		if err != nil && !errors.Is(err, closecast.ErrUnknownSymbol) {
			return baseEnd{}, fmt.Errorf("history: range of %s in the embedded data: %w", sym, err)
		}
		be = baseEnd{last, ok && err == nil}
	} else {
		s, err := l.base.Bars(ctx, sym, farPast, farFuture)
		if err != nil && !errors.Is(err, closecast.ErrUnknownSymbol) {
			return baseEnd{}, fmt.Errorf("history: reading %s from the embedded data: %w", sym, err)
		}
		be.last, be.ok = s.Last()
	}
	l.mu.Lock()
	l.baseLast[sym] = be
	l.mu.Unlock()
	return be, nil
}

// ensureTail fetches the days after the last known one up to min(to,
// today) unless they are known, being fetched (then it waits), or were
// asked for recently without success. It returns fetched bars only when
// there is no store to keep them in.
func (l *Layered) ensureTail(ctx context.Context, sym string, from, to closecast.Date) ([]closecast.Bar, error) {
	// A few rounds: after waiting for another request's fetch, look again,
	// as that fetch may have covered fewer days than this request needs.
	for round := 0; round < 3; round++ {
		l.mu.Lock()
		gen := l.gens[sym]
		l.mu.Unlock()
		last, known, err := l.lastKnown(ctx, sym)
		if err != nil {
			return nil, err
		}
		now := l.now()
		start, end := from, min(to, closecast.DateOf(now))
		if known {
			start = last + 1
		}
		if start > end {
			return nil, nil // covered, or only days that have not happened yet
		}

		l.mu.Lock()
		if l.gens[sym] != gen {
			// A fetch finished since lastKnown was read: read it again
			// rather than fetch what that fetch just stored.
			l.mu.Unlock()
			continue
		}
		f, leader := l.flights[sym], false
		if f == nil {
			if m, ok := l.memos[sym]; ok && m.known == known && m.last == last && m.to >= end && now.Before(m.until) {
				l.mu.Unlock()
				l.skipped.Add(1)
				return nil, m.err
			}
			f, leader = &flight{done: make(chan struct{})}, true
			l.flights[sym] = f
			go l.fetch(context.WithoutCancel(ctx), f, sym, start, end, last, known)
		}
		l.mu.Unlock()
		if !leader {
			l.shared.Add(1)
		}

		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("history: waiting for bars of %s from the provider: %w", sym, context.Cause(ctx))
		}
		if f.err != nil {
			return nil, f.err
		}
		if l.store == nil {
			return f.bars, nil
		}
		if leader {
			return nil, nil // the fetch is stored; the answer reads it from the store
		}
	}
	return nil, nil
}

// fetch runs flight f: asks the live provider for sym's days [start, end],
// stores them, and remembers an unsuccessful fetch. last/known describe
// what was known when the fetch started.
func (l *Layered) fetch(ctx context.Context, f *flight, sym string, start, end, last closecast.Date, known bool) {
	l.fetches.Add(1)
	ctx, cancel := context.WithTimeout(ctx, l.fetchTimeout)
	defer cancel()
	began := l.now()
	var newMemo *memo
	defer func() {
		l.mu.Lock()
		delete(l.flights, sym)
		l.gens[sym]++
		if newMemo != nil {
			l.memos[sym] = *newMemo
		} else {
			delete(l.memos, sym)
		}
		l.mu.Unlock()
		close(f.done)
	}()
	retryAt := l.now().Add(l.retryAfter)

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
			f.err = &UnavailableError{Symbol: sym, From: start, To: end, RetryAt: retryAt, Err: err}
		}
		l.log.Warn("history: fetch failed", "symbol", sym, "from", start, "to", end, "err", err, "took", l.now().Sub(began))
		if fr, ok := l.store.(fetchRecorder); ok {
			if lerr := fr.LogFetchError(ctx, sym, start, end, err); lerr != nil {
				l.log.Warn("history: logging a failed fetch", "symbol", sym, "err", lerr)
			}
		}
		newMemo = &memo{last: last, known: known, to: end, until: retryAt, err: f.err}
		return
	}

	newLast, newKnown := last, known
	if n := len(bars); n > 0 && (!known || bars[n-1].Date > last) {
		newLast, newKnown = bars[n-1].Date, true
	}
	if l.store != nil {
		var added, updated int
		if fr, ok := l.store.(fetchRecorder); ok {
			added, updated, err = fr.UpsertFetched(ctx, sym, start, end, bars)
		} else if len(bars) > 0 {
			added, updated, err = l.store.Upsert(ctx, sym, bars)
		}
		if err != nil {
			// Not the provider's fault: no memo, the next request tries again.
			f.err = fmt.Errorf("history: storing %d fetched bars of %s: %w", len(bars), sym, err)
			l.log.Warn("history: storing fetched bars failed", "symbol", sym, "err", err)
			return
		}
		l.log.Info("history: fetched", "symbol", sym, "from", start, "to", end, "bars", len(bars),
			"added", added, "updated", updated, "took", l.now().Sub(began))
	} else {
		f.bars = bars
		l.log.Info("history: fetched", "symbol", sym, "from", start, "to", end, "bars", len(bars), "took", l.now().Sub(began))
	}
	// Short of end: the provider has nothing newer yet (today's bar is not
	// final, a market holiday). Remember it so requests in the next
	// retry-after time do not ask again — unless there is no store and
	// this fetch brought bars, which must then be fetched per request.
	if (!newKnown || newLast < end) && (l.store != nil || len(bars) == 0) {
		newMemo = &memo{last: newLast, known: newKnown, to: end, until: retryAt}
	}
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
