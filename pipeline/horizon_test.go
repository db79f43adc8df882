package pipeline

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/features"
	"github.com/closecast/closecast/lstm"
)

var day0 = closecast.MustParseDate("2024-01-01")

// walk returns n gap-free daily bars of a random walk with 2 % daily
// volatility, with open/high/low/volume that differ from the close.
func walk(n int, seed uint64) []closecast.Bar {
	r := rand.New(rand.NewPCG(seed, 1))
	bars := make([]closecast.Bar, n)
	c := 100.0
	for i := range bars {
		o := c
		c *= math.Exp(0.02 * r.NormFloat64())
		bars[i] = closecast.Bar{Date: day0 + closecast.Date(i), Open: o, Close: c,
			High: math.Max(o, c) * 1.01, Low: math.Min(o, c) * 0.99, Volume: 1e6 * (1 + r.Float64())}
	}
	return bars
}

// netPipeline is a log-return pipeline over names with a random network
// (dropout 0.3) and scalers set by hand.
func netPipeline(t *testing.T, names []string, units int, seed uint64) *Pipeline {
	t.Helper()
	warm, err := features.Warmup(names)
	if err != nil {
		t.Fatal(err)
	}
	net, err := lstm.New(lstm.Config{Features: len(names), Units: []int{units}, Dropout: 0.3, Outputs: 1}, seed)
	if err != nil {
		t.Fatal(err)
	}
	in := features.MinMaxScaler{}
	for _, n := range names {
		lo, hi := -0.1, 0.1 // returns
		switch n {
		case "volume":
			lo, hi = 0, 2e6
		case "high", "low", "open", "close":
			lo, hi = 50, 150
		}
		in.Min, in.Max = append(in.Min, lo), append(in.Max, hi)
	}
	return &Pipeline{Features: names, Target: features.TargetLogReturn, Window: 8, Warmup: warm,
		Inputs: in, Output: features.MinMaxScaler{Min: []float64{-0.05}, Max: []float64{0.05}}, Net: net}
}

// blind zeroes the input kernel of the (single) layer and draws random
// gate biases (so the units are not all 0): the network's output no longer
// depends on its input, so under dropout every forecast draws its scaled
// log return from one fixed distribution, and without dropout it is one
// constant.
func blind(t *testing.T, p *Pipeline) {
	t.Helper()
	cfg := p.Net.Config()
	w := p.Net.Params()
	in, g := cfg.Features, 4*cfg.Units[0]
	clear(w[:in*g]) // rows 0..In-1 of W [In+U][4U]
	r := rand.New(rand.NewPCG(uint64(g), 2))
	b := w[(in+cfg.Units[0])*g : (in+cfg.Units[0]+1)*g]
	for j := range b {
		b[j] = float32(2*r.Float64() - 1)
	}
	if err := p.Net.SetParams(w); err != nil {
		t.Fatal(err)
	}
}

func TestForecastDayOneIsThePlainForecastAndDatesAreConsecutive(t *testing.T) {
	p := netPipeline(t, []string{"log_return_1d", "volume", "high"}, 8, 1)
	bars := walk(80, 1)
	for _, i := range []int{40, len(bars)} {
		start := bars[i-1].Date + 1
		o, err := p.Forecast(bars, i, start, HorizonOptions{Horizon: 12, Samples: 40, Seed: DefaultSeed})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := p.PredictAt(bars, []int{i})
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Days) != 12 || o.Days[0].Value != plain[0] {
			t.Fatalf("i=%d: %d days, day 1 = %v, plain forecast %v", i, len(o.Days), o.Days[0].Value, plain[0])
		}
		for k, d := range o.Days {
			if d.Date != start+closecast.Date(k) {
				t.Errorf("day %d dated %s, want %s", k, d.Date, start+closecast.Date(k))
			}
			if len(d.Quantiles) != 3 || !slices.IsSorted(d.Quantiles) || d.Quantiles[0] >= d.Quantiles[2] {
				t.Errorf("day %d quantiles %v: want 3 ascending values with p10 < p90", k, d.Quantiles)
			}
		}
	}
}

