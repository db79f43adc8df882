package serving

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/internal/testmodel"
	"github.com/closecast/closecast/server"
	"github.com/closecast/closecast/sqlite"
)

// TestQuantileHeadDistributionAndAdaptation: serving a quantile head (the
// shipped quantile config, cut to seconds), the ledger records the head's
// own 21 quantiles of a live forecast, and its live interval
// (quantile_head) is adapted from the scored ones.
func TestQuantileHeadDistributionAndAdaptation(t *testing.T) {
	m, s := testmodel.QuantileHead(t)
	m.Meta.Version = "qhead-test" // the ledger keys forecasts by it
	db, err := sqlite.Open(filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	last, _ := s.Last()
	if _, _, err := db.Upsert(context.Background(), m.Meta.Symbol, s.Between(last.AddDays(-20), last).Bars); err != nil {
		t.Fatal(err)
	}
	c := New(Options{Model: m, Store: db, Server: server.Config{Ledger: db}})
	e := &liveEnv{m: m, db: db, chain: c, series: s, last: last}
	defer c.Close(context.Background())

	// A plain forecast of the day after the data records the head's own
	// quantiles of that day.
	var plain struct {
		Prediction float64 `json:"prediction"`
	}
	e.get(t, "/predict?date="+(last+1).String(), &plain)
	own, err := m.Pipeline.QuantilesAt(s.Bars, []int{len(s.Bars)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	es, err := db.LedgerEntries(context.Background())
	if err != nil || len(es) != 1 || es[0].Quantiles == nil {
		t.Fatalf("ledger %+v, %v; want one forecast with 21 quantiles", es, err)
	}
	for k, v := range es[0].Quantiles {
		if v != own[0][k] {
			t.Fatalf("recorded quantile %v = %v, the head's %v", closecast.DistributionLevels[k], v, own[0][k])
		}
	}

	// With scored forecasts, the head's live interval is adapted.
	c = New(Options{Model: m, Store: db, Server: server.Config{Ledger: db}})
	defer c.Close(context.Background())
	e.chain = c
	e.record(t, last, 10, func(int) float64 { return 0.02 }, nil)
	var got predictBody
	e.get(t, "/predict?interval=auto&date="+(last+1).String(), &got)
	if a := got.Forecasts[0].Adaptive; a == nil || a.N != 10 || a.Method != closecast.AdaptiveACI {
		t.Errorf("quantile head's live interval: adaptive %+v; want ACI from 10 scored", a)
	}
}
