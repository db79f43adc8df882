package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/marketdata"
)

// smallGlobal is config/shipped/global.yaml cut down to train in seconds:
// three years of data, a tiny network, a few epochs.
func smallGlobal(t *testing.T) (config.Config, map[string]closecast.Series) {
	t.Helper()
	cfg, err := shipped.Load("global")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data = config.Range{From: closecast.MustParseDate("2021-01-01"), To: closecast.MustParseDate("2023-12-31")}
	cfg.Validation = config.Validation{From: closecast.MustParseDate("2024-02-01"), To: closecast.MustParseDate("2024-02-20")}
	cfg.Units, cfg.Epochs, cfg.Threads, cfg.EarlyStopping.Patience = 4, 3, 1, 2
	series := map[string]closecast.Series{}
	for _, sym := range cfg.Symbols {
		s, err := marketdata.EmbeddedSeries(sym)
		if err != nil {
			t.Fatal(err)
		}
		series[sym] = s
	}
	return cfg, series
}

// sameDataset reports how a and b differ, bit for bit, or "".
func sameDataset(a, b *Dataset) string {
	bits := func(x []float32) []uint32 {
		out := make([]uint32, len(x))
		for i, v := range x {
			out[i] = math.Float32bits(v)
		}
		return out
	}
	switch {
	case !slices.Equal(bits(a.X), bits(b.X)):
		return "inputs"
	case !slices.Equal(bits(a.Y), bits(b.Y)):
		return "targets"
	case !slices.Equal(a.Target, b.Target) || a.Train != b.Train || a.Tail != b.Tail:
		return "split"
	case !slices.Equal(a.Pipeline.Inputs.Min, b.Pipeline.Inputs.Min) || !slices.Equal(a.Pipeline.Inputs.Max, b.Pipeline.Inputs.Max):
		return "input scaler"
	case !slices.Equal(a.Pipeline.Output.Min, b.Pipeline.Output.Min) || !slices.Equal(a.Pipeline.Output.Max, b.Pipeline.Output.Max):
		return "target scaler"
	}
	return ""
}

// Each market of a global model has exactly the windows, split and
// scalers of its per-symbol pipeline, and another market's bars never
// reach them: ETH-USD's dataset is bit for bit the same whatever BTC-USD's
// bars are.
func TestPrepareGlobalIsEachMarketsOwnPrepare(t *testing.T) {
	cfg, series := smallGlobal(t)
	sets, err := PrepareGlobal(cfg, series)
	if err != nil {
		t.Fatal(err)
	}
	for k, sym := range cfg.Symbols {
		own, err := Prepare(cfg.ForSymbol(sym), series[sym])
		if err != nil {
			t.Fatal(err)
		}
		if d := sameDataset(sets[k], own); d != "" {
			t.Errorf("%s: the global model's %s differ from the per-symbol pipeline's", sym, d)
		}
	}
	// The markets' scalers differ (ETH moves more than BTC), and the same
	// calendar split holds for both.
	if slices.Equal(sets[0].Pipeline.Output.Max, sets[1].Pipeline.Output.Max) {
		t.Error("BTC-USD and ETH-USD share a target scaler")
	}
	for _, k := range []int{0, sets[0].Train, sets[0].Windows() - 1} {
		if a, b := sets[0].Bars[sets[0].Target[k]].Date, sets[1].Bars[sets[1].Target[k]].Date; a != b {
			t.Errorf("window %d forecasts %s for BTC-USD, %s for ETH-USD", k, a, b)
		}
	}
	// BTC-USD's returns tripled: its own scalers change, ETH-USD's dataset
	// does not move by a bit.
	wild := series["BTC-USD"]
	wild.Bars = slices.Clone(wild.Bars)
	for i := range wild.Bars {
		c := math.Exp(3 * math.Log(wild.Bars[i].Close/1000))
		wild.Bars[i].Open, wild.Bars[i].High, wild.Bars[i].Low, wild.Bars[i].Close = c, c, c, c
	}
	other := map[string]closecast.Series{"BTC-USD": wild, "ETH-USD": series["ETH-USD"]}
	sets2, err := PrepareGlobal(cfg, other)
	if err != nil {
		t.Fatal(err)
	}
	if d := sameDataset(sets2[1], sets[1]); d != "" {
		t.Errorf("ETH-USD's %s changed with BTC-USD's bars", d)
	}
	if sameDataset(sets2[0], sets[0]) == "" {
		t.Error("BTC-USD's dataset ignored its own bars")
	}
}

func TestPrepareGlobalErrors(t *testing.T) {
	cfg, series := smallGlobal(t)
	delete(series, "ETH-USD")
	if _, err := PrepareGlobal(cfg, series); err == nil || !strings.Contains(err.Error(), "no bars of ETH-USD") {
		t.Errorf("missing market: %v", err)
	}
	series["ETH-USD"] = series["BTC-USD"]
	if _, err := PrepareGlobal(cfg, series); err == nil || !strings.Contains(err.Error(), "the bars given for ETH-USD are BTC-USD's") {
		t.Errorf("mislabelled market: %v", err)
	}
	if _, err := PrepareGlobal(cfg.ForSymbol("BTC-USD"), series); err == nil || !strings.Contains(err.Error(), "names one market") {
		t.Errorf("per-symbol config: %v", err)
	}
	if _, err := Run(context.Background(), cfg, series["BTC-USD"], Options{}); err == nil || !strings.Contains(err.Error(), "RunGlobal") {
		t.Errorf("Run of a global config: %v", err)
	}
}

