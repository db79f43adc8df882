package history

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/sqlite"
	"github.com/closecast/closecast/yahoo"
	"github.com/closecast/closecast/yahoo/yahootest"
)

var d0 = closecast.MustParseDate("2026-03-22")

// bars returns valid bars for days [from, to] whose close is level+i.
func bars(from, to closecast.Date, level float64) []closecast.Bar {
	var out []closecast.Bar
	for d := from; d <= to; d++ {
		c := level + float64(d-from)
		out = append(out, closecast.Bar{Date: d, Open: c, High: c + 1, Low: c - 1, Close: c, Volume: 10})
	}
	return out
}

// fakeSource is an in-memory closecast.Source that counts calls and can
// fail, block or return bad data.
type fakeSource struct {
	mu       sync.Mutex
	data     map[string][]closecast.Bar
	calls    atomic.Int64
	asked    [][2]closecast.Date // ranges asked for, in order
	err      error               // returned by every call when set
	gate     chan struct{}       // when set, calls wait for it to close (or ctx)
	raw      []closecast.Bar     // when set, returned as is, unvalidated
	started  chan struct{}       // when set, receives once per call as it starts
	lastSeen context.Context
}

func newFake(sym string, b []closecast.Bar) *fakeSource {
	return &fakeSource{data: map[string][]closecast.Bar{sym: b}}
}

func (f *fakeSource) Bars(ctx context.Context, symbol string, from, to closecast.Date) (closecast.Series, error) {
	f.calls.Add(1)
	f.mu.Lock()
	f.asked = append(f.asked, [2]closecast.Date{from, to})
	f.lastSeen = ctx
	gate, started, err, raw := f.gate, f.started, f.err, f.raw
	b, ok := f.data[symbol]
	f.mu.Unlock()
	if started != nil {
		started <- struct{}{}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return closecast.Series{}, ctx.Err()
		}
	}
	if err != nil {
		return closecast.Series{}, err
	}
	if raw != nil {
		return closecast.Series{Symbol: symbol, Bars: raw}, nil
	}
	if !ok {
		return closecast.Series{}, fmt.Errorf("fake: %w: %s", closecast.ErrUnknownSymbol, symbol)
	}
	s := closecast.Series{Symbol: symbol, Bars: b}.Between(from, to)
	s.Bars = append([]closecast.Bar(nil), s.Bars...)
	return s, nil
}

func (f *fakeSource) lastAsked() [2]closecast.Date {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.asked) == 0 {
		return [2]closecast.Date{}
	}
	return f.asked[len(f.asked)-1]
}

// clock is a settable clock for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// at returns a clock at noon UTC of day d.
func at(d closecast.Date) *clock { return &clock{t: d.Time().Add(12 * time.Hour)} }

