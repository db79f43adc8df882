package pgtest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// query runs a one-value query on the database at url.
func query(t *testing.T, url, sql string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var s string
	err = conn.QueryRow(ctx, sql).Scan(&s)
	return s, err
}

// TestDatabasesAreSeparateAndSurviveARestart checks that each test database
// is its own, that fsync is off in a throwaway cluster, and that Stop makes
// the server unreachable while Start brings back the same data on the same URL.
func TestDatabasesAreSeparateAndSurviveARestart(t *testing.T) {
	a, b := NewDatabase(t), NewDatabase(t)
	if a == b {
		t.Fatalf("two tests share database %s", a)
	}
	if _, err := query(t, a, "CREATE TABLE marker AS SELECT 'kept'::text AS v"); err != pgx.ErrNoRows {
		t.Fatal(err)
	}
	if _, err := query(t, b, "SELECT v FROM marker"); err == nil {
		t.Fatal("a table made in one test database is visible in another")
	}
	c := Stoppable(t)
	if v, err := query(t, a, "SHOW fsync"); err != nil || v != "off" {
		t.Errorf("fsync = %q, %v; want off", v, err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := query(t, a, "SELECT v FROM marker"); err == nil {
		t.Fatal("the server still answers after Stop")
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if v, err := query(t, a, "SELECT v FROM marker"); err != nil || v != "kept" {
		t.Fatalf("after a restart: %q, %v; want the row written before", v, err)
	}
}

// verdict records whether a test was failed or skipped.
type verdict struct {
	testing.TB
	failed, skipped bool
}

func (v *verdict) Helper()               {}
func (v *verdict) Fatalf(string, ...any) { v.failed = true }
func (v *verdict) Skipf(string, ...any)  { v.skipped = true }
func (v *verdict) Logf(string, ...any)   {}
func (v *verdict) Errorf(string, ...any) { v.failed = true }

func TestNoServerFailsUnderCIAndSkipsElsewhere(t *testing.T) {
	for ci, want := range map[string]verdict{"true": {failed: true}, "": {skipped: true}} {
		t.Setenv("CI", ci)
		var v verdict
		unavailable(&v, errors.New("initdb not found"))
		if v.failed != want.failed || v.skipped != want.skipped {
			t.Errorf("CI=%q: failed %v, skipped %v; want failed %v, skipped %v", ci, v.failed, v.skipped, want.failed, want.skipped)
		}
	}
}

func TestNewestPicksTheHighestMajor(t *testing.T) {
	got := newest([]string{"/usr/lib/postgresql/9/bin/initdb", "/usr/lib/postgresql/15/bin/initdb", "/usr/lib/postgresql/13/bin/initdb"})
	if got != "/usr/lib/postgresql/15/bin/initdb" {
		t.Fatalf("newest = %q, want PostgreSQL 15's", got)
	}
	if newest(nil) != "" {
		t.Fatal("newest of none is not empty")
	}
}
