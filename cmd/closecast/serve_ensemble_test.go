package main

import (
	"context"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/predict"
)

// TestServeIntervalEnsemble: serve --interval ensemble --adaptive faci
// answers interval auto (what the dashboard asks) with the ensemble, the
// same quantiles as the library's, and conformal when asked by name.
func TestServeIntervalEnsemble(t *testing.T) {
	base, _, stop := startServeWith(t, map[string]string{"CLOSECAST_HOME": t.TempDir()}, nil, "--interval", "ensemble", "--adaptive", "faci")
	defer stop()
	m, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := marketdata.EmbeddedSeries(m.Meta.Symbol)
	last, _ := s.Last()
	date := last + 1
	svc := predict.New(m, history.New(marketdata.Embedded(), nil, nil))
	want, err := svc.PredictHorizon(context.Background(), "", date, closecast.HorizonOptions{Horizon: 2, Interval: closecast.IntervalEnsemble})
	if err != nil {
		t.Fatal(err)
	}
	type reply struct {
		Forecasts []struct {
			P10, P50, P90 float64
		} `json:"forecasts"`
		Interval struct {
			Method string `json:"method"`
		} `json:"interval"`
	}
	got := getJSON[reply](t, "POST", base+"/predict", `{"date":"`+date.String()+`","horizon":2}`)
	if got.Interval.Method != closecast.IntervalEnsemble || len(got.Forecasts) != 2 {
		t.Fatalf("interval auto: %+v", got)
	}
	for k, f := range got.Forecasts {
		q := want.Days[k].Quantiles
		if f.P10 != q[0] || f.P50 != q[1] || f.P90 != q[2] {
			t.Errorf("day %d: %v %v %v, the library's ensemble %v", k, f.P10, f.P50, f.P90, q)
		}
	}
	got = getJSON[reply](t, "GET", base+"/predict?horizon=2&interval=conformal&date="+date.String(), "")
	if got.Interval.Method != closecast.IntervalConformal {
		t.Errorf("interval conformal answered %q", got.Interval.Method)
	}
}
