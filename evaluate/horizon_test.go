package evaluate_test

import (
	"context"
	"math"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/train"
)

// Step 1 of a horizon evaluation is the one-step evaluation; step 3 is
// recomputed here from the pipeline's own paths; the calibrated interval's
// coverage is reported for every step.
func TestHorizonRecomputed(t *testing.T) {
	cfg, _ := shipped.Load("default")
	cfg.Units, cfg.Epochs, cfg.Threads = 8, 2, 2
	cfg.Data.From = closecast.MustParseDate("2023-01-01")
	series, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	r, err := train.Run(context.Background(), cfg, series, train.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, bars := r.Model.Pipeline, series.Bars
	if p.Calibration == nil {
		t.Fatal("a run with a tuning tail has no calibration")
	}
	from, to := closecast.MustParseDate("2025-06-01"), closecast.MustParseDate("2025-07-16")
	steps, err := evaluate.Horizon(p, bars, from, to, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 || steps[0].N != 46 || steps[2].N != 44 || steps[2].From.String() != "2025-06-03" || steps[2].To != to {
		t.Fatalf("steps %+v", steps)
	}
	one, _, err := evaluate.OneStep(p, bars, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if !steps[0].Model.Same(one.Model) || !steps[0].Persistence.Same(one.Persistence) {
		t.Errorf("step 1 %+v / %+v, OneStep %+v / %+v", steps[0].Model, steps[0].Persistence, one.Model, one.Persistence)
	}
	var sumModel, sumPersist float64
	i0 := series.Index(from)
	for i := i0; i+2 <= series.Index(to); i++ {
		path, err := p.Paths(bars, i, bars[i].Date, 3, 1, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		sumModel += math.Abs(path[0][2] - bars[i+2].Close)
		sumPersist += math.Abs(bars[i-1].Close - bars[i+2].Close)
	}
	if m := sumModel / 44; math.Abs(steps[2].Model.MAE-m) > 1e-9*m {
		t.Errorf("step 3 model MAE %v, recomputed %v", steps[2].Model.MAE, m)
	}
	if m := sumPersist / 44; math.Abs(steps[2].Persistence.MAE-m) > 1e-9*m {
		t.Errorf("step 3 persistence MAE %v, recomputed %v", steps[2].Persistence.MAE, m)
	}
	for _, st := range steps {
		if st.Coverage == nil || !(*st.Coverage > 0 && *st.Coverage <= 100) {
			t.Errorf("step %d coverage %v", st.Step, st.Coverage)
		}
	}
}
