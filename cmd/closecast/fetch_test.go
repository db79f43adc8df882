package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/yahoo"
	"github.com/closecast/closecast/yahoo/yahootest"
)

// fakeYahoo serves the embedded BTC-USD history plus n made-up days after
// it, with a clock in the middle of the day after those.
func fakeYahoo(t *testing.T, n int) (*yahootest.Server, []closecast.Bar) {
	t.Helper()
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	bars := append([]closecast.Bar(nil), s.Bars...)
	last := bars[len(bars)-1]
	for k := 1; k <= n; k++ {
		c := last.Close * (1 + 0.01*float64(k%3-1))
		bars = append(bars, closecast.Bar{Date: last.Date.AddDays(k), Open: c, High: c * 1.01, Low: c * 0.99, Close: c, Volume: 1e9})
	}
	srv := yahootest.New()
	t.Cleanup(srv.Close)
	srv.AddBars("BTC-USD", bars)
	srv.Now = func() time.Time { return last.Date.AddDays(n + 1).Time().Add(12 * time.Hour) }
	return srv, bars
}

// cliWith runs a command with a fixed CLOSECAST_HOME and a fast Yahoo client.
func cliWith(t *testing.T, home string, srv *yahootest.Server, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb,
		getenv: func(k string) string {
			switch k {
			case "CLOSECAST_HOME":
				return home
			case yahooURLEnv:
				return srv.URL
			}
			return ""
		},
		tuneYahoo: func(c *yahoo.Client) {
			c.BackoffBase, c.BackoffMax, c.AttemptTimeout, c.Now = time.Millisecond, 1500*time.Millisecond, 200*time.Millisecond, srv.Now
		},
	}
	return run(context.Background(), args, e), out.String(), errb.String()
}

func TestFetchAddsBarsAfterTheEmbeddedData(t *testing.T) {
	srv, bars := fakeYahoo(t, 5)
	home := t.TempDir()
	code, out, errOut := cliWith(t, home, srv, "fetch", "--symbol", "BTC-USD")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "5 added, 0 updated") || !strings.Contains(out, "2026-04-01 .. 2026-04-05") {
		t.Fatalf("fetch output: %q", out)
	}
	// The new days are now part of every command's data.
	code, csv, _ := cliWith(t, home, srv, "data", "--from", "2026-03-31", "--to", "2026-04-05")
	if code != 0 || strings.Count(csv, "\n") != 7 || !strings.Contains(csv, bars[len(bars)-1].Date.String()) {
		t.Fatalf("data after fetch:\n%s", csv)
	}
	// Fetching again asks only for days after the last one and adds nothing.
	code, out, _ = cliWith(t, home, srv, "fetch")
	if code != 0 || !strings.Contains(out, "0 added") && !strings.Contains(out, "up to date") {
		t.Fatalf("second fetch: %d %q", code, out)
	}
}

func TestFetchSurvivesFaultsWithTheStoreUnchanged(t *testing.T) {
	faults := map[string]func() yahootest.Fault{
		"429":  func() yahootest.Fault { return yahootest.TooManyRequests(time.Millisecond) },
		"500":  func() yahootest.Fault { return yahootest.ServerError(500) },
		"503":  func() yahootest.Fault { return yahootest.ServerError(503) },
		"hang": func() yahootest.Fault { return yahootest.Hang(2 * time.Second) },
	}
	for name, fault := range faults {
		t.Run(name, func(t *testing.T) {
			srv, _ := fakeYahoo(t, 3)
			home := t.TempDir()
			// Seed the store with a first fetch, then snapshot it.
			if code, _, errOut := cliWith(t, home, srv, "fetch", "--from", "2026-03-30", "--to", "2026-04-01"); code != 0 {
				t.Fatalf("seed fetch: %s", errOut)
			}
			_, before, _ := cliWith(t, home, srv, "data", "--from", "2026-03-01")
			// Every attempt fails: a clear error, nothing written.
			srv.Reset()
			for range yahoo.DefaultAttempts {
				srv.Inject(fault())
			}
			code, _, errOut := cliWith(t, home, srv, "fetch", "--from", "2026-03-25")
			if code != 1 || !strings.Contains(errOut, "attempt") {
				t.Errorf("exit %d, stderr %q: want a failure saying how many attempts", code, errOut)
			}
			if got := srv.Requests(); got != yahoo.DefaultAttempts {
				t.Errorf("%d requests, want %d (one per attempt)", got, yahoo.DefaultAttempts)
			}
			if _, after, _ := cliWith(t, home, srv, "data", "--from", "2026-03-01"); after != before {
				t.Errorf("store changed by a failed fetch:\n%s\nvs\n%s", before, after)
			}
			// One fault, then success: the retry fetches everything.
			srv.Reset()
			srv.Inject(fault())
			code, out, errOut := cliWith(t, home, srv, "fetch", "--from", "2026-03-25")
			if code != 0 || !strings.Contains(out, "7 added") || !strings.Contains(errOut, "attempt 1 failed") {
				t.Errorf("after one %s: exit %d %q %q", name, code, out, errOut)
			}
		})
	}
}

func TestFetchChartErrorIsSurfaced(t *testing.T) {
	srv, _ := fakeYahoo(t, 1)
	code, _, errOut := cliWith(t, t.TempDir(), srv, "fetch", "--symbol", "NOPE-XYZ", "--from", "2025-01-01")
	if code != 1 || !strings.Contains(strings.ToLower(errOut), "no data found") && !strings.Contains(errOut, "unknown symbol") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}

}
