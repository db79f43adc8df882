// Package sqlitetest damages and locks real SQLite store files on purpose,
// for tests of how closecast answers a store it cannot use: no mock, the
// real file and a real second connection.
package sqlitetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

func dsn(path string) string { return "file:" + (&url.URL{Path: path}).EscapedPath() }

// Damage corrupts the root page of table in the SQLite file at path (closed
// by every other user), as a disk or a stray write would: the page's b-tree
// header is overwritten with garbage, so reading the table, and PRAGMA
// quick_check, fail with SQLITE_CORRUPT.
func Damage(path, table string) error {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return err
	}
	var root, pageSize int64
	// The checkpoint moves everything into the main file, which is then
	// the whole store: the WAL is deleted when this last connection closes.
	_, err = db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	if err == nil {
		err = db.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = ?`, table).Scan(&root)
	}
	if err == nil {
		err = db.QueryRow(`PRAGMA page_size`).Scan(&pageSize)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sqlitetest: finding table %s in %s: %w", table, path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	garbage := make([]byte, 64)
	for i := range garbage {
		garbage[i] = 0xA5
	}
	if _, err := f.WriteAt(garbage, (root-1)*pageSize); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// HoldLock takes the write lock of the SQLite file at path with BEGIN
// EXCLUSIVE on a connection of its own, as another closecast process in
// the middle of a long write would, and keeps it until release is called.
func HoldLock(path string) (release func() error, err error) {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		return nil, err
	}
	if _, err := conn.ExecContext(context.Background(), `BEGIN EXCLUSIVE`); err != nil {
		conn.Close()
		db.Close()
		return nil, fmt.Errorf("sqlitetest: locking %s: %w", path, err)
	}
	return func() error {
		_, err := conn.ExecContext(context.Background(), `ROLLBACK`)
		conn.Close()
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}
