package database

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/internal/pgtest"
	"github.com/closecast/closecast/internal/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind Kind
		addr string
	}{
		{"", SQLite, "/def/closecast.db"},
		{"  ", SQLite, "/def/closecast.db"},
		{"/var/lib/closecast/c.db", SQLite, "/var/lib/closecast/c.db"},
		{"rel/c.db", SQLite, "rel/c.db"},
		{"sqlite:/tmp/c.db", SQLite, "/tmp/c.db"},
		{"SQLITE:c.db", SQLite, "c.db"},
		{"sqlite:///tmp/c.db", SQLite, "/tmp/c.db"},
		{"postgres://u:pw@h/db", Postgres, "postgres://u:pw@h/db"},
		{"postgresql://h/db?sslmode=disable", Postgres, "postgresql://h/db?sslmode=disable"},
		{"./odd://name.db", SQLite, "./odd://name.db"},
	} {
		got, err := Parse(tc.in, "/def/closecast.db")
		if err != nil || got.Kind != tc.kind || got.Addr != tc.addr {
			t.Errorf("Parse(%q) = %+v, %v; want %v %q", tc.in, got, err, tc.kind, tc.addr)
		}
	}
	for _, bad := range []string{"sqlite:", "mysql://u:hunter2@h/db", "http://x"} {
		_, err := Parse(bad, "/def")
		if err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse(%q) error quotes the password: %v", bad, err)
		}
	}
	if l, _ := Parse("postgres://u:s3cret@h/db", ""); strings.Contains(l.String(), "s3cret") {
		t.Errorf("Location.String() = %q quotes the password", l.String())
	}
}

func TestOpenOnlyIfExists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := Open(context.Background(), "sqlite:"+path, Options{OnlyIfExists: true})
	if err != nil || db != nil {
		t.Fatalf("Open of a missing file with OnlyIfExists = %v, %v; want nil, nil", db, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the file was created: %v", err)
	}
	db, err = Open(context.Background(), "", Options{DefaultPath: path})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the default path was not used: %v", err)
	}
}

// TestOpenErrorRedacts: a connection refused names the database without
// its password.
func TestOpenErrorRedacts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, u := range []string{
		"postgres://app:Secr3tPw@127.0.0.1:1/closecast?connect_timeout=5",
		"postgres://app@127.0.0.1:1/closecast?password=Secr3tPw&connect_timeout=5",
	} {
		_, err := Open(ctx, u, Options{})
		if err == nil {
			t.Fatalf("Open(%s) succeeded on a closed port", Redact(u))
		}
		if strings.Contains(err.Error(), "Secr3tPw") || !strings.Contains(err.Error(), "xxxxx") {
			t.Errorf("error %q: want the password redacted as xxxxx", err)
		}
	}
}

func TestScrubKeepsWrapped(t *testing.T) {
	base := errors.New("boom")
	err := scrub(errors.Join(base, errors.New("dial postgres://a:pw1234@h")), "postgres://a:pw1234@h/db")
	if strings.Contains(err.Error(), "pw1234") || !errors.Is(err, base) {
		t.Fatalf("scrub = %v (wraps base: %v)", err, errors.Is(err, base))
	}
}