func openStore(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkBars fails unless s holds exactly want.
func checkBars(t *testing.T, s closecast.Series, want []closecast.Bar) {
	t.Helper()
	if len(s.Bars) != len(want) {
		t.Fatalf("got %d bars (%v..), want %d", len(s.Bars), s.Bars, len(want))
	}
	for i := range want {
		if s.Bars[i] != want[i] {
			t.Fatalf("bar %d = %+v, want %+v", i, s.Bars[i], want[i])
		}
	}
}

func TestStoreWinsOverBase(t *testing.T) {
	ctx := context.Background()
	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	store := openStore(t)
	revised := bars(d0+5, d0+12, 500)
	if _, _, err := store.Upsert(ctx, "BTC-USD", revised); err != nil {
		t.Fatal(err)
	}
	l := New(base, store, nil)
	s, err := l.Bars(ctx, "btc-usd", d0, d0+20)
	if err != nil {
		t.Fatal(err)
	}
	checkBars(t, s, append(bars(d0, d0+4, 100), revised...))
	if s.Symbol != "BTC-USD" {
		t.Errorf("series labelled %q, want BTC-USD", s.Symbol)
	}
	// A range inside the base only, and one inside the store only.
	s, err = l.Bars(ctx, "BTC-USD", d0+1, d0+2)
	if err != nil {
		t.Fatal(err)
	}
	checkBars(t, s, bars(d0+1, d0+2, 101))
	s, err = l.Bars(ctx, "BTC-USD", d0+11, d0+30)
	if err != nil {
		t.Fatal(err)
	}
	checkBars(t, s, revised[6:])
}

func TestOfflineUnknownSymbolAndBadRequests(t *testing.T) {
	ctx := context.Background()
	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	for name, l := range map[string]*Layered{
		"no layers":        New(nil, nil, nil),
		"base only":        New(base, nil, nil),
		"base and store":   New(base, openStore(t), nil),
		"empty store only": New(nil, openStore(t), nil),
	} {
		if _, err := l.Bars(ctx, "AAPL", d0, d0+5); !errors.Is(err, closecast.ErrUnknownSymbol) {
			t.Errorf("%s: Bars(AAPL) err = %v; want ErrUnknownSymbol", name, err)
		}
	}
	l := New(base, nil, nil)
	if _, err := l.Bars(ctx, "", d0, d0); err == nil {
		t.Error("empty symbol accepted")
	}
	if _, err := l.Bars(ctx, "BTC-USD", d0+1, d0); err == nil {
		t.Error("from after to accepted")
	}
	// Offline past the last known day: the series just ends there.
	s, err := l.Bars(ctx, "BTC-USD", d0+8, d0+30)
	if err != nil {
		t.Fatal(err)
	}
	checkBars(t, s, bars(d0+8, d0+9, 108))
}

func TestFetchesMissingTailOnceAndStoresIt(t *testing.T) {
	ctx := context.Background()
	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	liveBars := bars(d0, d0+20, 900) // the provider has every day, with other values
	live := newFake("BTC-USD", liveBars)
	store := openStore(t)
	l := New(base, store, live, WithClock(at(d0+20).now))

	s, err := l.Bars(ctx, "BTC-USD", d0+5, d0+15)
	if err != nil {
		t.Fatal(err)
	}
	if got := live.lastAsked(); live.calls.Load() != 1 || got != [2]closecast.Date{d0 + 10, d0 + 15} {
		t.Fatalf("provider called %d times, last for %s..%s; want once for %s..%s", live.calls.Load(), got[0], got[1], d0+10, d0+15)
	}
	checkBars(t, s, append(bars(d0+5, d0+9, 105), liveBars[10:16]...))
	if first, last, ok, err := store.Range(ctx, "BTC-USD"); err != nil || !ok || first != d0+10 || last != d0+15 {
		t.Fatalf("store range %s..%s ok=%v err=%v; want the fetched %s..%s", first, last, ok, err, d0+10, d0+15)
	}
	log, err := store.Fetches(ctx, "BTC-USD", 5)
	if err != nil || len(log) != 1 || log[0].Added != 6 || log[0].From != d0+10 || log[0].To != d0+15 {
		t.Fatalf("fetch log %+v, %v; want one fetch of %s..%s adding 6", log, err, d0+10, d0+15)
	}

	// Known now: no second call for the same or an earlier range.
	for _, r := range [][2]closecast.Date{{d0 + 5, d0 + 15}, {d0, d0 + 12}} {
		if _, err := l.Bars(ctx, "BTC-USD", r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	if n := live.calls.Load(); n != 1 {
		t.Fatalf("provider called %d times for known ranges, want 1 in all", n)
	}
	// A later end fetches only the new days.
	s, err = l.Bars(ctx, "BTC-USD", d0+14, d0+18)
	if err != nil {
		t.Fatal(err)
	}
	if got := live.lastAsked(); live.calls.Load() != 2 || got != [2]closecast.Date{d0 + 16, d0 + 18} {
		t.Fatalf("second fetch: %d calls, last %s..%s; want 2, %s..%s", live.calls.Load(), got[0], got[1], d0+16, d0+18)
	}
	checkBars(t, s, liveBars[14:19])
	if st := l.Stats(); st.Fetches != 2 || st.Failures != 0 {
		t.Errorf("stats %+v; want 2 fetches, 0 failures", st)
	}
}

func TestNothingKnownFetchesFromTheRequestStart(t *testing.T) {
	ctx := context.Background()
	live := newFake("AAPL", bars(d0-100, d0+20, 200))
	store := openStore(t)
	l := New(newFake("BTC-USD", bars(d0, d0+9, 100)), store, live, WithClock(at(d0+20).now))
	s, err := l.Bars(ctx, "aapl", d0, d0+3)
	if err != nil {
		t.Fatal(err)
	}
	if got := live.lastAsked(); got != [2]closecast.Date{d0, d0 + 3} {
		t.Fatalf("provider asked for %s..%s, want %s..%s", got[0], got[1], d0, d0+3)
	}
	checkBars(t, s, bars(d0, d0+3, 300))

	// The provider does not know it either: ErrUnknownSymbol, not unavailable.
	_, err = l.Bars(ctx, "NOPE", d0, d0+3)
	if !errors.Is(err, closecast.ErrUnknownSymbol) || errors.Is(err, closecast.ErrUnavailable) {
		t.Fatalf("unknown everywhere: err = %v; want ErrUnknownSymbol only", err)
	}
}

func TestNeverAsksForDaysAfterToday(t *testing.T) {
	ctx := context.Background()
	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	live := newFake("BTC-USD", bars(d0, d0+30, 100))
	l := New(base, openStore(t), live, WithClock(at(d0+12).now))
	if _, err := l.Bars(ctx, "BTC-USD", d0, d0+30); err != nil {
		t.Fatal(err)
	}
	if got := live.lastAsked(); got != [2]closecast.Date{d0 + 10, d0 + 12} {
		t.Fatalf("asked for %s..%s, want up to today: %s..%s", got[0], got[1], d0+10, d0+12)
	}
	// Everything up to today is known: a future range asks nothing.
	l2 := New(base, nil, live, WithClock(at(d0+9).now))
	calls := live.calls.Load()
	s, err := l2.Bars(ctx, "BTC-USD", d0+5, d0+40)
	if err != nil || live.calls.Load() != calls {
		t.Fatalf("future days: err %v, %d new provider calls; want none", err, live.calls.Load()-calls)
	}
	checkBars(t, s, bars(d0+5, d0+9, 105))
}

func TestProviderFailure(t *testing.T) {
	ctx := context.Background()
	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	live := newFake("BTC-USD", nil)
	cause := errors.New("HTTP 503 from the provider")
	live.err = cause
	store := openStore(t)
	clk := at(d0 + 15)
	l := New(base, store, live, WithClock(clk.now), WithRetryAfter(time.Minute))

	_, err := l.Bars(ctx, "BTC-USD", d0+5, d0+15)
	var ue *closecast.UnavailableError
	if !errors.Is(err, closecast.ErrUnavailable) || !errors.Is(err, cause) || !errors.As(err, &ue) {
		t.Fatalf("err = %v; want an UnavailableError wrapping ErrUnavailable and the cause", err)
	}
	if ue.From != d0+10 || ue.To != d0+15 || !ue.RetryAt.Equal(clk.now().Add(time.Minute)) {
		t.Errorf("UnavailableError %+v; want days %s..%s, retry at now+1m", ue, d0+10, d0+15)
	}
	if _, _, ok, _ := store.Range(ctx, "BTC-USD"); ok {
		t.Error("a failed fetch stored bars")
	}
	if log, _ := store.Fetches(ctx, "BTC-USD", 5); len(log) != 1 || log[0].Err != cause.Error() {
		t.Errorf("fetch log %+v; want the failure", log)
	}

	// Within the retry-after time the provider is not asked again.
	for i := 0; i < 5; i++ {
		if _, err := l.Bars(ctx, "BTC-USD", d0+5, d0+15); !errors.Is(err, closecast.ErrUnavailable) {
			t.Fatalf("repeat %d: err = %v; want ErrUnavailable", i, err)
		}
	}
	if n := live.calls.Load(); n != 1 {
		t.Fatalf("provider asked %d times within the retry-after time, want 1", n)
	}
	// What is known is still served without the provider.
	s, err := l.Bars(ctx, "BTC-USD", d0+2, d0+9)
	if err != nil {
		t.Fatalf("known range during an outage: %v", err)
	}
	checkBars(t, s, bars(d0+2, d0+9, 102))

	// After it, the provider is asked again, and its recovery is used.
	clk.advance(time.Minute + time.Second)
	live.mu.Lock()
	live.err = nil
	live.data["BTC-USD"] = bars(d0, d0+15, 700)
	live.mu.Unlock()
	s, err = l.Bars(ctx, "BTC-USD", d0+5, d0+15)
	if err != nil {
		t.Fatal(err)
	}
	if n := live.calls.Load(); n != 2 {
		t.Fatalf("provider asked %d times, want 2", n)
	}
	checkBars(t, s, append(bars(d0+5, d0+9, 105), bars(d0+10, d0+15, 710)...))
	if st := l.Stats(); st.Failures != 1 || st.Skipped != 5 || st.Fetches != 2 {
		t.Errorf("stats %+v; want 2 fetches, 1 failure, 5 skipped", st)
	}
}

// The provider has nothing after the last known day (today's bar is not
// final): the answer ends at the last known day, and the provider is not
// asked again until the retry-after time has passed.
func TestEmptyFetchIsNotRepeatedInAHotLoop(t *testing.T) {
	ctx := context.Background()
	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	live := newFake("BTC-USD", bars(d0, d0+9, 100))
	clk := at(d0 + 10)
	l := New(base, openStore(t), live, WithClock(clk.now), WithRetryAfter(30*time.Second))
	for i := 0; i < 20; i++ {
		s, err := l.Bars(ctx, "BTC-USD", d0+5, d0+10)
		if err != nil {
			t.Fatal(err)
		}
		checkBars(t, s, bars(d0+5, d0+9, 105))
	}
	if n := live.calls.Load(); n != 1 {
		t.Fatalf("provider asked %d times in 20 requests, want 1", n)
	}
	clk.advance(31 * time.Second)
	if _, err := l.Bars(ctx, "BTC-USD", d0+5, d0+10); err != nil {
		t.Fatal(err)
	}
	if n := live.calls.Load(); n != 2 {
		t.Fatalf("provider asked %d times after the retry-after time, want 2", n)
	}
	// A request needing later days than the remembered fetch asks at once.
	clk.advance(24 * time.Hour)
	if _, err := l.Bars(ctx, "BTC-USD", d0+5, d0+11); err != nil {
		t.Fatal(err)
	}
	if n, got := live.calls.Load(), live.lastAsked(); n != 3 || got != [2]closecast.Date{d0 + 10, d0 + 11} {
		t.Fatalf("new day: %d calls, last %s..%s; want 3, %s..%s", n, got[0], got[1], d0+10, d0+11)
	}
}

// Many concurrent requests for the same missing days share one fetch.
func TestConcurrentRequestsShareOneFetch(t *testing.T) {
	ctx := context.Background()
	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	liveBars := bars(d0, d0+20, 900)
	live := newFake("BTC-USD", liveBars)
	live.gate = make(chan struct{})
	store := openStore(t)
	l := New(base, store, live, WithClock(at(d0+20).now))

	const n = 40
	results := make([]closecast.Series, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = l.Bars(ctx, "BTC-USD", d0+8, d0+20)
		}(i)
	}
	// Release the provider only once every other request waits on the fetch.
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats().Shared < n-1 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests joined the fetch", l.Stats().Shared, n-1)
		}
		time.Sleep(time.Millisecond)
	}
	close(live.gate)
	wg.Wait()
	if c := live.calls.Load(); c != 1 {
		t.Fatalf("provider called %d times for %d concurrent requests, want 1", c, n)
	}
	want := append(bars(d0+8, d0+9, 108), liveBars[10:]...)
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		checkBars(t, results[i], want)
	}
}

