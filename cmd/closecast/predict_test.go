package main

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/metrics"
	"github.com/closecast/closecast/pipeline"
)

// predictHorizonJSON runs predict --json and decodes the body generically.
func predictHorizonJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	code, out, errOut := cli(t, nil, append([]string{"predict", "--offline", "--json", "--model", testModelDir(t)}, args...)...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(out), &body); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return body
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestPredictHorizonJSON(t *testing.T) {
	body := predictHorizonJSON(t, "--horizon", "5")
	fc, _ := body["forecasts"].([]any)
	if len(fc) != 5 {
		t.Fatalf("forecasts: %v", body["forecasts"])
	}
	for k, v := range fc {
		f := v.(map[string]any)
		if got := keysOf(f); !slices.Equal(got, []string{"date", "p10", "p50", "p90", "prediction"}) {
			t.Errorf("day %d keys %v", k, got)
		}
		if want := closecast.MustParseDate("2026-04-01").AddDays(k).String(); f["date"] != want {
			t.Errorf("day %d dated %v, want %s", k, f["date"], want)
		}
		p10, p50, p90 := f["p10"].(float64), f["p50"].(float64), f["p90"].(float64)
		if !(p10 <= p50 && p50 <= p90 && p10 < p90) {
			t.Errorf("day %d: p10 %v p50 %v p90 %v", k, p10, p50, p90)
		}
	}
	if first := fc[0].(map[string]any); first["prediction"] != body["prediction"] || first["date"] != body["date"] {
		t.Errorf("day 1 %v, top-level prediction %v on %v", first, body["prediction"], body["date"])
	}
	// The test model is calibrated on its training tail, so auto is conformal.
	iv := body["interval"].(map[string]any)
	cal, _ := iv["calibration"].(map[string]any)
	if iv["method"] != "conformal" || cal == nil || !(cal["days"].(float64) > 10) || iv["samples"] != nil || iv["seed"] != nil ||
		!reflect.DeepEqual(iv["quantiles"], []any{10.0, 50.0, 90.0}) {
		t.Errorf("interval %v", iv)
	}

	// Monte-Carlo dropout: reproducible with one seed, different with another.
	mc := predictHorizonJSON(t, "--horizon", "5", "--interval", "mc_dropout")
	iv = mc["interval"].(map[string]any)
	if iv["method"] != "mc_dropout" || iv["samples"] != 100.0 || iv["seed"] != float64(pipeline.DefaultSeed) || iv["calibration"] != nil {
		t.Errorf("mc_dropout interval %v", iv)
	}
	if again := predictHorizonJSON(t, "--horizon", "5", "--interval", "mc_dropout"); !reflect.DeepEqual(again, mc) {
		t.Errorf("the same request gave a different answer")
	}
	mfc := mc["forecasts"].([]any)
	other := predictHorizonJSON(t, "--horizon", "5", "--seed", "8", "--interval", "mc_dropout")
	if o := other["forecasts"].([]any)[2].(map[string]any); o["p10"] == mfc[2].(map[string]any)["p10"] || o["prediction"] != mfc[2].(map[string]any)["prediction"] {
		t.Errorf("seed 8: day 3 %v, seed 7 %v", o, mfc[2])
	}
	if o := predictHorizonJSON(t, "--horizon", "5", "--samples", "20"); o["interval"].(map[string]any)["method"] != "mc_dropout" {
		t.Errorf("--samples 20 without --interval: %v", o["interval"])
	}

	// Without an interval and horizon the body is exactly the old one.
	plain := predictHorizonJSON(t, "--samples", "0")
	if none := predictHorizonJSON(t, "--interval", "none"); !reflect.DeepEqual(none, plain) {
		t.Errorf("--interval none %v, --samples 0 %v", none, plain)
	}
	if got := keysOf(plain); !slices.Equal(got, []string{"change", "change_pct", "date", "inputs", "last_close", "model", "prediction", "symbol"}) {
		t.Errorf("plain keys %v", got)
	}
	if plain["prediction"] != body["prediction"] {
		t.Errorf("plain forecast %v, horizon day 1 %v", plain["prediction"], body["prediction"])
	}

	// Other levels name their keys; a known day carries its actual.
	q := predictHorizonJSON(t, "--date", "2025-07-10", "--horizon", "2", "--quantiles", "2.5,97.5", "--interval", "mc_dropout")
	f := q["forecasts"].([]any)[1].(map[string]any)
	if got := keysOf(f); !slices.Equal(got, []string{"actual", "date", "p2.5", "p97.5", "prediction"}) || f["actual"] != 117516.9921875 {
		t.Errorf("2025-07-11: %v", f)
	}
	// A conformal 95 % interval needs more calibration days than the tiny model has.
	code, _, errOut := cli(t, nil, "predict", "--offline", "--model", testModelDir(t), "--quantiles", "2.5,97.5", "--interval", "conformal")
	if code != 1 || !strings.Contains(errOut, "too few") {
		t.Errorf("conformal 2.5..97.5 on a small calibration: exit %d %s", code, errOut)
	}
}

