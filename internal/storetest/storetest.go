// Package storetest is the conformance suite of closecast's stores: the same
// tests of bars, the ledger of live forecasts, the fetch log and the model
// registry, run against every backend (SQLite and PostgreSQL), so that a user
// moving from one to the other keeps every behaviour. It also holds the
// benchmarks that compare them in one run.
//
// A backend's test binary calls Run (and the benchmarks) with a Backend, and
// its TestMain calls Child first: the concurrent-writer test re-executes the
// test binary as separate writer processes.
package storetest

import (
	"testing"

	"github.com/closecast/closecast"
)

// Store is what the suite tests: the root package's Database seam (bars,
// fetch log, ledger, model registry), what package database opens.
type Store = closecast.Database

// Backend makes stores of one kind for the suite.
type Backend struct {
	// Name identifies the backend in the child processes' environment and
	// in test names.
	Name string
	// New returns the address of a new, empty, not yet opened store for t
	// (a file path, a database URL), removed when t ends.
	New func(t testing.TB) string
	// Open opens (creating and migrating as needed) the store at addr.
	Open func(addr string) (Store, error)
	// Exec runs one SQL statement on the store at addr, outside the store's
	// API, to damage what it keeps.
	Exec func(t testing.TB, addr, sql string)
	// DamageQuantiles is a statement for Exec that damages the quantiles
	// column of every ledger row that has one (a wrong length, say).
	DamageQuantiles string
}

// open opens a new store of b for t, closed when t ends.
func open(t testing.TB, b Backend) (Store, string) {
	t.Helper()
	addr := b.New(t)
	s, err := b.Open(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, addr
}

// Run runs the conformance suite against b, each test on a store of its own.
func Run(t *testing.T, b Backend) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Backend)
	}{
		{"UpsertCountsAddedAndUpdated", testUpsertCounts},
		{"UpsertKeepsDoublesBitForBit", testUpsertExact},
		{"UpsertRejectsBadInputWritingNothing", testUpsertRejects},
		{"UpsertCancelledWritesNothing", testUpsertCancelled},
		{"BarsRangeAndSymbols", testBarsRangeSymbols},
		{"LedgerRecordScorePending", testLedger},
		{"LedgerLatestRecordWins", testLedgerLatestWins},
		{"LedgerRejectsBadForecastsWritingNothing", testLedgerRejects},
		{"LedgerScoredWindow", testLedgerWindow},
		{"LedgerKeepsForecastDistributions", testLedgerQuantiles},
		{"FetchLog", testFetchLog},
		{"LedgerExportAndFetchLogImport", testExportImport},
		{"RegistryPutGetListPromote", testRegistry},
		{"RegistryRefusesDamagedModels", testRegistryDamage},
		{"RegistryPutIsIdempotentAndRefusesConflicts", testRegistryConflict},
		{"OpenConcurrentlyMigratesOnce", testOpenConcurrently},
		{"ConcurrentGoroutineWriters", testConcurrentGoroutines},
		{"ConcurrentProcessWriters", testConcurrentProcesses},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, b)
		})
	}
}