// The second day must be exactly the forecast made from the real bars plus
// one synthetic bar: close (and open, high, low) = day 1's forecast, volume =
// the last real volume. Rebuild that bar independently and compare.
func TestForecastAppendsTheDocumentedSyntheticBar(t *testing.T) {
	p := netPipeline(t, []string{"log_return_1d", "volume", "high", "low"}, 8, 2)
	bars := walk(60, 2)
	i := 50
	o, err := p.Forecast(bars, i, bars[i].Date, HorizonOptions{Horizon: 3})
	if err != nil {
		t.Fatal(err)
	}
	ext := slices.Clone(bars[:i])
	for k := range 2 {
		v := o.Days[k].Value
		ext = append(ext, closecast.Bar{Date: o.Days[k].Date, Open: v, High: v, Low: v, Close: v, Volume: bars[i-1].Volume})
		want, err := p.PredictAt(ext, []int{len(ext)})
		if err != nil {
			t.Fatal(err)
		}
		if o.Days[k+1].Value != want[0] {
			t.Errorf("day %d: %v, rebuilt from synthetic bars %v", k+2, o.Days[k+1].Value, want[0])
		}
	}
	// Real bars from i on are never read.
	mod := slices.Clone(bars)
	for j := i; j < len(mod); j++ {
		mod[j].Close *= 3
		mod[j].High *= 3
	}
	o2, err := p.Forecast(mod, i, bars[i].Date, HorizonOptions{Horizon: 3, Samples: 10})
	if err != nil {
		t.Fatal(err)
	}
	o3, _ := p.Forecast(bars, i, bars[i].Date, HorizonOptions{Horizon: 3, Samples: 10})
	for k := range o2.Days {
		if o2.Days[k].Value != o3.Days[k].Value || !slices.Equal(o2.Days[k].Quantiles, o3.Days[k].Quantiles) {
			t.Errorf("day %d changed when bars after the input were changed", k+1)
		}
	}
}

func TestSeedsMakeIntervalsReproducible(t *testing.T) {
	p := netPipeline(t, []string{"log_return_1d"}, 8, 3)
	bars := walk(40, 3)
	run := func(seed uint64) [][]float64 {
		paths, err := p.Paths(bars, len(bars), bars[len(bars)-1].Date+1, 5, 30, true, seed)
		if err != nil {
			t.Fatal(err)
		}
		return paths
	}
	a, b, c := run(11), run(11), run(12)
	for k := range a {
		if !slices.Equal(a[k], b[k]) {
			t.Fatalf("path %d differs between two runs with seed 11: %v vs %v", k, a[k], b[k])
		}
	}
	same := 0
	for k := range a {
		for t := range a[k] {
			if a[k][t] == c[k][t] {
				same++
			}
		}
	}
	if same > len(a)*len(a[0])/10 {
		t.Errorf("seeds 11 and 12 agree on %d of %d sample values", same, len(a)*len(a[0]))
	}
	// Different paths of one run differ too (each has its own masks).
	if slices.Equal(a[0], a[1]) {
		t.Errorf("paths 0 and 1 are identical: %v", a[0])
	}
}

func TestSampleAtIsDayOneOfThePaths(t *testing.T) {
	p := netPipeline(t, []string{"log_return_1d", "volume"}, 8, 4)
	bars := walk(50, 4)
	i := 30
	s, err := p.SampleAt(bars, []int{i, i + 5}, 25, 9)
	if err != nil {
		t.Fatal(err)
	}
	alone, _ := p.SampleAt(bars, []int{i + 5}, 25, 9)
	paths, err := p.Paths(bars, i, bars[i].Date, 2, 25, true, 9)
	if err != nil {
		t.Fatal(err)
	}
	for k := range paths {
		if s[0][k] != paths[k][0] {
			t.Fatalf("sample %d: SampleAt %v, first path day %v", k, s[0][k], paths[k][0])
		}
	}
	if !slices.Equal(alone[0], s[1]) {
		t.Errorf("a day's samples depend on the other days asked for")
	}
}