func TestPredictHorizonTableAndUsageErrors(t *testing.T) {
	code, out, errOut := cli(t, nil, "predict", "--offline", "--horizon", "3", "--model", testModelDir(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(out, "\n")
	header := -1
	for k, l := range lines {
		if f := strings.Fields(l); slices.Equal(f, []string{"date", "forecast", "p10", "p50", "p90", "actual"}) {
			header = k
		}
	}
	if header < 0 || header+3 >= len(lines) {
		t.Fatalf("no table:\n%s", out)
	}
	for k := range 3 {
		f := strings.Fields(lines[header+1+k])
		if len(f) != 6 || f[0] != closecast.MustParseDate("2026-04-01").AddDays(k).String() || f[5] != "-" {
			t.Errorf("row %d: %q", k, lines[header+1+k])
		}
	}
	for _, args := range [][]string{{"--horizon", "0"}, {"--horizon", "400"}, {"--samples", "1"}, {"--quantiles", "90,10"}, {"--quantiles", "0,50"}, {"--quantiles", "ten"}} {
		code, _, errOut := cli(t, nil, append([]string{"predict", "--offline", "--model", testModelDir(t)}, args...)...)
		if code != 2 || errOut == "" {
			t.Errorf("%v: exit %d %q, want a usage error", args, code, errOut)
		}
	}
}

// evaluate's intervals of a day are the intervals predict prints for it,
// and their coverage is the share of days inside them, recomputed here: the
// Monte-Carlo one from the library's samples, the conformal one from the
// model's calibration scores and the volatility computed by hand.
func TestEvaluateIntervalMatchesPredictAndLibrary(t *testing.T) {
	dir := testModelDir(t)
	code, out, errOut := cli(t, nil, "evaluate", "--model", dir, "--from", "2025-06-01", "--to", "2025-07-16", "--json", "--samples", "50")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var ev struct {
		N         int
		Intervals []evaluate.Interval
	}
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Intervals) != 2 || ev.Intervals[0].Method != "conformal" || ev.Intervals[1].Method != "mc_dropout" {
		t.Fatalf("intervals %+v, want conformal then mc_dropout", ev.Intervals)
	}
	m, err := artifact.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	scores := m.Pipeline.Calibration.Scores[0]
	n := len(scores)
	qlo, qhi := float64(scores[int(math.Floor(0.1*float64(n+1)))-1]), float64(scores[int(math.Ceil(0.9*float64(n+1)))-1])
	s, _ := marketdata.EmbeddedSeries("BTC-USD")
	inMC, inConf := 0, 0
	for d := closecast.MustParseDate("2025-06-01"); d <= closecast.MustParseDate("2025-07-16"); d++ {
		i := s.Index(d)
		smp, err := m.Pipeline.SampleAt(s.Bars, []int{i}, 50, pipeline.DefaultSeed)
		if err != nil {
			t.Fatal(err)
		}
		q := pipeline.Quantiles(smp[0], []float64{0.1, 0.9})
		c := s.Bars[i].Close
		if c >= q[0] && c <= q[1] {
			inMC++
		}
		var rs []float64
		for j := i - 30; j < i; j++ {
			rs = append(rs, math.Log(s.Bars[j].Close/s.Bars[j-1].Close))
		}
		sigma := metrics.Describe(rs).Std
		v, _ := m.Pipeline.PredictAt(s.Bars, []int{i})
		lo, hi := v[0]*math.Exp(qlo*sigma), v[0]*math.Exp(qhi*sigma)
		if c >= lo && c <= hi {
			inConf++
		}
		if d == closecast.MustParseDate("2025-07-10") {
			body := predictHorizonJSON(t, "--date", d.String(), "--samples", "50")
			f := body["forecasts"].([]any)[0].(map[string]any)
			if f["p10"] != q[0] || f["p90"] != q[1] {
				t.Errorf("%s: predict p10..p90 %v..%v, evaluate's %v..%v", d, f["p10"], f["p90"], q[0], q[1])
			}
			body = predictHorizonJSON(t, "--date", d.String(), "--interval", "conformal")
			f = body["forecasts"].([]any)[0].(map[string]any)
			if math.Abs(f["p10"].(float64)-lo) > 1e-9*lo || math.Abs(f["p90"].(float64)-hi) > 1e-9*hi {
				t.Errorf("%s: conformal predict p10..p90 %v..%v, recomputed %v..%v", d, f["p10"], f["p90"], lo, hi)
			}
		}
	}
	conf, mc := ev.Intervals[0], ev.Intervals[1]
	if ev.N != 46 || mc.N != 46 || mc.Level != 80 || mc.Samples != 50 || math.Abs(mc.Coverage-100*float64(inMC)/46) > 1e-9 || !(mc.Width > 0) {
		t.Errorf("mc_dropout interval %+v; recomputed coverage %v", mc, 100*float64(inMC)/46)
	}
	if conf.N != 46 || conf.Level != 80 || conf.Samples != 0 || math.Abs(conf.Coverage-100*float64(inConf)/46) > 1e-9 || !(conf.Width > 0) {
		t.Errorf("conformal interval %+v; recomputed coverage %v", conf, 100*float64(inConf)/46)
	}

	// Without a range: the model's hold-out and validation windows.
	code, out, errOut = cli(t, nil, "evaluate", "--model", dir, "--json", "--samples", "20")
	if code != 0 {
		t.Fatalf("windows: exit %d: %s", code, errOut)
	}
	var both map[string]struct {
		N         int
		From, To  string
		Intervals []evaluate.Interval
	}
	if err := json.Unmarshal([]byte(out), &both); err != nil {
		t.Fatal(err)
	}
	h, v := both["holdout"], both["validation"]
	if len(both) != 2 || h.From != m.Meta.Metrics.Holdout.From.String() || h.N != m.Meta.Metrics.Holdout.N ||
		v.From != "2025-06-01" || v.N != 46 || len(h.Intervals) != 2 || len(v.Intervals) != 2 || h.Intervals[0].N != h.N {
		t.Errorf("windows: %s", out)
	}
	if code, _, _ := cli(t, nil, "evaluate", "--model", dir, "--from", "2025-06-01"); code != 2 {
		t.Errorf("--from without --to: exit %d, want 2", code)
	}
}

// FuzzQuantilesFlag: --quantiles either fails or yields strictly ascending
// percents strictly between 0 and 100 whose printed form parses back to the
// same levels.
func FuzzQuantilesFlag(f *testing.F) {
	for _, s := range []string{"10,50,90", "2.5,97.5", "50", "90,10", "0,100", "10,,90", " 5 , 95 ", "NaN", "1e1,9e1", "-5,5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var q quantilesFlag
		if err := q.Set(s); err != nil {
			if len(q) != 0 {
				t.Fatalf("%q: error %v but levels %v", s, err, q)
			}
			return
		}
		for k, v := range q {
			if !(v > 0 && v < 100) || (k > 0 && v <= q[k-1]) {
				t.Fatalf("%q gave levels %v", s, q)
			}
		}
		var back quantilesFlag
		if err := back.Set(q.String()); err != nil || !slices.Equal(back, q) {
			t.Fatalf("%q → %v → %q → %v %v", s, q, q.String(), back, err)
		}
	})
}

// evaluate --horizon adds one entry per step ahead, step 1 being the
// one-step evaluation above it.
func TestEvaluateHorizonJSON(t *testing.T) {
	code, out, errOut := cli(t, nil, "evaluate", "--model", testModelDir(t), "--from", "2025-06-01", "--to", "2025-07-16", "--json", "--samples", "0", "--horizon", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var ev struct {
		N       int
		Model   metrics.Metrics
		Horizon []evaluate.HorizonStep
	}
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Horizon) != 3 || ev.Horizon[0].N != ev.N || ev.Horizon[0].Model != ev.Model || ev.Horizon[2].N != ev.N-2 || ev.Horizon[2].Coverage == nil {
		t.Errorf("horizon %+v for a %d-day evaluation", ev.Horizon, ev.N)
	}
	if code, _, _ := cli(t, nil, "evaluate", "--model", testModelDir(t), "--horizon", "0"); code != 2 {
		t.Errorf("--horizon 0: exit %d, want 2", code)
	}
}
