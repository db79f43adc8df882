package evaluate

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/features"
	"github.com/closecast/closecast/lstm"
	"github.com/closecast/closecast/pipeline"
)

// calibrated builds a case whose answer is known: a log-return pipeline
// whose network ignores its input (zero input kernel, random gate biases),
// so its dropout forecasts of every day's log return are draws from one
// distribution F, and days+History() bars whose daily log returns are drawn
// from F itself (the same network, masks from an unrelated seed) with their
// deviation from F's deterministic centre multiplied by spread. With spread
// 1 every actual is an independent draw from the distribution the interval
// estimates, so an 80 % interval covers about 80 % of the days.
func calibrated(t *testing.T, days int, spread float64, dropout float32) (*pipeline.Pipeline, []closecast.Bar) {
	t.Helper()
	net, err := lstm.New(lstm.Config{Features: 1, Units: []int{32}, Dropout: dropout, Outputs: 1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	w := net.Params()
	clear(w[:4*32]) // the input row of W [1+32][128]
	r := rand.New(rand.NewPCG(5, 5))
	for j := range 128 {
		w[33*128+j] = float32(2*r.Float64() - 1) // gate biases b [128]
	}
	if err := net.SetParams(w); err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Pipeline{Features: []string{"log_return_1d"}, Target: features.TargetLogReturn, Window: 6, Warmup: 1,
		Inputs: features.MinMaxScaler{Min: []float64{-0.1}, Max: []float64{0.1}},
		Output: features.MinMaxScaler{Min: []float64{-0.05}, Max: []float64{0.05}}, Net: net}
	n := days + p.History()
	x := make([]float32, n*p.Window)
	out := make([]float32, n)
	net.PredictDropout(x, n, p.Window, out, 0xfeed)
	det := make([]float32, 1)
	net.Predict(x[:p.Window], 1, p.Window, det)
	mean := p.Output.Inverse(0, float64(det[0]))
	bars := make([]closecast.Bar, n)
	c, d0 := 100.0, closecast.MustParseDate("2020-01-01")
	for i := range bars {
		c *= math.Exp(mean + spread*(p.Output.Inverse(0, float64(out[i]))-mean))
		bars[i] = closecast.Bar{Date: d0.AddDays(i), Open: c, High: c, Low: c, Close: c, Volume: 1}
	}
	return p, bars
}

func TestIntervalCoverageCoverageOfACalibratedCase(t *testing.T) {
	p, bars := calibrated(t, 300, 1, 0.3)
	from, to := bars[0].Date, bars[len(bars)-1].Date
	opt := IntervalOptions{Samples: 200, Seed: 4}
	iv, err := IntervalCoverage(p, bars, from, to, opt)
	if err != nil {
		t.Fatal(err)
	}
	ev, _, err := OneStep(p, bars, from, to)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", iv)
	if iv.Level != 80 || iv.N != ev.N || iv.Samples != 200 || iv.Seed != 4 {
		t.Fatalf("interval %+v, OneStep scored %d days", iv, ev.N)
	}
	if math.Abs(iv.Coverage-80) > 7 {
		t.Errorf("coverage %.1f %%, want 80 ± 7 (calibrated)", iv.Coverage)
	}
	// Recompute coverage and width independently from the samples.
	in, width := 0, 0.0
	s := closecast.Series{Bars: bars}
	for i := s.Search(ev.From); i <= s.Search(ev.To); i++ {
		smp, err := p.SampleAt(bars, []int{i}, 200, 4)
		if err != nil {
			t.Fatal(err)
		}
		q := pipeline.Quantiles(smp[0], []float64{0.1, 0.9})
		if bars[i].Close >= q[0] && bars[i].Close <= q[1] {
			in++
		}
		width += q[1] - q[0]
	}
	if got := 100 * float64(in) / float64(ev.N); math.Abs(got-iv.Coverage) > 1e-9 {
		t.Errorf("coverage %v, recomputed %v", iv.Coverage, got)
	}
	if got := width / float64(ev.N); math.Abs(got-iv.Width) > 1e-9*got {
		t.Errorf("width %v, recomputed %v", iv.Width, got)
	}

	// One thread gives the same answer as many.
	old := runtime.GOMAXPROCS(1)
	one, err := IntervalCoverage(p, bars, from, to, opt)
	runtime.GOMAXPROCS(old)
	if err != nil || one != iv {
		t.Errorf("GOMAXPROCS 1: %+v %v, want %+v", one, err, iv)
	}
	// A 50 % interval covers about half.
	half, err := IntervalCoverage(p, bars, from, to, IntervalOptions{Samples: 200, Seed: 4, Lo: 0.25, Hi: 0.75})
	if err != nil || half.Level != 50 || math.Abs(half.Coverage-50) > 9 {
		t.Errorf("50 %% interval: %+v %v", half, err)
	}
}

// Data twice as volatile as the model's dropout spread: the same interval
// must cover far fewer days than its nominal 80 %.
func TestIntervalCoverageSeesAnOverconfidentModel(t *testing.T) {
	p, bars := calibrated(t, 300, 2, 0.3)
	iv, err := IntervalCoverage(p, bars, bars[0].Date, bars[len(bars)-1].Date, IntervalOptions{Samples: 200, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	if iv.Coverage > 60 {
		t.Errorf("coverage %.1f %% of data with twice the spread, want well below 80", iv.Coverage)
	}
}

func TestIntervalCoverageErrors(t *testing.T) {
	p, bars := calibrated(t, 30, 1, 0)
	from, to := bars[0].Date, bars[len(bars)-1].Date
	if _, err := IntervalCoverage(p, bars, from, to, IntervalOptions{Samples: 10}); !errors.Is(err, pipeline.ErrNoDropout) {
		t.Errorf("no dropout: %v", err)
	}
	p, bars = calibrated(t, 30, 1, 0.2)
	for _, o := range []IntervalOptions{{Samples: 1}, {Samples: 10, Lo: 0.9, Hi: 0.1}, {Samples: 10, Lo: 0, Hi: 1}} {
		if _, err := IntervalCoverage(p, bars, from, to, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if _, err := IntervalCoverage(p, bars, from, from.AddDays(3), IntervalOptions{Samples: 10}); !errors.Is(err, ErrNoTargets) {
		t.Errorf("range without history: %v", err)
	}
}
