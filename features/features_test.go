package features

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/closecast/closecast"
)

// randomBars returns n valid bars: a multiplicative random walk of closes
// around 100·scale with consistent OHLC, volumes that are sometimes 0, and
// a few flat stretches so the special cases (flat windows) are exercised.
func randomBars(r *rand.Rand, n int, scale float64) []closecast.Bar {
	bars := make([]closecast.Bar, n)
	c := 100 * scale
	for i := range bars {
		open := c
		if r.IntN(10) > 0 { // one day in ten the close does not move
			c *= math.Exp(r.NormFloat64() * 0.03)
		}
		hi := math.Max(open, c) * (1 + 0.01*r.Float64())
		lo := math.Min(open, c) * (1 - 0.01*r.Float64())
		vol := math.Round(r.Float64() * 1e6)
		if r.IntN(8) == 0 {
			vol = 0
		}
		bars[i] = closecast.Bar{Date: closecast.MustParseDate("2020-01-01").AddDays(i), Open: open, High: hi, Low: lo, Close: c, Volume: vol}
	}
	return bars
}

func flatBars(n int) []closecast.Bar {
	bars := make([]closecast.Bar, n)
	for i := range bars {
		bars[i] = closecast.Bar{Date: closecast.Date(18000 + i), Open: 50, High: 50, Low: 50, Close: 50, Volume: 0}
	}
	return bars
}

func closesOf(h []closecast.Bar) []float64 {
	out := make([]float64, len(h))
	for i, b := range h {
		out[i] = b.Close
	}
	return out
}

// lastK returns the last k closes of hist, or nil if there are fewer.
func lastK(hist []closecast.Bar, k int) []float64 {
	if len(hist) < k {
		return nil
	}
	return closesOf(hist[len(hist)-k:])
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// sampleStd uses the pairwise identity var = Σ_{i<j}(x_i−x_j)² / (k(k−1)),
// a formula independent of the one under test.
func sampleStd(xs []float64) float64 {
	k := float64(len(xs))
	s := 0.0
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			d := xs[i] - xs[j]
			s += d * d
		}
	}
	return math.Sqrt(s / (k * (k - 1)))
}

func sortedExt(xs []float64) (lo, hi float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[0], s[len(s)-1]
}

// reference computes feature name at the last bar of hist, seeing only hist,
// the slow obvious way. ok is false where the feature is undefined.
func reference(name string, hist []closecast.Bar) (v float64, ok bool) {
	t := len(hist) - 1
	cur := hist[t]
	switch name {
	case "close":
		return cur.Close, true
	case "open":
		return cur.Open, true
	case "high":
		return cur.High, true
	case "low":
		return cur.Low, true
	case "volume":
		return cur.Volume, true
	case "log_return_1d":
		if t < 1 {
			return 0, false
		}
		return math.Log(cur.Close) - math.Log(hist[t-1].Close), true
	case "momentum_3d", "momentum_7d":
		k := map[string]int{"momentum_3d": 3, "momentum_7d": 7}[name]
		if t < k {
			return 0, false
		}
		return cur.Close - hist[t-k].Close, true
	case "rsi_14":
		if t < 14 {
			return 0, false
		}
		var gains, losses []float64
		for i := t - 13; i <= t; i++ {
			d := hist[i].Close - hist[i-1].Close
			gains = append(gains, math.Max(d, 0))
			losses = append(losses, math.Max(-d, 0))
		}
		g, l := mean(gains), mean(losses)
		if l == 0 {
			if g == 0 {
				return 50, true
			}
			return 100, true
		}
		return 100 - 100/(1+g/l), true
	case "volume_spike":
		if len(hist) < 7 {
			return 0, false
		}
		var vs []float64
		for _, b := range hist[len(hist)-7:] {
			vs = append(vs, b.Volume)
		}
		if m := mean(vs); m != 0 {
			return cur.Volume / m, true
		}
		return 1, true
	case "position_in_range_30":
		w := lastK(hist, 30)
		if w == nil {
			return 0, false
		}
		lo, hi := sortedExt(w)
		if hi == lo {
			return 0.5, true
		}
		return (cur.Close - lo) / (hi - lo), true
	}
	var kind string
	var k int
	if _, err := fmt.Sscanf(strings.Replace(name, "rolling_", "", 1), "%s", &kind); err == nil {
		i := strings.LastIndexByte(kind, '_')
		fmt.Sscanf(kind[i+1:], "%d", &k)
		kind = kind[:i]
	}
	w := lastK(hist, k)
	if k == 0 || w == nil {
		return 0, false
	}
	switch kind {
	case "mean":
		return mean(w), true
	case "std":
		return sampleStd(w), true
	case "max":
		_, hi := sortedExt(w)
		return hi, true
	case "min":
		lo, _ := sortedExt(w)
		return lo, true
	case "zscore":
		s := sampleStd(w)
		if s == 0 {
			return 0, true
		}
		return (cur.Close - mean(w)) / s, true
	}
	panic("no reference for " + name)
}