// A global quantile head: each market's windows, input scaler and targets
// are TrainQuantileHead's on that market alone; the network is one, and
// each market's quantiles come out in its own price range.
func TestRunGlobalQuantileHead(t *testing.T) {
	_, series := smallGlobal(t)
	cfg, err := shipped.Load("quantile")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Name, cfg.Symbols = "gq", []string{"BTC-USD", "ETH-USD"}
	cfg.Data = config.Range{From: closecast.MustParseDate("2021-01-01"), To: closecast.MustParseDate("2023-12-31")}
	cfg.Validation = config.Validation{From: closecast.MustParseDate("2024-02-01"), To: closecast.MustParseDate("2024-02-20")}
	cfg.Units, cfg.Epochs, cfg.Threads, cfg.EarlyStopping.Patience = 4, 2, 1, 2
	r, err := RunGlobal(context.Background(), cfg, series, Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := artifact.Encode(r.Model)
	if err != nil {
		t.Fatal(err)
	}
	m, err := artifact.Verify(files)
	if err != nil {
		t.Fatal(err)
	}
	pooled := 0
	for _, sym := range cfg.Symbols {
		own, err := quantileHeadWindows(cfg.ForSymbol(sym), series[sym])
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.For(sym)
		if err != nil {
			t.Fatal(err)
		}
		pooled += own.fit.Train - own.fit.Tail
		p := v.Pipeline
		if p.Quantiles == nil || !slices.Equal(p.Inputs.Min, own.fit.Pipeline.Inputs.Min) || !slices.Equal(p.Inputs.Max, own.fit.Pipeline.Inputs.Max) {
			t.Errorf("%s: input scaler %+v, want its own market's %+v", sym, p.Inputs, own.fit.Pipeline.Inputs)
		}
		if v.Meta.Metrics.Holdout == nil || v.Meta.Metrics.Holdout.From != own.fit.Holdout {
			t.Errorf("%s: hold-out %+v, want from %s", sym, v.Meta.Metrics.Holdout, own.fit.Holdout)
		}
		s := series[sym]
		i := s.Index(cfg.Validation.From)
		qs, err := p.QuantilesAt(s.Bars, []int{i}, 1)
		if err != nil {
			t.Fatal(err)
		}
		last := s.Bars[i-1].Close
		if lo, hi := qs[0][0], qs[0][len(qs[0])-1]; !(lo < hi && lo > 0.7*last && hi < 1.3*last) {
			t.Errorf("%s: quantiles %v..%v around a last close of %v", sym, lo, hi, last)
		}
	}
	if m.Meta.Training.Windows != pooled {
		t.Errorf("the model fitted %d windows, the markets have %d", m.Meta.Training.Windows, pooled)
	}
}

func weightsOf(t *testing.T, m *artifact.Model) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := m.Pipeline.Net.WriteSafetensors(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Same seed, data and threads → the same weights bit for bit; another
// seed → other weights.
func TestRunGlobalIsDeterministic(t *testing.T) {
	cfg, series := smallGlobal(t)
	run := func(seed uint64) []byte {
		c := cfg
		c.Seed = seed
		r, err := RunGlobal(context.Background(), c, series, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return weightsOf(t, r.Model)
	}
	a, b := run(7), run(7)
	if !bytes.Equal(a, b) {
		t.Fatal("two global runs with seed 7 gave different weights")
	}
	if bytes.Equal(a, run(8)) {
		t.Error("seeds 7 and 8 gave the same weights")
	}
}

// A global model is scored market by market on each market's own split,
// and survives the artifact round trip: each market forecasts with its own
// scalers, in its own price range.
func TestRunGlobalScoresEachMarketAndRoundTrips(t *testing.T) {
	cfg, series := smallGlobal(t)
	r, err := RunGlobal(context.Background(), cfg, series, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := r.Model
	if got := strings.Join(m.Symbols(), ","); got != "BTC-USD,ETH-USD" || m.Meta.Symbol != "BTC-USD" || !m.Meta.Config.Global() {
		t.Fatalf("symbols %s, symbol %s, config global %v", got, m.Meta.Symbol, m.Meta.Config.Global())
	}
	sets, err := PrepareGlobal(cfg, series)
	if err != nil {
		t.Fatal(err)
	}
	pooled := 0
	for k, mk := range m.Meta.Markets {
		ds := sets[k]
		pooled += mk.Windows
		ho := mk.Metrics.Holdout
		if ho == nil || mk.Metrics.Tuning == nil || mk.Metrics.Validation == nil || mk.Calibration == nil {
			t.Fatalf("%s: metrics %+v calibration %v", mk.Symbol, mk.Metrics, mk.Calibration != nil)
		}
		if ho.From != ds.Bars[ds.Target[ds.Train]].Date || ho.To != ds.Bars[ds.Target[ds.Windows()-1]].Date || ho.N != ds.Windows()-ds.Train {
			t.Errorf("%s: hold-out %s..%s (%d days), want its own split's", mk.Symbol, ho.From, ho.To, ho.N)
		}
		if mk.Windows != ds.Train-ds.Tail || mk.TailWindows != ds.Tail {
			t.Errorf("%s: %d training and %d tail windows, want %d and %d", mk.Symbol, mk.Windows, mk.TailWindows, ds.Train-ds.Tail, ds.Tail)
		}
		// A one-step forecast of a log return stays near the last close:
		// ETH-USD's in ETH's range (2,000..4,000 in early 2024), not BTC's.
		for _, p := range mk.Predictions.Validation {
			if math.Abs(p.Predicted/p.Actual-1) > 0.15 {
				t.Errorf("%s %s: forecast %.2f for an actual close of %.2f", mk.Symbol, p.Date, p.Predicted, p.Actual)
			}
		}
	}
	if pooled != m.Meta.Training.Windows {
		t.Errorf("markets' windows add up to %d, the model fitted %d", pooled, m.Meta.Training.Windows)
	}
	files, err := artifact.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := artifact.Verify(files)
	if err != nil {
		t.Fatal(err)
	}
	if back.Meta.SchemaVersion != artifact.GlobalSchemaVersion {
		t.Errorf("schema version %d", back.Meta.SchemaVersion)
	}
	for k, sym := range cfg.Symbols {
		v, err := back.For(strings.ToLower(sym))
		if err != nil {
			t.Fatal(err)
		}
		mk := m.Meta.Markets[k]
		if v.Meta.Symbol != sym || !strings.HasPrefix(v.Meta.Version, strings.ToLower(sym)+"-global-") || v.Meta.Metrics.Holdout.Model != mk.Metrics.Holdout.Model {
			t.Errorf("%s: view symbol %s version %s", sym, v.Meta.Symbol, v.Meta.Version)
		}
		// The loaded market forecasts its validation days as training scored them.
		s := series[sym]
		var idx []int
		for _, p := range mk.Predictions.Validation {
			idx = append(idx, s.Index(p.Date))
		}
		got, err := v.Pipeline.PredictAt(s.Bars, idx)
		if err != nil {
			t.Fatal(err)
		}
		for j, p := range mk.Predictions.Validation {
			if got[j] != p.Predicted {
				t.Fatalf("%s %s: loaded model forecasts %v, training scored %v", sym, p.Date, got[j], p.Predicted)
			}
		}
	}
	// Forecasting ETH-USD's bars with BTC-USD's scalers gives other numbers:
	// the market's scalers are what For changes.
	eth, _ := back.For("ETH-USD")
	s := series["ETH-USD"]
	i := s.Index(cfg.Validation.From)
	a, _ := eth.Pipeline.PredictAt(s.Bars, []int{i})
	b, _ := back.Pipeline.PredictAt(s.Bars, []int{i})
	if a[0] == b[0] {
		t.Errorf("ETH-USD forecast %v with its own scalers and with BTC-USD's", a[0])
	}
	if _, err := back.For("XRP-USD"); !errors.Is(err, artifact.ErrUnknownMarket) || !strings.Contains(err.Error(), "BTC-USD, ETH-USD") {
		t.Errorf("unknown market: %v", err)
	}
}

// With scaler_range symmetric each market keeps its own scalers, widened
// around zero, so a flat day scales to 0.5 in both markets (with the
// data's min..max, BTC-USD's and ETH-USD's zero return lie at different
// scaled levels, which one network must then tell apart).
func TestPrepareGlobalSymmetricSharesTheZero(t *testing.T) {
	cfg, series := smallGlobal(t)
	cfg.ScalerRange = config.RangeMinMax
	plain, err := PrepareGlobal(cfg, series)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ScalerRange = config.RangeSymmetric
	sym, err := PrepareGlobal(cfg, series)
	if err != nil {
		t.Fatal(err)
	}
	zero := func(ds *Dataset) (float64, float64) {
		return ds.Pipeline.Inputs.Scale(0, 0), ds.Pipeline.Output.Scale(0, 0)
	}
	a, b := zero(plain[0])
	c, d := zero(plain[1])
	if a == c || b == d {
		t.Errorf("min..max scalers put both markets' zero at %v/%v and %v/%v", a, b, c, d)
	}
	for k, ds := range sym {
		in, out := zero(ds)
		want := plain[k].Pipeline.Output.Symmetric()
		if in != 0.5 || out != 0.5 || !slices.Equal(ds.Pipeline.Output.Max, want.Max) {
			t.Errorf("%s: zero scales to %v (input) and %v (target); target scaler %+v, want %+v", cfg.Symbols[k], in, out, ds.Pipeline.Output, want)
		}
	}
}
