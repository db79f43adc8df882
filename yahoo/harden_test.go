package yahoo

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/yahoo/yahootest"
)

// Bodies that can never parse fail on the first attempt: retrying would
// only load the provider for the same answer.
func TestFetchFailsFastOnUnparseableBodies(t *testing.T) {
	for name, fault := range map[string]yahootest.Fault{
		"html":      yahootest.HTML(),
		"garbage":   yahootest.Garbage(),
		"truncated": yahootest.Truncated(),
	} {
		t.Run(name, func(t *testing.T) {
			srv, c, _ := newFake(t, april5Noon)
			srv.Inject(fault, fault, fault, fault)
			res, err := c.Fetch(context.Background(), "BTC-USD", d("2026-04-01"), d("2026-04-04"))
			if !errors.Is(err, ErrMalformed) || res.Bars != nil {
				t.Fatalf("got %d bars, err %v; want ErrMalformed and no bars", len(res.Bars), err)
			}
			if errors.Is(err, closecast.ErrUnavailable) {
				t.Errorf("err %v wraps ErrUnavailable: it was retried", err)
			}
			if n := srv.Requests(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// A hanging provider is given up on after Client.Timeout, whatever
// Attempts × AttemptTimeout would allow.
func TestFetchTimeoutBoundsAHangingProvider(t *testing.T) {
	srv, c, _ := newFake(t, april5Noon)
	c.AttemptTimeout = time.Hour
	c.Timeout = 100 * time.Millisecond
	for range DefaultAttempts {
		srv.Inject(yahootest.Hang(time.Hour))
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Fetch(context.Background(), "BTC-USD", d("2026-04-01"), d("2026-04-04"))
		done <- err
	}()
	select {
	case err := <-done:
		var ue *UnavailableError
		if !errors.As(err, &ue) || !errors.Is(err, closecast.ErrUnavailable) || !strings.Contains(err.Error(), "fetch timeout is 100ms") {
			t.Errorf("err %v: want an *UnavailableError naming the 100ms fetch timeout", err)
		}
		if srv.Requests() != 1 {
			t.Errorf("%d requests, want 1 (the one that hung)", srv.Requests())
		}
	case <-time.After(time.Minute): // hang guard only
		t.Fatal("Fetch still running a minute after a 100ms timeout")
	}
	if DefaultTimeout != 30*time.Second {
		t.Errorf("DefaultTimeout %v; the documented bound is 30s", DefaultTimeout)
	}
}

func TestFetchRefusesForeignAnswers(t *testing.T) {
	for _, tc := range []struct {
		fault yahootest.Fault
		want  string
	}{
		{yahootest.ForeignSymbol("ETH-USD"), `yahoo: asked for BTC-USD, the answer is for "ETH-USD"; refused`},
		{yahootest.ForeignCurrency("EUR"), `yahoo: asked for BTC-USD in USD, the answer is in "EUR"; refused`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			srv, c, _ := newFake(t, april5Noon)
			srv.Inject(tc.fault)
			res, err := c.Fetch(context.Background(), "BTC-USD", d("2026-04-01"), d("2026-04-04"))
			var fe *ForeignError
			if !errors.As(err, &fe) || err.Error() != tc.want || res.Bars != nil {
				t.Fatalf("got %d bars, err %v; want %s", len(res.Bars), err, tc.want)
			}
			if srv.Requests() != 1 {
				t.Errorf("%d requests, want 1", srv.Requests())
			}
		})
	}
}

func TestFetchCurrencyExpectation(t *testing.T) {
	for sym, want := range map[string]string{"BTC-USD": "USD", "eth-eur": "EUR", "AAPL": "", "PETR4.SA": "", "^BVSP": "", "X-US": "", "A-U5D": ""} {
		if got := ExpectedCurrency(sym); got != want {
			t.Errorf("ExpectedCurrency(%q) = %q, want %q", sym, got, want)
		}
	}
	// A stock's currency is the exchange's: not checked unless asked for.
	srv, c, _ := newFake(t, april5Noon)
	bars := embedded(t, "2026-03-01", "2026-03-31")
	srv.AddMarket("PETR4.SA", yahootest.B3, bars)
	if _, err := c.Fetch(context.Background(), "PETR4.SA", d("2026-03-02"), d("2026-03-06")); err != nil {
		t.Fatalf("BRL stock, no expectation: %v", err)
	}
	c.Currency = "USD"
	var fe *ForeignError
	if _, err := c.Fetch(context.Background(), "PETR4.SA", d("2026-03-02"), d("2026-03-06")); !errors.As(err, &fe) || fe.Got != "BRL" {
		t.Errorf("BRL stock, USD expected: %v", err)
	}
}

func TestFetchRefusesAbsurdBars(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(*closecast.Bar)
		field string
	}{
		{"1e300", func(b *closecast.Bar) { b.Close, b.High = 1e300, 1e300 }, "High"},
		{"1e-300", func(b *closecast.Bar) { b.Close, b.Low = 1e-300, 1e-300 }, "Low"},
		{"1e-310", func(b *closecast.Bar) { b.Close, b.Low = 1e-310, 1e-310 }, "Low"},
		{"jump", func(b *closecast.Bar) { b.Close, b.High = b.Close*10, b.Close*10 }, "close"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c, bars := newFake(t, april5Noon)
			i := closecast.Series{Bars: bars}.Index(d("2026-04-02"))
			tc.mod(&bars[i])
			srv.AddBars("BTC-USD", bars)
			res, err := c.Fetch(context.Background(), "BTC-USD", d("2026-04-01"), d("2026-04-04"))
			var be *BarError
			if !errors.As(err, &be) || be.Date != d("2026-04-02") || res.Bars != nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("got %d bars, err %v; want a *BarError for 2026-04-02 on %s", len(res.Bars), err, tc.field)
			}
		})
	}
	// The jump limit can be raised for a market that moves like that.
	srv, c, bars := newFake(t, april5Noon)
	i := closecast.Series{Bars: bars}.Index(d("2026-04-02"))
	bars[i].Close, bars[i].High = bars[i].Close*10, bars[i].Close*10
	srv.AddBars("BTC-USD", bars)
	c.MaxJump = 20
	if _, err := c.Fetch(context.Background(), "BTC-USD", d("2026-04-01"), d("2026-04-04")); err != nil {
		t.Errorf("MaxJump 20: %v", err)
	}
}