// Concurrent requests for different symbols do not wait for each other.
func TestFetchesOfDifferentSymbolsRunInParallel(t *testing.T) {
	ctx := context.Background()
	live := &fakeSource{data: map[string][]closecast.Bar{
		"AAA": bars(d0, d0+5, 10), "BBB": bars(d0, d0+5, 20)}}
	live.gate = make(chan struct{})
	live.started = make(chan struct{}, 2)
	l := New(nil, openStore(t), live, WithClock(at(d0+5).now))
	var wg sync.WaitGroup
	for _, sym := range []string{"AAA", "BBB"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Bars(ctx, sym, d0, d0+5); err != nil {
				t.Error(err)
			}
		}()
	}
	for i := 0; i < 2; i++ {
		select {
		case <-live.started:
		case <-time.After(10 * time.Second):
			t.Fatal("the second symbol's fetch waited for the first one")
		}
	}
	close(live.gate)
	wg.Wait()
}

// A caller that gives up stops waiting, but the fetch it started goes on for
// the others and is stored.
func TestCallerCancelDoesNotCancelTheSharedFetch(t *testing.T) {
	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	live := newFake("BTC-USD", bars(d0, d0+20, 900))
	live.gate = make(chan struct{})
	live.started = make(chan struct{}, 1)
	store := openStore(t)
	l := New(base, store, live, WithClock(at(d0+20).now))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := l.Bars(ctx, "BTC-USD", d0, d0+20)
		done <- err
	}()
	<-live.started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v; want context.Canceled", err)
	}
	close(live.gate)
	s, err := l.Bars(context.Background(), "BTC-USD", d0, d0+20)
	if err != nil {
		t.Fatal(err)
	}
	if n := live.calls.Load(); n != 1 || s.Len() != 21 {
		t.Fatalf("%d provider calls, %d bars; want the first fetch (1 call) to serve all 21", n, s.Len())
	}
}

