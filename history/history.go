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
// store (fetched bars are then kept in memory only) or no live provider
// (offline: never fetches, answers with what is known).
//
// Reads are served from a per-symbol in-memory snapshot of base ∪ store,
// so a request costs a slice copy, not a database query: the HTTP server
// answers thousands of requests a second from it. A fetch made through
// Layered replaces the snapshot at once; bars written to the store by
// another process (`closecast fetch` while the server runs) are seen within
// the refresh time (WithRefresh).
//
// Processes sharing one store (serve replicas and Lambda instances on
// PostgreSQL) fetch each missing day once between them: a store that offers
// a fetch lease (postgres.DB's LockFetch) is asked for it before the
// provider, and a process that waited for the lease finds the days stored
// by its holder and uses them instead (Stats.Stored).
package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// DefaultRefresh is how long a snapshot of the store is used before
	// the store is read again.
	DefaultRefresh = 2 * time.Second
	// DefaultNotFoundTTL is how long the provider's "not found" for a
	// symbol nothing local knows is remembered: for that long, requests for
	// the symbol, whatever range they ask, get ErrUnknownSymbol without an
	// upstream call. Tickers do not appear by the minute, and repeating a
	// request must not make closecast hammer the provider.
	DefaultNotFoundTTL = time.Hour
)

// maxSymbols bounds the per-symbol state kept, as symbols come from
// clients of the HTTP server; past it, idle symbols are forgotten.
const maxSymbols = 1024

// farPast and farFuture bound the reads that load a symbol's whole history.
// Dates before 1900 do not occur in market data.
var (
	farPast   = closecast.MustParseDate("1900-01-01")
	farFuture = closecast.MustParseDate("9999-12-31")
)

// fetchRecorder is implemented by stores that log fetches next to the bars
// (sqlite.DB): the log row is written in the same transaction as the bars.
type fetchRecorder interface {
	UpsertFetched(ctx context.Context, symbol string, from, to closecast.Date, bars []closecast.Bar) (added, updated int, err error)
	LogFetchError(ctx context.Context, symbol string, from, to closecast.Date, fetchErr error) error
}

// fetchLeaser is implemented by stores shared by several processes
// (postgres.DB): LockFetch holds the symbol's fetch lease until unlock, so
// that two processes needing the same missing days make one request to the
// provider between them.
type fetchLeaser interface {
	LockFetch(ctx context.Context, symbol string) (unlock func(), err error)
}

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

// WithNotFoundTTL sets how long a symbol the provider does not know is
// remembered as unknown (DefaultNotFoundTTL). Zero asks again every time
// (the retry-after memo of the same days still applies).
func WithNotFoundTTL(d time.Duration) Option { return func(l *Layered) { l.notFoundTTL = d } }

// WithMaxJump checks every read of base ∪ store (and so every fetch stored
// through Layered) against a jump limit: no close may differ from the
// previous one by more than factor f (closecast.CheckJumps). A store that
// fails it — written by hand or by an older closecast — is an error, not
// served. 0, the default, checks nothing beyond what the layers check; the
// CLI passes closecast.MaxJump().
func WithMaxJump(f float64) Option { return func(l *Layered) { l.maxJump = f } }

// WithRefresh sets how long a snapshot of a symbol's stored bars is served
// before the store is read again (DefaultRefresh); it only matters for
// writes by other processes. Zero reads the store on every request.
func WithRefresh(d time.Duration) Option { return func(l *Layered) { l.refresh = d } }

// WithClock sets the clock that decides "today" (the last day a provider
// can have a bar for) and when remembered fetches and snapshots expire;
// for tests.
func WithClock(now func() time.Time) Option { return func(l *Layered) { l.now = now } }

// WithLogger logs every fetch (Info) and failure (Warn) to logger. The
// default logs nothing.
func WithLogger(logger *slog.Logger) Option { return func(l *Layered) { l.log = logger } }

// Stats counts what Layered asked of its live provider since New.
type Stats struct {
	Fetches  uint64 // fetches started
	Failures uint64 // fetches that failed (provider error or invalid bars)
	Shared   uint64 // times a request waited for a fetch another request started
	Skipped  uint64 // times a request did not fetch because a recent fetch of the same days failed or had nothing new, or the symbol is remembered as unknown
	// Stored counts fetches that found, once they held the store's fetch
	// lease, their days stored by another process meanwhile, and asked
	// the provider nothing.
	Stored uint64
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
	refresh      time.Duration
	notFoundTTL  time.Duration
	maxJump      float64
	now          func() time.Time
	log          *slog.Logger

	mu   sync.Mutex
	syms map[string]*symState
	// notFound remembers, until when, symbols the provider answered "not
	// found" for. It is kept apart from syms so that evicting idle symbol
	// state does not forget them; it is bounded by maxSymbols too.
	notFound map[string]notFoundEntry

	fetches, failures, shared, skipped, stored atomic.Uint64
}

