package predict

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
)

// ensembleOf computes, independently of the service, evaluate's ensemble
// forecast of target made h days ahead: the five baselines walked forward
// over the series from its first bar, the EnsembleParts averaged by Combine.
func ensembleOf(t *testing.T, s closecast.Series, target closecast.Date, h int) evaluate.Quantiles {
	t.Helper()
	bs := evaluate.NewBaselines()
	w, err := evaluate.NewWalk(s, target, target, h, evaluate.MinReturns(bs))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := w.Run(bs)
	if err != nil {
		t.Fatal(err)
	}
	var parts []evaluate.Method
	var weights []float64
	for _, name := range []string{evaluate.NameEWMAT, evaluate.NameGARCHT, evaluate.NameEmpirical, evaluate.NameFiltered} {
		k := slices.IndexFunc(ms, func(m evaluate.Method) bool { return m.Name == name })
		parts, weights = append(parts, ms[k]), append(weights, 0.25)
	}
	e, err := evaluate.Combine("ensemble", parts, weights)
	if err != nil {
		t.Fatal(err)
	}
	return e.Forecasts[0]
}

func TestEnsembleIntervalIsEvaluatesEnsemble(t *testing.T) {
	svc, _ := service(t, marketdata.Embedded())
	s, _ := marketdata.EmbeddedSeries("BTC-USD")
	ctx := context.Background()
	date := d("2025-06-01")
	all := closecast.DistributionLevels[:]
	h, err := svc.PredictHorizon(ctx, "BTC-USD", date, closecast.HorizonOptions{Horizon: 3, Interval: closecast.IntervalEnsemble, Levels: all})
	if err != nil {
		t.Fatal(err)
	}
	point, err := svc.PredictHorizon(ctx, "BTC-USD", date, closecast.HorizonOptions{Horizon: 3})
	if err != nil {
		t.Fatal(err)
	}
	if h.Interval != closecast.IntervalEnsemble || !slices.Equal(h.Levels, all) || len(h.Days) != 3 {
		t.Fatalf("horizon %+v", h)
	}
	prevWidth := 0.0
	for k, day := range h.Days {
		if day.Value != point.Days[k].Value {
			t.Errorf("%s: point %v, the model's is %v", day.Date, day.Value, point.Days[k].Value)
		}
		want := ensembleOf(t, s, day.Date, k+1)
		for j, q := range day.Quantiles {
			if math.Abs(q-want[j]) > 1e-12*want[j] {
				t.Errorf("%s, level %v: %v, evaluate's ensemble %v", day.Date, all[j], q, want[j])
			}
		}
		p10, p50, p90 := day.Quantiles[closecast.DistributionP10], day.Quantiles[closecast.DistributionMedian], day.Quantiles[closecast.DistributionP90]
		if !(p10 < p50 && p50 < p90) {
			t.Errorf("%s: p10 %v, p50 %v, p90 %v", day.Date, p10, p50, p90)
		}
		if w := p90 - p10; !(w > prevWidth) {
			t.Errorf("%s: 80 %% interval width %v, not wider than the day before's %v", day.Date, w, prevWidth)
		} else {
			prevWidth = w
		}
	}

	// The default levels pick p10, p50 and p90 of the same forecast.
	def, err := svc.PredictHorizon(ctx, "", date, closecast.HorizonOptions{Horizon: 1, Interval: closecast.IntervalEnsemble})
	if err != nil {
		t.Fatal(err)
	}
	q := h.Days[0].Quantiles
	if got, want := def.Days[0].Quantiles, []float64{q[closecast.DistributionP10], q[closecast.DistributionMedian], q[closecast.DistributionP90]}; !slices.Equal(got, want) {
		t.Errorf("default levels: %v, want %v", got, want)
	}
}

