package predict

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/sqlite"
	"github.com/closecast/closecast/train"
	"github.com/closecast/closecast/yahoo"
	"github.com/closecast/closecast/yahoo/yahootest"
)

var d = closecast.MustParseDate

// tinyModel trains a small log-return model for one epoch: real weights,
// fast to make.
var tinyModel = sync.OnceValues(func() (*artifact.Model, error) {
	cfg, err := shipped.Load("default")
	if err != nil {
		return nil, err
	}
	cfg.Units, cfg.Epochs = 4, 1
	cfg.Data.From = d("2024-01-01")
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		return nil, err
	}
	r, err := train.Run(context.Background(), cfg, s, train.Options{})
	if err != nil {
		return nil, err
	}
	return r.Model, nil
})

func service(t *testing.T, src closecast.Source) (*Service, *artifact.Model) {
	t.Helper()
	m, err := tinyModel()
	if err != nil {
		t.Fatal(err)
	}
	return New(m, src), m
}

func TestPredictUsesTheWindowEndingTheDayBefore(t *testing.T) {
	svc, m := service(t, marketdata.Embedded())
	s, _ := marketdata.EmbeddedSeries("BTC-USD")
	p, err := svc.Predict(context.Background(), "", d("2025-06-01"))
	if err != nil {
		t.Fatal(err)
	}
	i := s.Index(d("2025-06-01"))
	want, err := m.Pipeline.PredictAt(s.Bars, []int{i})
	if err != nil {
		t.Fatal(err)
	}
	if p.Value != want[0] || p.Symbol != "BTC-USD" || p.Model != m.Meta.Version {
		t.Errorf("prediction %+v, want value %v", p, want[0])
	}
	if p.InputTo != d("2025-05-31") || p.InputFrom != d("2025-04-02") || p.LastClose != s.Bars[i-1].Close {
		t.Errorf("input window %s..%s last close %v", p.InputFrom, p.InputTo, p.LastClose)
	}
	if p.Actual == nil || *p.Actual != s.Bars[i].Close {
		t.Errorf("actual %v, want %v", p.Actual, s.Bars[i].Close)
	}
	// A log-return model's forecast stays near the last close.
	if math.Abs(p.Value/p.LastClose-1) > 0.2 {
		t.Errorf("forecast %v is implausibly far from the last close %v", p.Value, p.LastClose)
	}
}

func TestPredictRange(t *testing.T) {
	svc, m := service(t, marketdata.Embedded())
	ctx := context.Background()
	// The day after the last embedded close can be forecast; it has no actual.
	p, err := svc.Predict(ctx, "btc-usd", d("2026-04-01"))
	if err != nil || p.Actual != nil || p.InputTo != d("2026-03-31") {
		t.Fatalf("2026-04-01: %+v %v", p, err)
	}
	first := d("2014-09-17").AddDays(m.Pipeline.History())
	for _, day := range []closecast.Date{d("2026-04-02"), d("2014-10-01"), first - 1, d("1999-01-01")} {
		_, err := svc.Predict(ctx, "BTC-USD", day)
		var re *closecast.RangeError
		if !errors.As(err, &re) {
			t.Fatalf("%s: %v, want a RangeError", day, err)
		}
		if re.Earliest != first || re.Latest != d("2026-04-01") || re.Date != day {
			t.Errorf("%s: range %s..%s", day, re.Earliest, re.Latest)
		}
	}
	if _, err := svc.Predict(ctx, "BTC-USD", first); err != nil {
		t.Errorf("earliest day %s: %v", first, err)
	}
	if _, err := svc.Predict(ctx, "ETH-USD", d("2025-01-01")); !errors.Is(err, closecast.ErrUnknownSymbol) {
		t.Errorf("other symbol: %v", err)
	}
}

// liveSource layers a store and a fake Yahoo over the embedded data. The
// fake serves ten made-up days after the embedded data (a steady 1 % rise,
// returned as extra) and its clock is 01:00 on 2026-04-11, so 2026-04-10 is
// the last final day.
func liveSource(t *testing.T) (*yahootest.Server, *sqlite.DB, *history.Layered, []closecast.Bar) {
	t.Helper()
	srv := yahootest.New()
	t.Cleanup(srv.Close)
	all, _ := marketdata.EmbeddedSeries("BTC-USD")
	extra := make([]closecast.Bar, 10)
	c := all.Bars[len(all.Bars)-1].Close
	for k := range extra {
		c *= 1.01
		extra[k] = closecast.Bar{Date: d("2026-04-01").AddDays(k), Open: c / 1.01, High: c * 1.005, Low: c / 1.02, Close: c, Volume: 1e9}
	}
	srv.AddBars("BTC-USD", append(append([]closecast.Bar(nil), all.Bars...), extra...))
	srv.Now = func() time.Time { return d("2026-04-11").Time().Add(time.Hour) }
	store, err := sqlite.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	client := &yahoo.Client{BaseURL: srv.URL, BackoffBase: time.Millisecond, Now: srv.Now}
	return srv, store, history.New(marketdata.Embedded(), store, client, history.WithClock(srv.Now)), extra
}

// Past the embedded data, the layered source fetches the missing days from
// (a fake) Yahoo once, stores them, and the forecast uses them.
func TestPredictFetchesMissingDays(t *testing.T) {
	srv, store, src, extra := liveSource(t)
	svc, _ := service(t, src)
	p, err := svc.Predict(context.Background(), "BTC-USD", d("2026-04-11"))
	if err != nil {
		t.Fatal(err)
	}
	if p.InputTo != d("2026-04-10") || p.LastClose != extra[9].Close {
		t.Fatalf("input ends %s with close %v, want 2026-04-10 %v", p.InputTo, p.LastClose, extra[9].Close)
	}
	if _, last, ok, _ := store.Range(context.Background(), "BTC-USD"); !ok || last != d("2026-04-10") {
		t.Errorf("store holds up to %s (%v)", last, ok)
	}
	n := srv.Requests()
	if _, err := svc.Predict(context.Background(), "BTC-USD", d("2026-04-05")); err != nil {
		t.Fatal(err)
	}
	if srv.Requests() != n {
		t.Errorf("a forecast inside the stored range asked Yahoo again (%d → %d requests)", n, srv.Requests())
	}
}