// fill writes a little of everything into db: bars of two symbols, fetch
// log rows (one failed), scored and pending forecasts, three models and a
// champion.
func fill(t *testing.T, db DB) {
	t.Helper()
	ctx := context.Background()
	start := closecast.MustParseDate("2026-01-01")
	bars := func(n int, level float64) []closecast.Bar {
		out := make([]closecast.Bar, n)
		for i := range out {
			c := level + float64(i)
			out[i] = closecast.Bar{Date: start.AddDays(i), Open: c, High: c + 1, Low: c - 1, Close: c + 0.5, Volume: 1000 + float64(i)}
		}
		return out
	}
	if _, _, err := db.UpsertFetched(ctx, "BTC-USD", start, start.AddDays(9), bars(10, 100)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Upsert(ctx, "AAPL", bars(5, 200)); err != nil {
		t.Fatal(err)
	}
	if err := db.LogFetchError(ctx, "ETH-USD", start, start.AddDays(3), errors.New("upstream 503")); err != nil {
		t.Fatal(err)
	}
	served := time.Date(2026, 1, 9, 12, 0, 0, 0, time.UTC)
	ps := []closecast.Prediction{
		{Forecast: closecast.Forecast{Symbol: "BTC-USD", Date: start.AddDays(9), Value: 110}, Model: "m1", LastClose: 108.5},
		{Forecast: closecast.Forecast{Symbol: "BTC-USD", Date: start.AddDays(10), Value: 111}, Model: "m1", LastClose: 109.5},
	}
	// The scored forecast carries its distribution, which a copy keeps
	// bit for bit.
	ps[0].Quantiles = new(closecast.Distribution)
	for k, l := range closecast.DistributionLevels {
		ps[0].Quantiles[k] = 110 * (0.9 + l/5)
	}
	if err := db.Record(ctx, served, ps); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	for seed := uint64(1); seed <= 3; seed++ {
		if _, err := db.PutModel(ctx, storetest.ModelFiles(t, "BTC-USD", seed, created.Add(time.Duration(seed)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := db.Models(ctx, "BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Promote(ctx, infos[1].Version); err != nil {
		t.Fatal(err)
	}
}

// contents is what a store holds, as Copy must carry it over: every field
// but the times of the copy itself (fetched_at, scored_at, pushed).
type contents struct {
	Bars     map[string][]closecast.Bar
	Fetches  []closecast.FetchRecord
	Ledger   []closecast.LedgerEntry
	Models   []closecast.ModelInfo
	Files    map[string]map[string][]byte
	Champion string
}

func read(t *testing.T, db DB) contents {
	t.Helper()
	ctx := context.Background()
	c := contents{Bars: map[string][]closecast.Bar{}, Files: map[string]map[string][]byte{}}
	syms, err := db.Symbols(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		bs, err := db.Bars(ctx, s, closecast.MustParseDate("1900-01-01"), closecast.MustParseDate("9999-12-31"))
		if err != nil {
			t.Fatal(err)
		}
		c.Bars[s] = bs.Bars
	}
	if c.Fetches, err = db.Fetches(ctx, "", 100); err != nil {
		t.Fatal(err)
	}
	if c.Ledger, err = db.LedgerEntries(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Models, err = db.Models(ctx, ""); err != nil {
		t.Fatal(err)
	}
	for i := range c.Models {
		_, files, err := db.Model(ctx, c.Models[i].Version)
		if err != nil {
			t.Fatal(err)
		}
		c.Files[c.Models[i].Version] = files
		c.Models[i].Pushed = time.Time{}
	}
	ch, err := db.Champion(ctx, "BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	c.Champion = ch.Version
	return c
}

func open(t *testing.T, url string) DB {
	t.Helper()
	db, err := Open(context.Background(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestCopyRoundTrip copies a SQLite store into PostgreSQL and back into a
// new SQLite store: all three hold the same, and a second copy writes
// nothing.
func TestCopyRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := open(t, "sqlite:"+filepath.Join(t.TempDir(), "src.db"))
	fill(t, src)
	want := read(t, src)
	if len(want.Ledger) != 2 || want.Ledger[0].Actual == nil || want.Ledger[1].Actual != nil || want.Ledger[0].Quantiles == nil {
		t.Fatalf("fixture: ledger %+v, want one scored and one pending forecast", want.Ledger)
	}
	pg := open(t, pgtest.NewDatabase(t))
	back := open(t, filepath.Join(t.TempDir(), "back.db"))

	for _, step := range []struct {
		name     string
		dst, src DB
	}{{"sqlite→postgres", pg, src}, {"postgres→sqlite", back, pg}} {
		rep, err := Copy(ctx, step.dst, step.src)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		wantRep := CopyReport{Symbols: 2, BarsAdded: 15, Fetches: 2, Forecasts: 2, Models: 3, Champions: 1}
		if rep != wantRep {
			t.Errorf("%s: report %+v, want %+v", step.name, rep, wantRep)
		}
		if got := read(t, step.dst); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: destination holds\n%+v\nwant\n%+v", step.name, got, want)
		}
		again, err := Copy(ctx, step.dst, step.src)
		if err != nil {
			t.Fatalf("%s again: %v", step.name, err)
		}
		if again != (CopyReport{Symbols: 2}) {
			t.Errorf("%s again: report %+v, want nothing written", step.name, again)
		}
		if got := read(t, step.dst); !reflect.DeepEqual(got, want) {
			t.Errorf("%s again: destination changed", step.name)
		}
	}
}

// TestCopyConflict: a destination holding another model under a version
// is an error, not overwritten.
func TestCopyConflict(t *testing.T) {
	ctx := context.Background()
	src := open(t, filepath.Join(t.TempDir(), "a.db"))
	dst := open(t, filepath.Join(t.TempDir(), "b.db"))
	created := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	a := storetest.ModelFiles(t, "BTC-USD", 7, created)
	b := storetest.ModelFiles(t, "BTC-USD", 7, created.Add(time.Hour)) // same weights: same version, other model.json
	if _, err := src.PutModel(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.PutModel(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := Copy(ctx, dst, src); !errors.Is(err, closecast.ErrModelConflict) {
		t.Fatalf("Copy = %v, want ErrModelConflict", err)
	}
}

// TestOpenLazy: a server opens its store while PostgreSQL is down, and
// migrates it once the database answers.
func TestOpenLazy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	down := "postgres://app:Secr3tPw@127.0.0.1:1/closecast?connect_timeout=5"
	db, err := Open(ctx, down, Options{Lazy: true})
	if err != nil {
		t.Fatalf("lazy open of a database that is down: %v", err)
	}
	err = Migrate(ctx, db)
	db.Close()
	if err == nil || strings.Contains(err.Error(), "Secr3tPw") || !strings.Contains(err.Error(), "xxxxx") {
		t.Fatalf("Migrate while down = %v; want a redacted error", err)
	}
	db, err = Open(ctx, pgtest.NewDatabase(t), Options{Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Symbols(ctx); err == nil {
		t.Fatal("a lazy store was usable before Migrate: the test does not test laziness")
	}
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if syms, err := db.Symbols(ctx); err != nil || len(syms) != 0 {
		t.Fatalf("after Migrate: %v, %v", syms, err)
	}
	sq := open(t, filepath.Join(t.TempDir(), "c.db"))
	if err := Migrate(ctx, sq); err != nil {
		t.Fatalf("Migrate of a SQLite store: %v", err)
	}
}