func TestFetchTimeout(t *testing.T) {
	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	live := newFake("BTC-USD", bars(d0, d0+20, 900))
	live.gate = make(chan struct{}) // never closed: the provider hangs
	l := New(base, openStore(t), live, WithClock(at(d0+20).now), WithFetchTimeout(50*time.Millisecond))
	_, err := l.Bars(context.Background(), "BTC-USD", d0, d0+20)
	if !errors.Is(err, closecast.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hanging provider: err = %v; want ErrUnavailable after the fetch timeout", err)
	}
}

func TestInvalidProviderBarsAreNotStored(t *testing.T) {
	ctx := context.Background()
	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	store := openStore(t)
	for name, raw := range map[string][]closecast.Bar{
		"out of order": {bars(d0+11, d0+11, 5)[0], bars(d0+10, d0+10, 5)[0]},
		"bad low":      {{Date: d0 + 10, Open: 5, High: 6, Low: 7, Close: 5}},
	} {
		live := newFake("BTC-USD", nil)
		live.raw = raw
		l := New(base, store, live, WithClock(at(d0+20).now))
		if _, err := l.Bars(ctx, "BTC-USD", d0, d0+12); !errors.Is(err, closecast.ErrUnavailable) {
			t.Errorf("%s: err = %v; want ErrUnavailable", name, err)
		}
		if _, _, ok, _ := store.Range(ctx, "BTC-USD"); ok {
			t.Errorf("%s: invalid provider bars were stored", name)
		}
	}
}