func TestFeaturesMatchReference(t *testing.T) {
	want := 5 + 1 + 5*len(rollingWindows) + 2 + 3
	if got := len(Names()); got != want {
		t.Fatalf("%d features registered, want %d: %v", got, want, Names())
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, scale := range []float64{1, 1000} { // 1000: BTC-like prices ~1e5
		bars := randomBars(r, 260, scale)
		bars = append(bars, flatBars(40)...) // flat tail: std 0, RSI 50, range 0
		for i := range bars {
			bars[i].Date = closecast.Date(18000 + i)
		}
		for _, f := range All() {
			if f.Doc == "" || !strings.Contains(f.Doc, fmt.Sprintf("Warm-up %d", f.Warmup)) {
				t.Errorf("%s: doc %q does not state its warm-up %d", f.Name, f.Doc, f.Warmup)
			}
			got := f.Compute(bars)
			for i := range bars {
				ref, ok := reference(f.Name, bars[:i+1])
				if !ok {
					if !math.IsNaN(got[i]) {
						t.Errorf("%s[%d] = %v, want undefined (NaN)", f.Name, i, got[i])
					}
					if i >= f.Warmup {
						t.Errorf("%s: undefined at %d but Warmup = %d", f.Name, i, f.Warmup)
					}
					continue
				}
				if i < f.Warmup {
					t.Errorf("%s: defined at %d but Warmup = %d", f.Name, i, f.Warmup)
				}
				if d := math.Abs(got[i] - ref); d > 1e-9*math.Max(1, math.Abs(ref)) || math.IsNaN(got[i]) {
					t.Errorf("scale %v: %s[%d] = %.15g, reference %.15g", scale, f.Name, i, got[i], ref)
				}
			}
		}
	}
}

func TestWarmupCounts(t *testing.T) {
	for name, want := range map[string]int{
		"close": 0, "volume": 0, "log_return_1d": 1, "rolling_mean_7": 6, "rolling_std_30": 29,
		"rolling_max_90": 89, "rolling_zscore_180": 179, "momentum_3d": 3, "momentum_7d": 7,
		"rsi_14": 14, "volume_spike": 6, "position_in_range_30": 29,
	} {
		f, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Warmup != want {
			t.Errorf("%s: Warmup %d, want %d", name, f.Warmup, want)
		}
	}
	w, err := Warmup([]string{"close", "rsi_14", "rolling_min_30"})
	if err != nil || w != 29 {
		t.Errorf("Warmup = %d, %v; want 29", w, err)
	}
}

func TestMatrixDropsWarmupAndAligns(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	bars := randomBars(r, 100, 1)
	names := []string{"close", "rolling_mean_30", "log_return_1d"}
	rows, dates, err := Matrix(bars, names)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 71 || len(dates) != 71 {
		t.Fatalf("%d rows, %d dates; want 100 − 29 = 71", len(rows), len(dates))
	}
	if dates[0] != bars[29].Date || dates[70] != bars[99].Date {
		t.Errorf("dates run %s..%s, want %s..%s", dates[0], dates[70], bars[29].Date, bars[99].Date)
	}
	for i, row := range rows {
		b := bars[i+29]
		if len(row) != 3 || row[0] != b.Close {
			t.Fatalf("row %d = %v, want close %v first", i, row, b.Close)
		}
		if m := mean(closesOf(bars[i : i+30])); math.Abs(row[1]-m) > 1e-9 {
			t.Errorf("row %d rolling_mean_30 = %v, want %v", i, row[1], m)
		}
		if lr := math.Log(b.Close / bars[i+28].Close); math.Abs(row[2]-lr) > 1e-12 {
			t.Errorf("row %d log return = %v, want %v", i, row[2], lr)
		}
	}
}

func TestMatrixErrors(t *testing.T) {
	bars := randomBars(rand.New(rand.NewPCG(5, 6)), 30, 1)
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"close", "rsi_15"}, `unknown feature "rsi_15": known features are close, open`},
		{[]string{"close", "close"}, `"close" is listed twice`},
		{nil, "no features named"},
		{[]string{"rolling_mean_30"}, "need more than 29 bars (their warm-up); got 29"},
	} {
		if _, _, err := Matrix(bars[:29], c.names); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Matrix(%v): err = %v, want it to contain %q", c.names, err, c.want)
		}
	}
	if rows, _, err := Matrix(bars, []string{"rolling_mean_30"}); err != nil || len(rows) != 1 {
		t.Errorf("30 bars, warm-up 29: %d rows, %v; want 1 row", len(rows), err)
	}
	bars[10].Close = 0 // an unvalidated bar: log(0)
	if _, _, err := Matrix(bars, []string{"log_return_1d"}); err == nil || !strings.Contains(err.Error(), bars[10].Date.String()) {
		t.Errorf("zero close: err = %v, want it to name %s", err, bars[10].Date)
	}
}