// coverage returns the share of days whose actual close lies in the
// [lo, hi] quantiles of the day's samples.
func coverage(samples [][]float64, actual []float64, lo, hi float64) float64 {
	in := 0
	for j, s := range samples {
		q := Quantiles(s, []float64{lo, hi})
		if actual[j] >= q[0] && actual[j] <= q[1] {
			in++
		}
	}
	return float64(in) / float64(len(samples))
}

// A calibrated case with a known answer: the network is blind to its input,
// so its dropout forecasts of every day's log return are draws from one
// distribution F. The data's daily log returns are drawn from F itself (the
// same network with masks from an unrelated seed), so each day's actual is
// an independent draw from the distribution the interval estimates, and a
// q-interval must cover about q of the days. Returns drawn with twice the
// spread must be covered much less often.
func TestCoverageOfACalibratedCaseIsNominal(t *testing.T) {
	p := netPipeline(t, []string{"log_return_1d"}, 32, 5)
	blind(t, p)
	const days, samples = 400, 200
	h := p.History()
	x := make([]float32, (h+days)*p.Window)
	out := make([]float32, h+days)
	p.Net.PredictDropout(x, h+days, p.Window, out, 0xdead) // the input is ignored
	det := make([]float32, 1)
	p.Net.Predict(x[:p.Window], 1, p.Window, det)
	mean := p.Output.Inverse(0, float64(det[0]))

	series := func(spread float64) []closecast.Bar {
		bars := make([]closecast.Bar, h+days)
		c := 100.0
		for i := range bars {
			r := mean + spread*(p.Output.Inverse(0, float64(out[i]))-mean)
			c *= math.Exp(r)
			bars[i] = closecast.Bar{Date: day0 + closecast.Date(i), Open: c, High: c, Low: c, Close: c, Volume: 1}
		}
		return bars
	}
	idx := make([]int, days)
	for j := range idx {
		idx[j] = h + j
	}
	for _, tc := range []struct {
		spread, lo, hi, want, tol float64
	}{
		{1, 0.1, 0.9, 0.8, 0.06},
		{1, 0.25, 0.75, 0.5, 0.08},
		{2, 0.1, 0.9, 0.0, 0.6}, // too narrow for data twice as spread out: well below 0.8
	} {
		bars := series(tc.spread)
		s, err := p.SampleAt(bars, idx, samples, DefaultSeed)
		if err != nil {
			t.Fatal(err)
		}
		actual := make([]float64, days)
		for j, i := range idx {
			actual[j] = bars[i].Close
		}
		got := coverage(s, actual, tc.lo, tc.hi)
		t.Logf("spread %vx: [q%v, q%v] covers %.3f of %d days", tc.spread, tc.lo, tc.hi, got, days)
		if tc.spread == 1 && math.Abs(got-tc.want) > tc.tol {
			t.Errorf("[q%v, q%v] covers %.3f of %d days, want %.2f ± %.2f", tc.lo, tc.hi, got, days, tc.want, tc.tol)
		}
		if tc.spread != 1 && got > tc.tol {
			t.Errorf("data with %vx the spread: [q%v, q%v] covers %.3f, want < %.2f", tc.spread, tc.lo, tc.hi, got, tc.tol)
		}
		if tc.spread == 1 && tc.lo == 0.1 {
			// The median sits near the deterministic forecast: inverted
			// dropout keeps each unit's expectation, and with 32 units the
			// output is close to symmetric.
			for j, i := range idx[:50] {
				q := Quantiles(s[j], []float64{0.1, 0.5, 0.9})
				det := p.Price(det[0], 0, bars[i-1].Close)
				if math.Abs(q[1]-det) > 0.25*(q[2]-q[0]) {
					t.Fatalf("day %d: median %v, deterministic %v, p10..p90 %v..%v", j, q[1], det, q[0], q[2])
				}
			}
		}
	}
}

