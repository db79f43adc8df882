package serving

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast/internal/pgtest"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/postgres"
	"github.com/closecast/closecast/server"
)

// TestPostgresStoppedMidLoad: with the store and the ledger on PostgreSQL,
// stopping the database makes no /predict answer a 500: forecasts come
// from the embedded data (200); /readyz reports the database (503). The
// live forecasts answered during the outage are all in the ledger once
// the database is back (counted with Pending).
func TestPostgresStoppedMidLoad(t *testing.T) {
	c := pgtest.Stoppable(t)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	db, err := postgres.Open(ctx, c.NewDatabase(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms := embeddedModels(t)
	health := func() error { return db.Ping(context.Background()) }
	chain := New(Options{Models: ms, Store: db, Server: server.Config{Ledger: db, StoreHealth: health}})
	defer chain.Close(context.Background())
	ts := httptest.NewServer(chain)
	defer ts.Close()
	get := func(target string) (int, string) {
		resp, err := http.Get(ts.URL + target)
		if err != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		var v json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&v)
		b.Write(v)
		return resp.StatusCode, b.String()
	}
	// Warm: a backtest day of each market while the database is up.
	for _, m := range ms {
		if code, body := get("/predict?symbol=" + m.Meta.Symbol + "&date=2025-05-01"); code != 200 {
			t.Fatalf("before the outage: %d %s", code, body)
		}
	}

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			_ = c.Start()
		}
	}()
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "store") {
		t.Errorf("/readyz with the database down: %d %s", code, body)
	}
	live := 0
	for _, m := range ms {
		series, err := marketdata.EmbeddedSeries(m.Meta.Symbol)
		if err != nil {
			t.Fatal(err)
		}
		last, _ := series.Last()
		for _, d := range []string{"2025-05-01", last.String(), last.AddDays(1).String()} {
			code, body := get("/predict?symbol=" + m.Meta.Symbol + "&date=" + d)
			if code != 200 && code != 503 {
				t.Errorf("/predict %s %s with the database down: %d %s, want 200 or 503", m.Meta.Symbol, d, code, body)
			}
			if code == 200 && d == last.AddDays(1).String() {
				live++ // a day not closed yet: queued for the ledger
			}
		}
	}
	if live != len(ms) {
		t.Errorf("%d live forecasts answered during the outage, want %d (one per market, from the embedded data)", live, len(ms))
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	recorded := 0
	for ctx.Err() == nil {
		recorded = 0
		for _, m := range ms {
			n, err := db.Pending(ctx, m.Meta.Symbol)
			if err == nil {
				recorded += n
			}
		}
		if recorded == live {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if recorded != live {
		t.Errorf("%d of the %d forecasts answered during the outage reached the ledger", recorded, live)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz after the restart: %d %s", code, body)
	}
}