// With the real embedded data set as the base (a Source without Range),
// only the days after its last one are fetched.
func TestWithEmbeddedBase(t *testing.T) {
	ctx := context.Background()
	emb, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	last, _ := emb.Last()
	live := newFake("BTC-USD", bars(last-30, last+10, 70000))
	store := openStore(t)
	l := New(marketdata.Embedded(), store, live, WithClock(at(last+10).now))
	s, err := l.Bars(ctx, "btc-usd", last-2, last+5)
	if err != nil {
		t.Fatal(err)
	}
	if got := live.lastAsked(); live.calls.Load() != 1 || got != [2]closecast.Date{last + 1, last + 5} {
		t.Fatalf("asked for %s..%s, want %s..%s", got[0], got[1], last+1, last+5)
	}
	checkBars(t, s, append(append([]closecast.Bar(nil), emb.Bars[emb.Len()-3:]...), bars(last+1, last+5, 70031)...))
	// Embedded history is served without the provider.
	if _, err := l.Bars(ctx, "BTC-USD", closecast.MustParseDate("2018-01-01"), closecast.MustParseDate("2025-04-30")); err != nil {
		t.Fatal(err)
	}
	if n := live.calls.Load(); n != 1 {
		t.Fatalf("%d provider calls, want 1", n)
	}
}

