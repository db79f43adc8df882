package predict

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/pipeline"
)

func TestPredictHorizonStartsWithPredictAndCarriesActuals(t *testing.T) {
	svc, _ := service(t, marketdata.Embedded())
	s, _ := marketdata.EmbeddedSeries("BTC-USD")
	ctx := context.Background()
	date := d("2025-06-01")
	opt := pipeline.HorizonOptions{Horizon: 7, Samples: 60, Seed: pipeline.DefaultSeed}
	h, err := svc.PredictHorizon(ctx, "btc-usd", date, opt)
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Predict(ctx, "", date)
	if err != nil {
		t.Fatal(err)
	}
	f := h.First
	if f.Forecast != p.Forecast || f.Model != p.Model || f.InputFrom != p.InputFrom || f.InputTo != p.InputTo ||
		f.LastClose != p.LastClose || f.Actual == nil || *f.Actual != *p.Actual {
		t.Errorf("first day %+v, Predict %+v", f, p)
	}
	if len(h.Days) != 7 || h.Days[0].Value != p.Value || h.Samples != 60 || h.Seed != pipeline.DefaultSeed ||
		!slices.Equal(h.Levels, pipeline.DefaultLevels) {
		t.Fatalf("horizon %+v", h)
	}
	for k, day := range h.Days {
		if day.Date != date.AddDays(k) {
			t.Errorf("day %d dated %s", k, day.Date)
		}
		want := s.Bars[s.Index(day.Date)].Close
		if day.Actual == nil || *day.Actual != want {
			t.Errorf("%s: actual %v, want %v", day.Date, day.Actual, want)
		}
		if len(day.Quantiles) != 3 || !slices.IsSorted(day.Quantiles) {
			t.Errorf("%s: quantiles %v", day.Date, day.Quantiles)
		}
	}

	again, _ := svc.PredictHorizon(ctx, "", date, opt)
	opt.Seed++
	other, _ := svc.PredictHorizon(ctx, "", date, opt)
	for k := range h.Days {
		if !slices.Equal(h.Days[k].Quantiles, again.Days[k].Quantiles) {
			t.Errorf("%s: same seed, quantiles %v then %v", h.Days[k].Date, h.Days[k].Quantiles, again.Days[k].Quantiles)
		}
		if slices.Equal(h.Days[k].Quantiles, other.Days[k].Quantiles) {
			t.Errorf("%s: seeds %d and %d give the same quantiles %v", h.Days[k].Date, opt.Seed-1, opt.Seed, other.Days[k].Quantiles)
		}
		if h.Days[k].Value != other.Days[k].Value {
			t.Errorf("%s: the seed changed the deterministic forecast", h.Days[k].Date)
		}
	}
}

func TestPredictHorizonRangeAndOptions(t *testing.T) {
	svc, _ := service(t, marketdata.Embedded())
	ctx := context.Background()
	// From the day after the last close: no actuals, no samples asked.
	h, err := svc.PredictHorizon(ctx, "", d("2026-04-01"), pipeline.HorizonOptions{Horizon: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, day := range h.Days {
		if day.Actual != nil || day.Quantiles != nil {
			t.Errorf("%s: actual %v quantiles %v, want neither", day.Date, day.Actual, day.Quantiles)
		}
	}
	if h.Levels != nil || h.Samples != 0 {
		t.Errorf("no samples asked, got levels %v samples %d", h.Levels, h.Samples)
	}
	var re *closecast.RangeError
	if _, err := svc.PredictHorizon(ctx, "", d("2026-04-02"), pipeline.HorizonOptions{Horizon: 3}); !errors.As(err, &re) {
		t.Errorf("two days past the data: %v, want a RangeError", err)
	}
	if _, err := svc.PredictHorizon(ctx, "", d("2026-04-01"), pipeline.HorizonOptions{Horizon: 0}); err == nil || errors.As(err, &re) {
		t.Errorf("horizon 0: %v, want an option error", err)
	}
}

// A horizon that reaches past the stored data asks the provider for no day
// beyond it: the actuals stop at the last stored day.
func TestPredictHorizonFetchesNoFutureDays(t *testing.T) {
	srv, _, src, extra := liveSource(t)
	svc, _ := service(t, src)
	ctx := context.Background()
	if _, err := svc.Predict(ctx, "BTC-USD", d("2026-04-11")); err != nil {
		t.Fatal(err)
	}
	n := srv.Requests()
	h, err := svc.PredictHorizon(ctx, "BTC-USD", d("2026-04-08"), pipeline.HorizonOptions{Horizon: 6, Samples: 20})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Requests() != n {
		t.Errorf("the horizon asked Yahoo again (%d → %d requests)", n, srv.Requests())
	}
	for k, day := range h.Days {
		known := k < 3 // 04-08, 04-09, 04-10
		if (day.Actual != nil) != known || (known && *day.Actual != extra[7+k].Close) {
			t.Errorf("%s: actual %v", day.Date, day.Actual)
		}
	}
}

// TestPredictHorizonStopsAtTheDeadline: a request whose deadline has passed
// gets the context's error, not a forecast computed for nobody.
func TestPredictHorizonStopsAtTheDeadline(t *testing.T) {
	svc, _ := service(t, marketdata.Embedded())
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	opt := pipeline.HorizonOptions{Horizon: 30, Samples: 100, Seed: pipeline.DefaultSeed}
	if _, err := svc.PredictHorizon(ctx, "BTC-USD", d("2025-06-01"), opt); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want DeadlineExceeded", err)
	}
}