func TestEnsembleIntervalRefusesWhatItCannotForecast(t *testing.T) {
	svc, m := service(t, marketdata.Embedded())
	s, _ := marketdata.EmbeddedSeries("BTC-USD")
	ctx := context.Background()
	_, err := svc.PredictHorizon(ctx, "", d("2025-06-01"), closecast.HorizonOptions{Horizon: 1, Interval: closecast.IntervalEnsemble, Levels: []float64{0.07, 0.5}})
	if err == nil || !strings.Contains(err.Error(), "0.025, 0.05, 0.10") {
		t.Errorf("level 0.07: %v", err)
	}
	_, err = svc.PredictHorizon(ctx, "", d("2025-06-01"), closecast.HorizonOptions{Horizon: evaluate.EnsembleMaxHorizon + 1, Interval: closecast.IntervalEnsemble})
	if err == nil || !strings.Contains(err.Error(), "1..125 days") {
		t.Errorf("horizon %d: %v", evaluate.EnsembleMaxHorizon+1, err)
	}
	early := s.Bars[m.Pipeline.History()+10].Date // a full window, far less than a year of returns
	_, err = svc.PredictHorizon(ctx, "", early, closecast.HorizonOptions{Horizon: 1, Interval: closecast.IntervalEnsemble})
	if !errors.Is(err, closecast.ErrShortEnsemble) {
		t.Errorf("%s: %v, want ErrShortEnsemble", early, err)
	}
	if _, err := svc.PredictHorizon(ctx, "", early, closecast.HorizonOptions{Horizon: 1, Interval: closecast.IntervalEnsemble}); !errors.Is(err, closecast.ErrShortEnsemble) {
		t.Errorf("%s again (a failed fit is not kept as a success): %v", early, err)
	}
	if err := (&closecast.HorizonOptions{Horizon: 1, Interval: closecast.IntervalEnsemble, Samples: 10}).Validate(); err == nil {
		t.Error("ensemble with samples: no error")
	}
}

func TestEnsembleFitsOncePerOrigin(t *testing.T) {
	svc, _ := service(t, marketdata.Embedded())
	ctx := context.Background()
	date := d("2025-06-01")
	const burst = 8
	got := make([]closecast.Horizon, burst)
	errs := make([]error, burst)
	var wg sync.WaitGroup
	for k := range burst {
		wg.Go(func() {
			// Horizons 1..4: a longer one extends the same fit.
			got[k], errs[k] = svc.PredictHorizon(ctx, "", date, closecast.HorizonOptions{Horizon: 1 + k%4, Interval: closecast.IntervalEnsemble})
		})
	}
	wg.Wait()
	for k := range burst {
		if errs[k] != nil {
			t.Fatal(errs[k])
		}
		if !slices.Equal(got[k].Days[0].Quantiles, got[0].Days[0].Quantiles) {
			t.Errorf("request %d: day 1 %v, request 0 %v", k, got[k].Days[0].Quantiles, got[0].Days[0].Quantiles)
		}
	}
	if n := svc.EnsembleFits(); n != 1 {
		t.Errorf("%d requests for one origin fitted %d times, want 1", burst, n)
	}
	if _, err := svc.PredictHorizon(ctx, "", date+1, closecast.HorizonOptions{Horizon: 2, Interval: closecast.IntervalEnsemble}); err != nil {
		t.Fatal(err)
	}
	if n := svc.EnsembleFits(); n != 2 {
		t.Errorf("a second origin: %d fits in all, want 2", n)
	}
}

// BenchmarkEnsembleForecast is a one-day ensemble forecast of the shipped
// model over the embedded BTC-USD data: uncached (a fresh service, so the
// ensemble is fitted: GARCH's and EWMA-t's maximum likelihood on every
// return since 2014) and cached (the origin's fit reused).
func BenchmarkEnsembleForecast(b *testing.B) {
	m, err := models.Default()
	if err != nil {
		b.Fatal(err)
	}
	src := marketdata.Embedded()
	ctx := context.Background()
	day := closecast.MustParseDate("2025-07-10")
	opt := closecast.HorizonOptions{Horizon: 1, Interval: closecast.IntervalEnsemble}
	b.Run("uncached", func(b *testing.B) {
		for b.Loop() {
			if _, err := New(m, src).PredictHorizon(ctx, "BTC-USD", day, opt); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		svc := New(m, src)
		if _, err := svc.PredictHorizon(ctx, "BTC-USD", day, opt); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.PredictHorizon(ctx, "BTC-USD", day, opt); err != nil {
				b.Fatal(err)
			}
		}
	})
}