// Bars written to the store by someone else (another process's `closecast
// fetch`) are seen once the refresh time has passed; a fetch made through
// Layered is seen at once (TestFetchesMissingTailOnceAndStoresIt).
func TestExternalStoreWritesSeenAfterRefresh(t *testing.T) {
	ctx := context.Background()
	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	store := openStore(t)
	clk := at(d0 + 30)
	l := New(base, store, nil, WithClock(clk.now), WithRefresh(5*time.Second))
	always := New(base, store, nil, WithClock(clk.now), WithRefresh(0))
	for _, x := range []*Layered{l, always} {
		if _, err := x.Bars(ctx, "BTC-USD", d0, d0+20); err != nil {
			t.Fatal(err)
		}
	}
	external := bars(d0+10, d0+12, 300)
	if _, _, err := store.Upsert(ctx, "BTC-USD", external); err != nil {
		t.Fatal(err)
	}
	s, err := l.Bars(ctx, "BTC-USD", d0, d0+20)
	if err != nil || s.Len() != 10 {
		t.Fatalf("within the refresh time: %d bars, %v; want the 10 of the snapshot", s.Len(), err)
	}
	s, err = always.Bars(ctx, "BTC-USD", d0, d0+20)
	if err != nil {
		t.Fatal(err)
	}
	checkBars(t, s, append(bars(d0, d0+9, 100), external...))
	clk.advance(5 * time.Second)
	s, err = l.Bars(ctx, "BTC-USD", d0, d0+20)
	if err != nil {
		t.Fatal(err)
	}
	checkBars(t, s, append(bars(d0, d0+9, 100), external...))
	if first, last, ok, err := l.Range(ctx, "btc-usd"); err != nil || !ok || first != d0 || last != d0+12 {
		t.Fatalf("Range = %s..%s, %v, %v; want %s..%s", first, last, ok, err, d0, d0+12)
	}
	if _, _, ok, err := l.Range(ctx, "AAPL"); ok || err != nil {
		t.Fatalf("Range(AAPL) ok=%v err=%v; want false, nil", ok, err)
	}
}

// The caller owns the bars it gets: changing them changes nothing for the
// next caller.
func TestCallersOwnTheirBars(t *testing.T) {
	ctx := context.Background()
	l := New(newFake("BTC-USD", bars(d0, d0+9, 100)), nil, nil)
	s, err := l.Bars(ctx, "BTC-USD", d0, d0+9)
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Bars {
		s.Bars[i].Close = -1
	}
	s, err = l.Bars(ctx, "BTC-USD", d0, d0+9)
	if err != nil {
		t.Fatal(err)
	}
	checkBars(t, s, bars(d0, d0+9, 100))
}

// Without a store, fetched bars are kept in memory: asked for once.
func TestNoStoreKeepsFetchedBarsInMemory(t *testing.T) {
	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	liveBars := bars(d0, d0+20, 900)
	live := newFake("BTC-USD", liveBars)
	l := New(base, nil, live, WithClock(at(d0+20).now))
	for i := 0; i < 3; i++ {
		s, err := l.Bars(context.Background(), "BTC-USD", d0+8, d0+12)
		if err != nil {
			t.Fatal(err)
		}
		checkBars(t, s, append(bars(d0+8, d0+9, 108), liveBars[10:13]...))
	}
	if n := live.calls.Load(); n != 1 {
		t.Fatalf("provider asked %d times, want 1", n)
	}
}

func TestSymbolStateIsBounded(t *testing.T) {
	l := New(newFake("BTC-USD", bars(d0, d0+9, 100)), nil, nil)
	for i := 0; i < maxSymbols+100; i++ {
		if _, err := l.Bars(context.Background(), fmt.Sprintf("S%d", i), d0, d0); !errors.Is(err, closecast.ErrUnknownSymbol) {
			t.Fatal(err)
		}
	}
	l.mu.Lock()
	n := len(l.syms)
	l.mu.Unlock()
	if n > maxSymbols {
		t.Fatalf("%d symbols remembered, want at most %d", n, maxSymbols)
	}
	for _, bad := range []string{"BTC USD", "x\n", strings.Repeat("A", closecast.MaxSymbolLen+1)} {
		if _, err := l.Bars(context.Background(), bad, d0, d0); err == nil || errors.Is(err, closecast.ErrUnknownSymbol) {
			t.Errorf("symbol %q: err = %v; want a clear rejection", bad, err)
		}
	}
}

