package sqlite

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/sqlite/sqlitetest"
)

// A write that waits past the busy timeout for a lock another connection
// holds (BEGIN EXCLUSIVE) fails as contention: ErrBusy and
// closecast.ErrUnavailable, which the server answers 503 + Retry-After.
// Once the lock is released the same write succeeds.
func TestHeldLockIsContentionNotFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db, err := open(path, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	release, err := sqlitetest.HoldLock(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, _, err = db.UpsertFetched(ctx, "BTC-USD", day0, day0.AddDays(9), mkBars(day0, 10, 100))
	if !errors.Is(err, closecast.ErrUnavailable) || !errors.Is(err, ErrBusy) {
		t.Fatalf("upsert under a held lock: got %v, want ErrBusy and closecast.ErrUnavailable", err)
	}
	p := closecast.Prediction{Forecast: closecast.Forecast{Symbol: "BTC-USD", Date: day0, Value: 101}, Model: "m1", LastClose: 100}
	if err := db.Record(ctx, time.Now(), []closecast.Prediction{p}); !errors.Is(err, closecast.ErrUnavailable) {
		t.Fatalf("record under a held lock: got %v, want closecast.ErrUnavailable", err)
	}
	if db.Damaged() != nil {
		t.Fatalf("contention marked the store damaged: %v", db.Damaged())
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	added, _, err := db.UpsertFetched(ctx, "BTC-USD", day0, day0.AddDays(9), mkBars(day0, 10, 100))
	if err != nil || added != 10 {
		t.Fatalf("upsert after the lock is released: added %d, err %v", added, err)
	}
}

// damagedStore writes a store with bars of two symbols, closes it and
// corrupts the bars table's root page on disk.
func damagedStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, sym := range []string{"BTC-USD", "ETH-USD"} {
		if _, _, err := db.Upsert(context.Background(), sym, mkBars(day0.AddDays(-2000), 2000, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if db.Damaged() != nil {
		t.Fatalf("a healthy store is reported damaged: %v", db.Damaged())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sqlitetest.Damage(path, "bars"); err != nil {
		t.Fatal(err)
	}
	return path
}

// A store with a corrupt page still opens (what can be read is served), but
// Open's check reports the damage, naming the file and what to do, and every
// write is refused without touching the file.
func TestDamagedStoreIsReportedAndNeverWritten(t *testing.T) {
	path := damagedStore(t)
	db, err := Open(path)
	if err != nil {
		t.Fatalf("a damaged store must still open: %v", err)
	}
	defer db.Close()
	derr := db.Damaged()
	var de *DamagedError
	if !errors.As(derr, &de) || !errors.Is(derr, ErrDamaged) || !errors.Is(derr, closecast.ErrUnavailable) {
		t.Fatalf("Damaged() = %v, want a *DamagedError", derr)
	}
	for _, want := range []string{path, "mv ", "closecast fetch"} {
		if !strings.Contains(derr.Error(), want) {
			t.Errorf("damage message %q does not mention %q", derr, want)
		}
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := db.UpsertFetched(ctx, "BTC-USD", day0, day0, mkBars(day0, 1, 5000)); !errors.Is(err, ErrDamaged) {
		t.Fatalf("upsert into a damaged store: got %v, want ErrDamaged", err)
	}
	if err := db.LogFetchError(ctx, "BTC-USD", day0, day0, errors.New("x")); !errors.Is(err, ErrDamaged) {
		t.Fatalf("fetch log into a damaged store: got %v, want ErrDamaged", err)
	}
	p := closecast.Prediction{Forecast: closecast.Forecast{Symbol: "BTC-USD", Date: day0, Value: 101}, Model: "m1", LastClose: 100}
	if err := db.Record(ctx, time.Now(), []closecast.Prediction{p}); !errors.Is(err, ErrDamaged) {
		t.Fatalf("record into a damaged store: got %v, want ErrDamaged", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("a refused write changed the damaged file")
	}
	// Reading the damaged table fails as unavailable, not as a bare error.
	if _, err := db.Bars(ctx, "BTC-USD", day0.AddDays(-2000), day0); !errors.Is(err, closecast.ErrUnavailable) {
		t.Fatalf("reading a damaged table: got %v, want closecast.ErrUnavailable", err)
	}
}

// Damage found by an operation (SQLITE_CORRUPT), not by the check at Open,
// marks the store damaged too: a store damaged while open stops being
// written.
func TestCorruptReadMarksTheStoreDamaged(t *testing.T) {
	path := damagedStore(t)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.health.damage.Store(nil) // as if the damage happened after Open
	_, err = db.Bars(context.Background(), "BTC-USD", day0.AddDays(-2000), day0)
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("reading a corrupt page: got %v, want ErrDamaged", err)
	}
	if !errors.Is(db.Damaged(), ErrDamaged) {
		t.Fatalf("Damaged() = %v after a corrupt read", db.Damaged())
	}
}

// Repeated errors SQLite does not call corruption make the store check its
// file: damage that reads have not hit yet is then found and reported.
func TestRepeatedErrorsTriggerACheck(t *testing.T) {
	path := damagedStore(t)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.health.damage.Store(nil) // as if the damage happened after Open
	for range checkAfterErrors {
		_, err := db.db.Exec(`SELECT * FROM no_such_table`)
		if err == nil || errors.Is(db.classify(err), ErrDamaged) {
			t.Fatalf("an unexplained error: %v", err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); db.Damaged() == nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) { // hang guard only
			t.Fatal("no check found the damage after repeated errors")
		}
	}
}
