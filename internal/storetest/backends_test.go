package storetest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/closecast/closecast/internal/pgtest"
	"github.com/closecast/closecast/postgres"
	"github.com/closecast/closecast/sqlite"
)

var sqliteBackend = Backend{
	Name: "sqlite",
	New:  func(t testing.TB) string { return filepath.Join(t.TempDir(), sqlite.FileName) },
	Open: func(addr string) (Store, error) {
		db, err := sqlite.Open(addr)
		if err != nil {
			return nil, err
		}
		return db, nil
	},
	Exec: func(t testing.TB, addr, stmt string) {
		db, err := sql.Open("sqlite", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	},
	DamageQuantiles: `UPDATE predictions SET quantiles = x'0001' WHERE quantiles IS NOT NULL`,
}

// pgBackend is PostgreSQL with the extended protocol (prepared statements),
// or the simple protocol a transaction-mode pooler needs, chosen by the URL.
func pgBackend(name string, simple bool) Backend {
	return Backend{
		Name: name,
		New: func(t testing.TB) string {
			u := pgtest.NewDatabase(t)
			if !simple {
				return u
			}
			p, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			q := p.Query()
			q.Set("default_query_exec_mode", "simple_protocol")
			p.RawQuery = q.Encode()
			return p.String()
		},
		Open: func(addr string) (Store, error) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			return postgres.Open(ctx, addr, postgres.Options{})
		},
		DamageQuantiles: `UPDATE predictions SET quantiles = '{1,2}' WHERE quantiles IS NOT NULL`,
		Exec: func(t testing.TB, addr, stmt string) {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		},
	}
}

var backends = []Backend{sqliteBackend, pgBackend("postgres", false), pgBackend("postgres-simple", true)}

func TestMain(m *testing.M) {
	Child(backends...)
	os.Exit(pgtest.Main(m))
}

func TestSQLite(t *testing.T)                 { Run(t, backends[0]) }
func TestPostgres(t *testing.T)               { Run(t, backends[1]) }
func TestPostgresSimpleProtocol(t *testing.T) { Run(t, backends[2]) }

// The benchmarks run each backend beside the others in one run:
// go test -run '^$' -bench . -benchtime 20x ./internal/storetest
func BenchmarkUpsert4000Bars(b *testing.B) {
	for _, be := range backends {
		b.Run(be.Name, func(b *testing.B) { BenchmarkUpsert4000(b, be) })
	}
}

func BenchmarkLedgerWrites(b *testing.B) {
	for _, be := range backends {
		b.Run(be.Name, func(b *testing.B) { BenchmarkLedgerWrite(b, be) })
	}
}