// flakyStore is a closecast.Store whose reads or writes can be made to fail.
// It hides sqlite's fetch log, so Layered takes the plain Upsert path.
type flakyStore struct {
	closecast.Store
	failBars, failUpsert atomic.Bool
}

func (s *flakyStore) Bars(ctx context.Context, symbol string, from, to closecast.Date) (closecast.Series, error) {
	if s.failBars.Load() {
		return closecast.Series{}, errors.New("disk I/O error")
	}
	return s.Store.Bars(ctx, symbol, from, to)
}

func (s *flakyStore) Upsert(ctx context.Context, symbol string, b []closecast.Bar) (int, int, error) {
	if s.failUpsert.Load() {
		return 0, 0, errors.New("disk full")
	}
	return s.Store.Upsert(ctx, symbol, b)
}

func TestStoreFailures(t *testing.T) {
	ctx := context.Background()
	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	store := &flakyStore{Store: openStore(t)}
	clk := at(d0 + 12)
	live := newFake("BTC-USD", bars(d0, d0+12, 900))
	l := New(base, store, live, WithClock(clk.now))

	// Nothing read yet and the store fails: the request fails, naming it.
	store.failBars.Store(true)
	if _, err := l.Bars(ctx, "BTC-USD", d0, d0+5); err == nil || !strings.Contains(err.Error(), "disk I/O error") {
		t.Fatalf("failing store, no snapshot: err = %v; want the store's error", err)
	}
	store.failBars.Store(false)

	// Storing the fetch fails: the bars were fetched fine, so they are
	// served (from memory; the failed write is logged), not an error, and
	// later requests keep them without asking the provider again.
	store.failUpsert.Store(true)
	s, err := l.Bars(ctx, "BTC-USD", d0, d0+12)
	if err != nil {
		t.Fatalf("failing upsert after a good fetch: %v; want the fetched bars", err)
	}
	checkBars(t, s, append(bars(d0, d0+9, 100), bars(d0+10, d0+12, 910)...))
	store.failUpsert.Store(false)
	s, err = l.Bars(ctx, "BTC-USD", d0, d0+12)
	if err != nil || live.calls.Load() != 1 {
		t.Fatalf("after the store recovers: %v, %d provider calls; want the kept bars and 1 call", err, live.calls.Load())
	}
	checkBars(t, s, append(bars(d0, d0+9, 100), bars(d0+10, d0+12, 910)...))

	// A snapshot exists and has expired; the store fails to re-read: the
	// expired snapshot is served.
	clk.advance(time.Hour)
	store.failBars.Store(true)
	s, err = l.Bars(ctx, "BTC-USD", d0, d0+12)
	if err != nil {
		t.Fatalf("failing store with an expired snapshot: %v", err)
	}
	checkBars(t, s, append(bars(d0, d0+9, 100), bars(d0+10, d0+12, 910)...))
}

// TestConcurrentStress mixes readers of three symbols with a clock that
// moves a day at a time, so fetches, snapshot reloads and reads overlap.
// Every answer must be contiguous, hold the expected bar for each day (the
// base's before the base ends, the provider's after) and end on the day
// the request was made (the provider has every day). Run with -race.
func TestConcurrentStress(t *testing.T) {
	ctx := context.Background()
	syms := []string{"AAA", "BBB", "CCC"}
	base := &fakeSource{data: map[string][]closecast.Bar{}}
	live := &fakeSource{data: map[string][]closecast.Bar{}}
	for k, sym := range syms {
		base.data[sym] = bars(d0, d0+9, float64(100*(k+1)))
		live.data[sym] = bars(d0, d0+40, float64(10000*(k+1)))
	}
	want := func(k int, d closecast.Date) float64 {
		if d <= d0+9 {
			return float64(100*(k+1)) + float64(d-d0)
		}
		return float64(10000*(k+1)) + float64(d-d0)
	}
	clk := at(d0 + 10)
	l := New(base, openStore(t), live, WithClock(clk.now), WithRefresh(0))

	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 100)
	wg.Add(1)
	go func() { // the clock: one day per millisecond, 25 days
		defer wg.Done()
		defer close(stop)
		for i := 0; i < 25; i++ {
			time.Sleep(time.Millisecond)
			clk.advance(24 * time.Hour)
		}
	}()
	for r := 0; r < 6; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := (r + i) % len(syms)
				today := closecast.DateOf(clk.now())
				s, err := l.Bars(ctx, syms[k], d0+5, today)
				if err != nil {
					errs <- err
					return
				}
				last, ok := s.Last()
				if !ok || last != today {
					errs <- fmt.Errorf("%s: answer ends %s, want %s", syms[k], last, today)
					return
				}
				for j, b := range s.Bars {
					if b.Date != d0+5+closecast.Date(j) || b.Close != want(k, b.Date) {
						errs <- fmt.Errorf("%s: bar %d = %s close %v, want %s close %v", syms[k], j, b.Date, b.Close, d0+5+closecast.Date(j), want(k, d0+5+closecast.Date(j)))
						return
					}
				}
			}
		}(r)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// At most one fetch per symbol per day the clock showed (plus the
	// first), however many requests ran.
	if n := live.calls.Load(); n > int64(len(syms)*27) {
		t.Errorf("%d provider calls for %d symbols over 26 days", n, len(syms))
	}
	t.Logf("stats %+v, provider calls %d", l.Stats(), live.calls.Load())
}

