package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast/sqlite"
)

// A store edited by hand to hold an absurd close is refused when read:
// describe fails instead of printing garbage with exit 0.
func TestDescribeRefusesAnAbsurdStoredBar(t *testing.T) {
	srv, bars := fakeYahoo(t, 3)
	home := t.TempDir()
	if code, _, errOut := cliWith(t, home, srv, "fetch"); code != 0 {
		t.Fatalf("seed fetch: %s", errOut)
	}
	bad := bars[len(bars)-2].Date
	db, err := sql.Open("sqlite", filepath.Join(home, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE bars SET close = 1e300, high = 1e300 WHERE symbol = 'BTC-USD' AND date = ?`, int64(bad)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errOut := cliWith(t, home, srv, "describe", "--from", bad.AddDays(-5).String())
	if code == 0 || !strings.Contains(errOut, "plausible price range") || !strings.Contains(errOut, bad.String()) {
		t.Errorf("exit %d, stdout %q, stderr %q: want a refusal naming %s and the rule", code, out, errOut, bad)
	}
}

// One row of CSV is a clear error, not NaN statistics or an upside-down range.
func TestOneRowCSV(t *testing.T) {
	f := filepath.Join(t.TempDir(), "one.csv")
	if err := os.WriteFile(f, []byte("Date,Open,High,Low,Close,Volume\n2025-01-01,10,12,9,11,100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, _ := fakeYahoo(t, 1)
	code, out, errOut := cliWith(t, t.TempDir(), srv, "describe", "--csv", f)
	if code != 1 || !strings.Contains(errOut, "describe needs at least 2") || strings.Contains(out, "NaN") {
		t.Errorf("describe: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = cliWith(t, t.TempDir(), srv, "predict", "--csv", f)
	if code != 1 || !strings.Contains(errOut, "too few bars") {
		t.Errorf("predict: exit %d, stderr %q", code, errOut)
	}
}

// A CSV with an absurd row is refused by every command that reads it.
func TestCSVWithAbsurdRowIsRefused(t *testing.T) {
	f := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(f, []byte("Date,Open,High,Low,Close,Volume\n2025-01-01,10,12,9,11,100\n2025-01-02,11,1e300,10,1e300,100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, _ := fakeYahoo(t, 1)
	for _, cmd := range []string{"describe", "data", "predict"} {
		code, _, errOut := cliWith(t, t.TempDir(), srv, cmd, "--csv", f)
		if code != 1 || !strings.Contains(errOut, "bad.csv:3") || !strings.Contains(errOut, "plausible price range") {
			t.Errorf("%s: exit %d, stderr %q", cmd, code, errOut)
		}
	}
}