// symState is what Layered keeps per symbol.
type symState struct {
	// Guarded by Layered.mu.
	flight *flight // the fetch in progress, if any
	memo   *memo   // the last failed, empty or incomplete fetch, if any
	gen    uint64  // fetches finished

	// load is held while the snapshot is (re)read and while a fetch
	// replaces it, so a read that began before a fetch was stored cannot
	// overwrite the fetch's invalidation with older bars.
	load      sync.Mutex
	snap      atomic.Pointer[snapshot] // nil: must be read before use
	base      []closecast.Bar          // guarded by load: the base's bars, read once
	baseRead  bool                     // guarded by load
	baseKnown bool                     // guarded by load
	mem       []closecast.Bar          // guarded by load: fetched bars the store does not hold (none, or a write failed)
}

// snapshot is base ∪ store of one symbol at one time. bars is shared by
// every reader and never modified.
type snapshot struct {
	bars  []closecast.Bar // ascending, validated; the store's bar wins on a shared date
	known bool            // some layer knows the symbol (bars may still be empty)
	at    time.Time       // when the store was read
}

// last returns the last known day.
func (s *snapshot) last() (closecast.Date, bool) {
	if len(s.bars) == 0 {
		return 0, false
	}
	return s.bars[len(s.bars)-1].Date, true
}

