package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/internal/pgtest"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestBootstrapWithDatabaseUnderRIE runs the real bootstrap under the
// emulator with CLOSECAST_DATABASE_URL naming a PostgreSQL database whose
// registry has a BTC-USD champion: the function serves the champion (and
// the embedded ETH-USD model, which has none), records the live forecast
// it answers in the shared ledger, and serves /api/accuracy with it
// pending. It logs the cold start with a database.
func TestBootstrapWithDatabaseUnderRIE(t *testing.T) {
	rie := findRIE(t)
	url := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	btc, err := models.Embedded("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	v := *btc
	v.Meta.Name = "champ" // Encode names the version after it
	files, err := artifact.Encode(&v)
	if err != nil {
		t.Fatal(err)
	}
	champ, err := db.PutChampion(ctx, files)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	bootstrap := buildBootstrap(t, dir)
	invoke, logs, _ := startRIE(t, rie, dir, bootstrap, "CLOSECAST_OFFLINE=1", "CLOSECAST_YAHOO_URL=http://"+freePort(t),
		"CLOSECAST_DATABASE_URL="+url)

	series, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	last, _ := series.Last()
	live := last.AddDays(1) // the day after the data: its close is not known, a live forecast
	var p struct{ Model, Symbol string }
	r := invoke(v2Event("GET", "/predict", "date="+live.String(), ""))
	if r.StatusCode != 200 || json.Unmarshal([]byte(r.Body), &p) != nil || p.Model != champ.Version {
		t.Fatalf("GET /predict: %d %s, want the champion %s", r.StatusCode, r.Body, champ.Version)
	}
	eth, _ := models.Embedded("ETH-USD")
	if r := invoke(v2Event("GET", "/predict", "symbol=ETH-USD&date=2025-05-01", "")); r.StatusCode != 200 || json.Unmarshal([]byte(r.Body), &p) != nil || p.Model != eth.Meta.Version {
		t.Errorf("GET /predict ETH-USD: %d %s, want the embedded %s", r.StatusCode, r.Body, eth.Meta.Version)
	}
	// The ledger's writer is asynchronous: ask until the forecast shows
	// as pending (each invocation lets the instance run).
	var acc struct {
		N       int  `json:"n"`
		Pending *int `json:"pending"`
	}
	for ctx.Err() == nil {
		r := invoke(v2Event("GET", "/api/accuracy", "", ""))
		if r.StatusCode != 200 || json.Unmarshal([]byte(r.Body), &acc) != nil {
			t.Fatalf("GET /api/accuracy: %d %s", r.StatusCode, r.Body)
		}
		if acc.Pending != nil && *acc.Pending == 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n, err := db.Pending(ctx, "BTC-USD"); err != nil || n != 1 {
		t.Errorf("the shared ledger holds %d pending BTC-USD forecasts (%v), want the one the function answered", n, err)
	}
	initMs, reportInit := parseInit(logs.String())
	t.Logf("RIE with a database: init %.2f ms; REPORT \"Init Duration\" %s", initMs, reportInit)
}