// TestNoLookAhead changes every bar after day i and checks that no row up
// to day i changes, for every feature at once.
func TestNoLookAhead(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	bars := randomBars(r, 400, 1)
	names := Names()
	rows, dates, err := Matrix(bars, names)
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{179, 180, 250, 398} { // bar index of the last unchanged day
		alt := slices.Clone(bars)
		tail := randomBars(r, len(bars)-cut-1, 3)
		for j := range tail {
			tail[j].Date = bars[cut+1+j].Date
		}
		copy(alt[cut+1:], tail)
		rows2, dates2, err := Matrix(alt, names)
		if err != nil {
			t.Fatal(err)
		}
		changed := false
		for i := range rows {
			if dates[i] != dates2[i] {
				t.Fatalf("dates differ at %d", i)
			}
			same := slices.Equal(rows[i], rows2[i])
			if dates[i] <= bars[cut].Date && !same {
				t.Errorf("cut %d: row for %s changed when only later bars did", cut, dates[i])
			}
			changed = changed || !same
		}
		if !changed {
			t.Errorf("cut %d: no row changed at all: the perturbation did nothing", cut)
		}
	}
}

// TestMatrixDependsOnlyOnLookback checks that a feature row depends on the
// bars of its warm-up window alone, not on how much history precedes it:
// Matrix over a suffix of the bars reproduces the full Matrix's rows for the
// same dates bit for bit. Serving relies on this when it computes the
// features of one window from window+warm-up bars.
func TestMatrixDependsOnlyOnLookback(t *testing.T) {
	bars := randomBars(rand.New(rand.NewPCG(9, 10)), 500, 1000)
	names := Names()
	full, fdates, err := Matrix(bars, names)
	if err != nil {
		t.Fatal(err)
	}
	for _, start := range []int{1, 37, 250, 320} {
		part, pdates, err := Matrix(bars[start:], names)
		if err != nil {
			t.Fatal(err)
		}
		off := len(full) - len(part)
		if off != start || pdates[0] != fdates[off] {
			t.Fatalf("start %d: %d rows from %s, full has %d from %s", start, len(part), pdates[0], len(full), fdates[0])
		}
		for i := range part {
			if !slices.Equal(part[i], full[i+off]) {
				t.Errorf("start %d: row for %s differs from the full history's", start, pdates[i])
				break
			}
		}
	}
}

// BenchmarkMatrixOneWindow measures the features of one 60-day window of
// the full multivariate set (60 + 179 warm-up bars), the work of one
// prediction.
func BenchmarkMatrixOneWindow(b *testing.B) {
	bars := randomBars(rand.New(rand.NewPCG(11, 12)), 60+179, 1000)
	names := Names()
	for b.Loop() {
		if _, _, err := Matrix(bars, names); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatrixHistory measures the full multivariate set over 4,000 bars
// (all of BTC-USD's daily history).
func BenchmarkMatrixHistory(b *testing.B) {
	bars := randomBars(rand.New(rand.NewPCG(11, 12)), 4000, 1000)
	names := Names()
	for b.Loop() {
		if _, _, err := Matrix(bars, names); err != nil {
			b.Fatal(err)
		}
	}
}
