package main

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/yahoo/yahootest"
)

// hashDir hashes every file under dir (the store and any journal or WAL).
func hashDir(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(b)
	}
	return out
}

func sameHashes(a, b map[string][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// An absurd or foreign answer is refused: exit 1, the day and the rule
// named, the store's files byte for byte as they were.
func TestFetchRefusesAbsurdDataAndLeavesTheStoreUntouched(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(*closecast.Bar)
		fault yahootest.Fault
		want  string
	}{
		{name: "1e300", mod: func(b *closecast.Bar) { b.Close, b.High = 1e300, 1e300 }, want: "plausible price range"},
		{name: "1e-300", mod: func(b *closecast.Bar) { b.Close, b.Low = 1e-300, 1e-300 }, want: "plausible price range"},
		{name: "1e-310", mod: func(b *closecast.Bar) { b.Close, b.Low = 1e-310, 1e-310 }, want: "plausible price range"},
		{name: "jump from the stored close", mod: func(b *closecast.Bar) { b.Close, b.High = b.Close*10, b.Close*10 }, want: "jump limit"},
		{name: "low above open", mod: func(b *closecast.Bar) { b.Low = b.Open * 1.001; b.High = b.Open * 1.01; b.Close = b.Open * 1.005 }, want: "Low"},
		{name: "ETH-USD answer", fault: yahootest.ForeignSymbol("ETH-USD"), want: `asked for BTC-USD, the answer is for "ETH-USD"`},
		{name: "EUR answer", fault: yahootest.ForeignCurrency("EUR"), want: `asked for BTC-USD in USD, the answer is in "EUR"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, bars := fakeYahoo(t, 4)
			home := t.TempDir()
			n := len(bars)
			if code, _, errOut := cliWith(t, home, srv, "fetch", "--to", bars[n-3].Date.String()); code != 0 {
				t.Fatalf("seed fetch: %s", errOut)
			}
			before := hashDir(t, home)
			bad := bars[n-2].Date
			if tc.mod != nil {
				tc.mod(&bars[n-2])
				srv.AddBars("BTC-USD", bars)
			} else {
				srv.Inject(tc.fault)
			}
			code, _, errOut := cliWith(t, home, srv, "fetch")
			if code == 0 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "nothing stored") {
				t.Errorf("exit %d, stderr %q: want a failure naming %q", code, errOut, tc.want)
			}
			if tc.mod != nil && !strings.Contains(errOut, bad.String()) {
				t.Errorf("stderr %q does not name the day %s", errOut, bad)
			}
			if after := hashDir(t, home); !sameHashes(before, after) {
				t.Errorf("the store's files changed by a refused fetch")
			}
		})
	}
}

func TestFetchMaxJumpOverride(t *testing.T) {
	srv, bars := fakeYahoo(t, 3)
	n := len(bars)
	bars[n-1].Close, bars[n-1].High = bars[n-1].Close*10, bars[n-1].Close*10
	srv.AddBars("BTC-USD", bars)
	if code, _, errOut := cliWith(t, t.TempDir(), srv, "fetch"); code == 0 || !strings.Contains(errOut, "jump limit") {
		t.Fatalf("default limit: exit %d %q", code, errOut)
	}
	if code, out, errOut := cliWith(t, t.TempDir(), srv, "fetch", "--max-jump", "12"); code != 0 || !strings.Contains(out, "3 added") {
		t.Errorf("--max-jump 12: exit %d %q %q", code, out, errOut)
	}
	if code, _, errOut := cliWith(t, t.TempDir(), srv, "fetch", "--max-jump", "1"); code != 2 || !strings.Contains(errOut, "want a number > 1") {
		t.Errorf("--max-jump 1: exit %d %q", code, errOut)
	}
}

// A hanging provider is given up on after --timeout.
func TestFetchTimeoutFlag(t *testing.T) {
	srv, _ := fakeYahoo(t, 3)
	for range 4 {
		srv.Inject(yahootest.Hang(time.Hour))
	}
	done := make(chan struct{})
	var code int
	var errOut string
	go func() {
		defer close(done)
		code, _, errOut = cliWith(t, t.TempDir(), srv, "fetch", "--timeout", "300ms")
	}()
	select {
	case <-done:
	case <-time.After(time.Minute): // hang guard only
		t.Fatal("fetch still running a minute after a 300ms --timeout")
	}
	if code != 1 || !strings.Contains(errOut, "fetch timeout is 300ms") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