// A symbol the provider does not know is remembered for the not-found TTL:
// however the request varies (other ranges, after the retry-after time),
// the provider is asked once.
func TestUnknownSymbolIsRemembered(t *testing.T) {
	srv := yahootest.New()
	defer srv.Close()
	clock := at(d0 + 20)
	live := &yahoo.Client{BaseURL: srv.URL, BackoffBase: time.Millisecond}
	l := New(newFake("BTC-USD", bars(d0, d0+9, 100)), nil, live, WithClock(clock.now))
	ctx := context.Background()
	for k := range 10 {
		_, err := l.Bars(ctx, "NOPE-XYZ", d0-closecast.Date(k), d0+closecast.Date(k))
		if !errors.Is(err, closecast.ErrUnknownSymbol) {
			t.Fatalf("request %d: %v, want ErrUnknownSymbol", k, err)
		}
		clock.advance(5 * time.Minute) // past the retry-after memo, within the TTL
	}
	if n := srv.Requests(); n != 1 {
		t.Errorf("%d upstream calls within the TTL, want 1", n)
	}
	clock.advance(DefaultNotFoundTTL)
	if _, err := l.Bars(ctx, "NOPE-XYZ", d0, d0); !errors.Is(err, closecast.ErrUnknownSymbol) {
		t.Fatal(err)
	}
	if n := srv.Requests(); n != 2 {
		t.Errorf("%d upstream calls after the TTL, want 2", n)
	}
}

// With a jump limit, a store holding a jump is refused on read, and a fetch
// that would store one is refused before storing.
func TestMaxJumpOnReadAndFetch(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, _, err := store.Upsert(ctx, "AAA", bars(d0, d0+5, 100)); err != nil {
		t.Fatal(err)
	}
	live := newFake("AAA", append(bars(d0, d0+5, 100), bars(d0+6, d0+9, 5000)...))
	l := New(nil, store, live, WithClock(at(d0+10).now), WithMaxJump(4))
	_, err = l.Bars(ctx, "AAA", d0, d0+9)
	var je *closecast.JumpError
	if !errors.As(err, &je) || !errors.Is(err, closecast.ErrUnavailable) {
		t.Fatalf("fetch of a jump: %v", err)
	}
	if _, last, _, _ := store.Range(ctx, "AAA"); last != d0+5 {
		t.Errorf("the jump was stored: last %s", last)
	}
	// A store that holds one anyway (written by hand) is not served.
	if _, _, err := store.Upsert(ctx, "BBB", append(bars(d0, d0+2, 100), bars(d0+3, d0+4, 5000)...)); err != nil {
		t.Fatal(err)
	}
	if _, err := New(nil, store, nil, WithMaxJump(4)).Bars(ctx, "BBB", d0, d0+4); !errors.As(err, &je) || je.Prev != d0+2 {
		t.Errorf("read of a stored jump: %v", err)
	}
	if s, err := New(nil, store, nil, WithMaxJump(100)).Bars(ctx, "BBB", d0, d0+4); err != nil || s.Len() != 5 {
		t.Errorf("a raised limit: %v", err)
	}
}
