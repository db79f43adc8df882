package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/internal/pgtest"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/postgres"
	"github.com/closecast/closecast/yahoo"
	"github.com/closecast/closecast/yahoo/yahootest"
)

// TestTwoReplicasFetchOnce: two processes' Layered (two pools on one
// database), both missing the same new days, make one Yahoo request between
// them, and both answer with the fetched days, stored once.
func TestTwoReplicasFetchOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	emb, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	last := emb.Bars[len(emb.Bars)-1]
	bars := append([]closecast.Bar(nil), emb.Bars...)
	for k := 1; k <= 3; k++ {
		c := last.Close * (1 + 0.01*float64(k))
		bars = append(bars, closecast.Bar{Date: last.Date.AddDays(k), Open: c, High: c * 1.01, Low: c * 0.99, Close: c, Volume: 1e9})
	}
	srv := yahootest.New()
	t.Cleanup(srv.Close)
	srv.AddBars("BTC-USD", bars)
	now := last.Date.AddDays(4).Time().Add(12 * time.Hour)
	srv.Now = func() time.Time { return now }

	url := pgtest.NewDatabase(t)
	var dbs [2]*postgres.DB
	var ls [2]*history.Layered
	for i := range dbs {
		db, err := postgres.Open(ctx, url, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
		live := &yahoo.Client{BaseURL: srv.URL, Now: srv.Now}
		ls[i] = history.New(marketdata.Embedded(), db, live, history.WithClock(srv.Now), history.WithRefresh(time.Hour))
		// Each replica reads what it knows before the new days exist
		// anywhere: both then need to fetch them.
		if _, err := ls[i].Bars(ctx, "BTC-USD", last.Date.AddDays(-5), last.Date); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Requests(); n != 0 {
		t.Fatalf("%d requests before the new days were needed", n)
	}

	// The test holds the lease, so both replicas queue on it: whichever
	// gets it next fetches, the other finds the days stored.
	unlock, err := dbs[0].LockFetch(ctx, "btc-usd")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var got [2]closecast.Series
	var errs [2]error
	for i := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = ls[i].Bars(ctx, "BTC-USD", last.Date, last.Date.AddDays(3))
		}()
	}
	unlock()
	wg.Wait()
	for i := range ls {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if got[i].Len() != 4 || got[i].Bars[3] != bars[len(bars)-1] {
			t.Fatalf("replica %d answered %v, want the last known day and the 3 new ones", i, got[i].Bars)
		}
	}
	if n := srv.Requests(); n != 1 {
		t.Errorf("Yahoo got %d requests from two replicas needing the same days, want 1", n)
	}
	s0, s1 := ls[0].Stats(), ls[1].Stats()
	if s0.Stored+s1.Stored != 1 || s0.Failures+s1.Failures != 0 {
		t.Errorf("stats %+v and %+v: want one fetch found stored, no failure", s0, s1)
	}
	// One row per day, and a third process reads them without fetching.
	stored, err := dbs[1].Bars(ctx, "BTC-USD", last.Date.AddDays(1), last.Date.AddDays(3))
	if err != nil || stored.Len() != 3 {
		t.Fatalf("store holds %v, %v; want the 3 new days", stored.Bars, err)
	}
	fetches, err := dbs[0].Fetches(ctx, "BTC-USD", 10)
	if err != nil || len(fetches) != 1 || fetches[0].Added != 3 {
		t.Fatalf("fetch log %+v, %v: want one fetch that added 3 bars", fetches, err)
	}
	third := history.New(marketdata.Embedded(), dbs[1], &yahoo.Client{BaseURL: srv.URL, Now: srv.Now}, history.WithClock(srv.Now))
	if s, err := third.Bars(ctx, "BTC-USD", last.Date, last.Date.AddDays(3)); err != nil || s.Len() != 4 {
		t.Fatalf("a third replica read %v, %v", s.Bars, err)
	}
	if n := srv.Requests(); n != 1 {
		t.Errorf("a third replica asked Yahoo again: %d requests", n)
	}
}