// Each day of a path adds an independent draw (masks per day, input
// ignored), so the log-price spread of day t grows like sqrt(t): the 80 %
// band of day 16 must be about 4x as wide as day 1's, at least 2.5x.
func TestIntervalsWidenWithTheHorizon(t *testing.T) {
	p := netPipeline(t, []string{"log_return_1d"}, 32, 6)
	blind(t, p)
	bars := walk(40, 6)
	o, err := p.Forecast(bars, len(bars), bars[len(bars)-1].Date+1, HorizonOptions{Horizon: 16, Samples: 300, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	w := func(d Day) float64 { return math.Log(d.Quantiles[2] / d.Quantiles[0]) }
	r := w(o.Days[15]) / w(o.Days[0])
	t.Logf("log-width day 1 %.4f, day 16 %.4f (%.2fx)", w(o.Days[0]), w(o.Days[15]), r)
	if r < 2.5 || r > 6 {
		t.Errorf("log-width of day 16 is %.2fx day 1's, want about 4 (sqrt 16)", r)
	}
	for k := 1; k < len(o.Days); k++ {
		if w(o.Days[k]) < 0.8*w(o.Days[k-1]) {
			t.Errorf("band narrows from day %d (%.4f) to day %d (%.4f)", k, w(o.Days[k-1]), k+1, w(o.Days[k]))
		}
	}
}

func TestHorizonOptionErrors(t *testing.T) {
	p := netPipeline(t, []string{"log_return_1d"}, 4, 7)
	bars := walk(30, 7)
	for _, o := range []HorizonOptions{
		{Horizon: 0}, {Horizon: MaxHorizon + 1}, {Horizon: 2, Samples: 1}, {Horizon: 2, Samples: -3},
		{Horizon: 2, Samples: 10, Levels: []float64{0.5, 0.1}}, {Horizon: 2, Samples: 10, Levels: []float64{0, 0.5}},
		{Horizon: 2, Samples: 10, Levels: []float64{}},
	} {
		if _, err := p.Forecast(bars, len(bars), bars[len(bars)-1].Date+1, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	nodrop := netPipeline(t, []string{"log_return_1d"}, 4, 7)
	nodrop.Net, _ = lstm.New(lstm.Config{Features: 1, Units: []int{4}, Outputs: 1}, 7)
	if _, err := nodrop.Forecast(bars, 20, bars[20].Date, HorizonOptions{Horizon: 2, Samples: 10}); !errors.Is(err, ErrNoDropout) {
		t.Errorf("samples from a network without dropout: %v", err)
	}
	if _, err := p.Forecast(bars, 3, bars[3].Date, HorizonOptions{Horizon: 2}); err == nil {
		t.Error("3 bars of history: no error")
	}
	if _, err := p.Forecast(bars, 20, bars[19].Date, HorizonOptions{Horizon: 2}); err == nil {
		t.Error("start on the last input day: no error")
	}
}

// expiringCtx is a context whose deadline passes after its first n Err
// calls: it lets a test stop a forecast at a chosen check, without clocks.
type expiringCtx struct {
	context.Context
	n int
}

func (c *expiringCtx) Err() error {
	if c.n <= 0 {
		return context.DeadlineExceeded
	}
	c.n--
	return nil
}

// TestForecastContextStopsBetweenSteps: a deadline that passes mid-forecast
// stops a Monte-Carlo horizon with the context's error, wherever it passes;
// a context that never ends gives Forecast's answer exactly.
func TestForecastContextStopsBetweenSteps(t *testing.T) {
	p := netPipeline(t, []string{"close", "log_return_1d"}, 8, 3)
	bars := walk(60, 5)
	opt := HorizonOptions{Horizon: 5, Interval: IntervalMCDropout, Samples: 200, Seed: 9}
	want, err := p.Forecast(bars, 40, bars[40].Date, opt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.ForecastContext(context.Background(), bars, 40, bars[40].Date, opt)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ForecastContext without a deadline differs from Forecast: %v", err)
	}
	for n := range 12 {
		_, err := p.ForecastContext(&expiringCtx{Context: context.Background(), n: n}, bars, 40, bars[40].Date, opt)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("deadline after %d checks: err %v, want DeadlineExceeded", n, err)
		}
	}
}
