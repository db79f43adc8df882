package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/marketdata"
)

// TestEnsembleInterval: /predict's "interval": "ensemble" answers the
// service's ensemble quantiles (p10/p50/p90 and any of its 21 levels),
// the model's point forecast, and clear 400s for what it cannot answer.
func TestEnsembleInterval(t *testing.T) {
	e, svc, m := shippedModelEnv(t)
	ctx := context.Background()
	last, err := svc.LastKnown(ctx, m.Meta.Symbol)
	if err != nil {
		t.Fatal(err)
	}
	date := last + 1
	b := askQuantiles(t, e, "date="+date.String()+"&horizon=3&interval=ensemble&quantiles=2.5,50,97.5",
		`{"date":"`+date.String()+`","horizon":3,"interval":"ensemble","quantiles":[2.5,50,97.5]}`)
	want, err := svc.PredictHorizon(ctx, "", date, closecast.HorizonOptions{Horizon: 3, Interval: closecast.IntervalEnsemble, Levels: closecast.DistributionLevels[:]})
	if err != nil {
		t.Fatal(err)
	}
	if b.Interval == nil || b.Interval.Method != closecast.IntervalEnsemble || len(b.Forecasts) != 3 {
		t.Fatalf("answer %+v", b)
	}
	for k, f := range b.Forecasts {
		q := want.Days[k].Quantiles
		if f.P10 == nil || *f.P10 != q[closecast.DistributionP10] || *f.P50 != q[closecast.DistributionMedian] || *f.P90 != q[closecast.DistributionP90] {
			t.Errorf("day %d: p10/p50/p90 %v %v %v, the ensemble's %v %v %v", k, f.P10, f.P50, f.P90, q[2], q[10], q[18])
		}
		if f.Quantiles["2.5"] != q[0] || f.Quantiles["50"] != q[10] || f.Quantiles["97.5"] != q[20] {
			t.Errorf("day %d: quantiles %v, the ensemble's 2.5/50/97.5 %v %v %v", k, f.Quantiles, q[0], q[10], q[20])
		}
	}
	var pred struct {
		Prediction float64 `json:"prediction"`
	}
	w := e.do("GET", "/predict?date="+date.String()+"&interval=ensemble", "")
	if err := json.Unmarshal(w.Body.Bytes(), &pred); w.Code != 200 || err != nil || pred.Prediction != want.Days[0].Value {
		t.Errorf("one day: %d %s, want the model's prediction %v", w.Code, w.Body, want.Days[0].Value)
	}

	s, _ := marketdata.EmbeddedSeries(m.Meta.Symbol)
	early := s.Bars[m.Pipeline.History()+10].Date
	for _, tc := range []struct {
		query, code, says string
	}{
		{"interval=garch", codeInvalidInterval, `\"ensemble\"`},
		{"interval=ensemble&quantiles=7", codeInvalidQuantiles, "the ensemble interval forecasts the levels 2.5, 5, 10"},
		{"interval=ensemble&samples=20", codeInvalidSamples, "mc_dropout interval only"},
	} {
		w := e.do("GET", "/predict?date="+date.String()+"&"+tc.query, "")
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"code":"`+tc.code+`"`) || !strings.Contains(w.Body.String(), tc.says) {
			t.Errorf("%s: %d %s, want 400 %s saying %s", tc.query, w.Code, w.Body, tc.code, tc.says)
		}
	}
	w = e.do("GET", "/predict?date="+early.String()+"&interval=ensemble", "")
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"code":"invalid_interval"`) || !strings.Contains(w.Body.String(), "too little history") {
		t.Errorf("%s: %d %s, want 400 invalid_interval", early, w.Code, w.Body)
	}
}
