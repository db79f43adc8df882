package history

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/closecast/closecast/sqlite"
	"github.com/closecast/closecast/sqlite/sqlitetest"
)

// A store whose bars table is corrupt on disk (a real damaged SQLite file)
// must not fail every request: the embedded days are still served, and days
// fetched from the provider are served from memory, the store refusing to
// be written.
func TestDamagedStoreStillServesEmbeddedAndFetchedBars(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Upsert(ctx, "BTC-USD", bars(d0-3000, d0-1, 50)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := sqlitetest.Damage(path, "bars"); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Damaged() == nil {
		t.Fatal("the damaged store was not detected at open")
	}

	base := newFake("BTC-USD", bars(d0, d0+9, 100))
	live := newFake("BTC-USD", bars(d0, d0+12, 900))
	l := New(base, db, live, WithClock(at(d0+12).now))
	s, err := l.Bars(ctx, "BTC-USD", d0, d0+9)
	if err != nil {
		t.Fatalf("embedded days with a damaged store: %v", err)
	}
	checkBars(t, s, bars(d0, d0+9, 100))
	s, err = l.Bars(ctx, "BTC-USD", d0, d0+12)
	if err != nil {
		t.Fatalf("fetched days with a damaged store: %v", err)
	}
	checkBars(t, s, append(bars(d0, d0+9, 100), bars(d0+10, d0+12, 910)...))
}
