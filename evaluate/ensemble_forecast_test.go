package evaluate

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/closecast/closecast"
)

// ensembleReturns are GARCH(1,1)-t returns, enough for every part.
func ensembleReturns(n int) []float64 {
	return simulateGARCH(GARCHParams{Omega: 2e-5, Alpha: 0.1, Beta: 0.85, Nu: 5}, n, 3)
}

// TestFitEnsembleIsCombineOfItsParts: each day ahead is Combine of the
// EnsembleParts' own forecasts of it, turned into closes from the origin,
// whether asked at once or extended day by day.
func TestFitEnsembleIsCombineOfItsParts(t *testing.T) {
	rs := ensembleReturns(400)
	const last = 1234.5
	f, err := FitEnsemble(rs, last)
	if err != nil {
		t.Fatal(err)
	}
	one, err := f.Days(1)
	if err != nil {
		t.Fatal(err)
	}
	three, err := f.Days(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || len(three) != 3 || one[0] != three[0] {
		t.Fatalf("days 1 then 3: %d, %d days; day 1 %v then %v", len(one), len(three), one[0], three[0])
	}
	for d := 1; d <= 3; d++ {
		var parts []Method
		for _, b := range NewBaselines() {
			if b.Name() == NamePersistence {
				continue
			}
			var r Quantiles
			if err := b.Forecast(rs, d, &r); err != nil {
				t.Fatal(err)
			}
			parts = append(parts, Method{Name: b.Name(), Forecasts: []Quantiles{r.Closes(last)}})
		}
		want, err := Combine(NameEnsemble, parts, []float64{0.25, 0.25, 0.25, 0.25})
		if err != nil {
			t.Fatal(err)
		}
		if three[d-1] != want.Forecasts[0] {
			t.Errorf("%d days ahead: %v, Combine of the parts %v", d, three[d-1], want.Forecasts[0])
		}
	}
	if w1, w3 := three[0][18]-three[0][2], three[2][18]-three[2][2]; !(w3 > w1) {
		t.Errorf("80 %% interval %v wide 3 days ahead, %v one day ahead", w3, w1)
	}
	for _, h := range []int{0, EnsembleMaxHorizon + 1} {
		if _, err := f.Days(h); err == nil {
			t.Errorf("horizon %d: no error", h)
		}
	}
	if _, err := FitEnsemble(rs[:EnsembleMinReturns()-1], last); !errors.Is(err, closecast.ErrShortEnsemble) {
		t.Errorf("%d returns: %v, want ErrShortEnsemble", EnsembleMinReturns()-1, err)
	}
	if _, err := FitEnsemble(rs, 0); err == nil {
		t.Error("a close of 0: no error")
	}
}

// TestEnsembleCache: concurrent requests for one origin fit once; a
// failed load is not kept; a caller waiting on a fit in progress gives up
// with its context; the oldest origin is evicted past the cache's size.
func TestEnsembleCache(t *testing.T) {
	rs := ensembleReturns(300)
	var c EnsembleCache
	ctx := context.Background()
	load := func(context.Context) ([]float64, float64, error) { return rs, 100, nil }
	key := EnsembleKey{Symbol: "X", Origin: 1000, Close: 100}
	var wg sync.WaitGroup
	fits := make([]*EnsembleFit, 8)
	for k := range fits {
		wg.Go(func() {
			var err error
			if fits[k], err = c.Fit(ctx, key, load); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for k := range fits {
		if fits[k] != fits[0] {
			t.Errorf("request %d got another fit", k)
		}
	}
	if c.Fits() != 1 {
		t.Errorf("8 requests for one origin: %d fits", c.Fits())
	}

	bad := EnsembleKey{Symbol: "X", Origin: 1001, Close: 100}
	boom := errors.New("no bars")
	calls := 0
	for range 2 {
		_, err := c.Fit(ctx, bad, func(context.Context) ([]float64, float64, error) { calls++; return nil, 0, boom })
		if !errors.Is(err, boom) {
			t.Errorf("failed load: %v", err)
		}
	}
	if calls != 2 {
		t.Errorf("a failed load was kept: %d loads for 2 requests", calls)
	}

	// A fit in progress (its load blocked) and a waiter whose context ends.
	slow := EnsembleKey{Symbol: "X", Origin: 1002, Close: 100}
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Fit(ctx, slow, func(context.Context) ([]float64, float64, error) {
			close(started)
			<-release
			return rs, 100, nil
		})
		done <- err
	}()
	<-started
	wctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Fit(wctx, slow, load); !errors.Is(err, context.Canceled) {
		t.Errorf("waiter with a cancelled context: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Fill the cache past its size: the first origin is fitted again.
	before := c.Fits()
	for k := range ensembleCacheSize {
		if _, err := c.Fit(ctx, EnsembleKey{Symbol: "Y", Origin: closecast.Date(k), Close: 1}, load); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Fit(ctx, key, load); err != nil {
		t.Fatal(err)
	}
	if got := c.Fits() - before; got != ensembleCacheSize+1 {
		t.Errorf("%d fits for %d new origins and an evicted one, want %d", got, ensembleCacheSize, ensembleCacheSize+1)
	}
}
