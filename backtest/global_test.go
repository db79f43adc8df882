package backtest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/train"
)

// smallGlobal is the embedded bars of BTC-USD and ETH-USD, a global
// backtest's series.
func smallGlobal(t *testing.T) map[string]closecast.Series {
	t.Helper()
	out := map[string]closecast.Series{}
	for _, sym := range []string{"BTC-USD", "ETH-USD"} {
		s, err := marketdata.EmbeddedSeries(sym)
		if err != nil {
			t.Fatal(err)
		}
		out[sym] = s
	}
	return out
}

// TestRunGlobalScoresEachMarket: a global config's backtest gives one
// Result per market, each market's days forecast by its view of the fold's
// global model, which was trained on both markets' bars before the fold
// only: fold 0's ETH-USD forecasts are those of a global model trained
// apart on the bars before its first day, scored by evaluate.OneStep.
// Sharded over two parts through JSON, the merged Results are RunGlobal's.
func TestRunGlobalScoresEachMarket(t *testing.T) {
	cfg := small()
	cfg.Symbols = []string{"BTC-USD", "ETH-USD"}
	series := smallGlobal(t)
	opt := Options{From: btFrom, To: btTo, RetrainEvery: 7, Workers: 2}
	rs, err := RunGlobal(context.Background(), cfg, series, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("%d results, want one per market", len(rs))
	}
	for m, sym := range cfg.Symbols {
		r := rs[m]
		if r.Symbol != sym || r.N != 20 || len(r.Folds) != 3 || r.From != btFrom || r.To != btTo {
			t.Fatalf("%s: symbol %q, n %d, %d folds, %s..%s", sym, r.Symbol, r.N, len(r.Folds), r.From, r.To)
		}
		s := series[sym]
		for _, d := range r.Days {
			if d.Actual != s.Bars[s.Index(d.Date)].Close {
				t.Fatalf("%s %s: actual %v is not the market's close", sym, d.Date, d.Actual)
			}
		}
	}

	// Fold 0 of ETH-USD, done by hand.
	fc := FoldConfig(cfg, btFrom)
	past := map[string]closecast.Series{}
	for sym, s := range series {
		past[sym] = closecast.Series{Symbol: s.Symbol, Bars: s.Bars[:s.Search(btFrom)]}
	}
	res, err := train.RunGlobal(context.Background(), fc, past, train.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := artifact.Encode(res.Model); err != nil { // fills the metadata For reads
		t.Fatal(err)
	}
	eth, err := res.Model.For("ETH-USD")
	if err != nil {
		t.Fatal(err)
	}
	f0 := rs[1].Folds[0]
	_, pts, err := evaluate.OneStep(eth.Pipeline, series["ETH-USD"].Bars, f0.From, f0.To)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 7 {
		t.Fatalf("fold 0: %d days by hand, want 7", len(pts))
	}
	for j, pt := range pts {
		if d := rs[1].Days[j]; d.Date != pt.Date || d.Predicted != pt.Predicted {
			t.Errorf("ETH-USD %s: backtest %v, the fold's global model %v", pt.Date, d.Predicted, pt.Predicted)
		}
		if rs[0].Days[j].Predicted == pt.Predicted {
			t.Errorf("BTC-USD %s forecast as ETH-USD: %v", pt.Date, pt.Predicted)
		}
	}

	var parts []GlobalPart
	for i := 1; i >= 0; i-- { // any order
		got, err := RunPartGlobal(context.Background(), cfg, series, opt, func(k int) bool { return k%2 == i })
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(got)
		var back []GlobalPart
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, back...)
	}
	if n, err := FoldsGlobal(cfg, series, opt); err != nil || n != len(parts) {
		t.Fatalf("FoldsGlobal: %d, %v; %d parts", n, err, len(parts))
	}
	merged, err := MergeGlobal(cfg, series, opt, parts)
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range [][]*Result{rs, merged} {
		for _, r := range set {
			for k := range r.Folds {
				r.Folds[k].Training.Seconds, r.Folds[k].Training.SecondsEpoch = 0, 0
			}
		}
	}
	g, _ := json.Marshal(merged)
	w, _ := json.Marshal(rs)
	if string(g) != string(w) {
		t.Fatalf("merged:\n%s\nRunGlobal:\n%s", g, w)
	}
	if _, err := MergeGlobal(cfg, series, opt, parts[1:]); err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Errorf("merge without one fold: %v", err)
	}
	if _, err := RunGlobal(context.Background(), small(), series, opt); err == nil || !strings.Contains(err.Error(), "names one market") {
		t.Errorf("a per-symbol config: %v", err)
	}
}