// flight is one fetch in progress, shared by every request that needs it.
// err is written before done is closed.
type flight struct {
	done chan struct{}
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

// notFoundEntry is a remembered "not found": until when, and the error
// that is answered meanwhile.
type notFoundEntry struct {
	until time.Time
	err   error
}

// New returns a Layered over base, store and live, any of which may be nil
// (a nil interface: a typed nil pointer is not detected). live nil means
// offline. base must not change while Layered is used: each symbol's base
// bars are read once.
func New(base closecast.Source, store closecast.Store, live closecast.Source, opts ...Option) *Layered {
	l := &Layered{
		base: base, store: store, live: live,
		retryAfter:   DefaultRetryAfter,
		fetchTimeout: DefaultFetchTimeout,
		refresh:      DefaultRefresh,
		notFoundTTL:  DefaultNotFoundTTL,
		now:          time.Now,
		log:          slog.New(slog.DiscardHandler),
		syms:         make(map[string]*symState),
		notFound:     make(map[string]notFoundEntry),
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Stats returns the provider counters.
func (l *Layered) Stats() Stats {
	return Stats{Fetches: l.fetches.Load(), Failures: l.failures.Load(), Shared: l.shared.Load(), Skipped: l.skipped.Load(), Stored: l.stored.Load()}
}

// state returns the per-symbol state of sym, creating it.
func (l *Layered) state(sym string) *symState {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.syms[sym]
	if st == nil {
		if len(l.syms) >= maxSymbols {
			for k, v := range l.syms { // map order: an arbitrary idle symbol
				if v.flight == nil {
					delete(l.syms, k)
					break
				}
			}
		}
		st = &symState{}
		l.syms[sym] = st
	}
	return st
}

// Bars returns the bars of symbol (case-insensitive; the series is labelled
// upper-case) with dates in [from, to], ascending, validated: the store's
// bar on a date both have, otherwise the base's. The caller owns the
// returned bars.
//
// When a live provider is set and to is after the last known day (the
// later of the base's and the store's last), the missing days, from the
// last known day + 1 (or from, when nothing is known) to to (at most
// today), are fetched once — concurrent requests for the same symbol share
// one fetch — stored, and then the request is answered. If that fetch fails
// the error wraps closecast.ErrUnavailable (a *closecast.UnavailableError); a fetch
// that failed or found nothing new is not repeated for the retry-after
// time. When what is known covers [from, to], the provider is not asked.
// Days before the first known one are never fetched.
//
// Without a provider, or when the provider has nothing after the last
// known day, the series simply ends there: callers check its last date. A
// symbol that no layer knows is an error wrapping closecast.ErrUnknownSymbol.
func (l *Layered) Bars(ctx context.Context, symbol string, from, to closecast.Date) (closecast.Series, error) {
	sym, err := closecast.NormalizeSymbol(symbol)
	if err != nil {
		return closecast.Series{}, err
	}
	if from > to {
		return closecast.Series{}, fmt.Errorf("history: bars of %s: from %s is after to %s", sym, from, to)
	}
	st := l.state(sym)
	if l.live != nil {
		if err := l.ensureTail(ctx, st, sym, from, to); err != nil {
			return closecast.Series{}, err
		}
	}
	snap, err := l.snapshot(ctx, st, sym)
	if err != nil {
		return closecast.Series{}, err
	}
	if !snap.known && l.live == nil {
		return closecast.Series{}, fmt.Errorf("history: %w: %s is neither embedded nor stored, and closecast is offline", closecast.ErrUnknownSymbol, sym)
	}
	sub := closecast.Series{Bars: snap.bars}.Between(from, to)
	return closecast.Series{Symbol: sym, Bars: append([]closecast.Bar(nil), sub.Bars...)}, nil
}

// Range returns the first and last day of symbol known without fetching
// (base and store); ok is false when none is. A predictor uses it to say
// which dates can be forecast.
func (l *Layered) Range(ctx context.Context, symbol string) (first, last closecast.Date, ok bool, err error) {
	sym, err := closecast.NormalizeSymbol(symbol)
	if err != nil {
		return 0, 0, false, err
	}
	snap, err := l.snapshot(ctx, l.state(sym), sym)
	if err != nil || len(snap.bars) == 0 {
		return 0, 0, false, err
	}
	return snap.bars[0].Date, snap.bars[len(snap.bars)-1].Date, true, nil
}

// snapshot returns sym's snapshot, reading it when there is none or it is
// older than the refresh time. While one request re-reads an expired
// snapshot, the others keep using the expired one rather than queue.
func (l *Layered) snapshot(ctx context.Context, st *symState, sym string) (*snapshot, error) {
	s := st.snap.Load()
	if s != nil && l.fresh(s) {
		return s, nil
	}
	if s != nil {
		if !st.load.TryLock() {
			return s, nil
		}
	} else {
		st.load.Lock()
	}
	defer st.load.Unlock()
	if s = st.snap.Load(); s != nil && l.fresh(s) {
		return s, nil // read by another request meanwhile
	}
	ns, err := l.read(ctx, st, sym)
	if err != nil {
		if s != nil {
			// Expired but still what the store held a moment ago: better
			// than failing the request; the next one reads again.
			l.log.Warn("history: re-reading the store failed; serving the previous snapshot", "symbol", sym, "err", err)
			return s, nil
		}
		if ns != nil {
			// Nothing better: the embedded and fetched bars, not kept, so
			// the next request reads the store again.
			l.log.Warn("history: the store cannot be read; serving the embedded and fetched bars", "symbol", sym, "err", err)
			return ns, nil
		}
		return nil, err
	}
	st.snap.Store(ns)
	return ns, nil
}

func (l *Layered) fresh(s *snapshot) bool {
	return l.store == nil || l.now().Sub(s.at) < l.refresh
}

// read builds a snapshot of sym from base (read once) and the store (or,
// without a store, the bars fetched so far). st.load must be held. When the
// store is unavailable (busy or damaged) it returns both the snapshot of
// base and the fetched bars, and the store's error.
func (l *Layered) read(ctx context.Context, st *symState, sym string) (*snapshot, error) {
	if !st.baseRead && l.base != nil {
		s, err := l.base.Bars(ctx, sym, farPast, farFuture)
		switch {
		case errors.Is(err, closecast.ErrUnknownSymbol):
		case err != nil:
			return nil, fmt.Errorf("history: reading %s from the embedded data: %w", sym, err)
		default:
			st.base, st.baseKnown = s.Bars, true
		}
	}
	st.baseRead = true
	top, topKnown := st.mem, len(st.mem) > 0
	var storeErr error
	if l.store != nil {
		s, err := l.store.Bars(ctx, sym, farPast, farFuture)
		switch {
		case errors.Is(err, closecast.ErrUnknownSymbol):
		case errors.Is(err, closecast.ErrUnavailable):
			// A busy or damaged store: the embedded data and the bars
			// fetched in memory still make a snapshot (see snapshot).
			storeErr = fmt.Errorf("history: reading %s from the store: %w", sym, err)
		case err != nil:
			return nil, fmt.Errorf("history: reading %s from the store: %w", sym, err)
		default:
			top, topKnown = merge(st.mem, s.Bars), true
		}
	}
	merged, err := closecast.NewSeries(sym, merge(top, st.base))
	if err != nil {
		return nil, fmt.Errorf("history: merged bars of %s: %w", sym, err)
	}
	if l.maxJump > 0 {
		if err := closecast.CheckJumps(merged.Bars, l.maxJump); err != nil {
			return nil, fmt.Errorf("history: bars of %s: %w", sym, err)
		}
	}
	return &snapshot{bars: merged.Bars, known: st.baseKnown || topKnown, at: l.now()}, storeErr
}

// rememberUnknown records the provider's "not found" for sym. l.mu must be
// held.
func (l *Layered) rememberUnknown(sym string, err error) {
	if l.notFoundTTL <= 0 {
		return
	}
	now := l.now()
	if len(l.notFound) >= maxSymbols {
		for k, e := range l.notFound {
			if !now.Before(e.until) {
				delete(l.notFound, k)
			}
		}
		for k := range l.notFound { // still full: forget an arbitrary one
			if len(l.notFound) < maxSymbols {
				break
			}
			delete(l.notFound, k)
		}
	}
	l.notFound[sym] = notFoundEntry{until: now.Add(l.notFoundTTL), err: err}
}

// invalidate makes the next read of sym's snapshot go to the store, after
// a fetch stored bars there (or, without a store, adds fetched to memory).
func (l *Layered) invalidate(st *symState, fetched []closecast.Bar) {
	st.load.Lock()
	defer st.load.Unlock()
	if l.store == nil {
		st.mem = merge(fetched, st.mem)
	}
	st.snap.Store(nil)
}

// keep adds fetched bars that the store failed to hold to sym's in-memory
// bars, which win over the store's in every later snapshot.
func (l *Layered) keep(st *symState, fetched []closecast.Bar) {
	st.load.Lock()
	defer st.load.Unlock()
	st.mem = merge(fetched, st.mem)
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
