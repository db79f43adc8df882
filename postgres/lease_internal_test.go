package postgres

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestFetchLease: one holder at a time; released by unlock or by expiry;
// a holder whose lease expired and was taken over cannot release the new
// holder's.
func TestFetchLease(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, url := openTest(t, Options{})
	b, err := Open(ctx, url, Options{}) // another process's pool
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	unlockA, err := a.LockFetch(ctx, "btc-usd")
	if err != nil {
		t.Fatal(err)
	}
	// Held: b waits until its context ends, and fails with its cause.
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = b.LockFetch(short, "BTC-USD")
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LockFetch while held = %v; want the deadline", err)
	}
	// Another symbol is another lease.
	unlockEth, err := b.LockFetch(ctx, "ETH-USD")
	if err != nil {
		t.Fatal(err)
	}
	unlockEth()
	// Released: b takes it.
	unlockA()
	unlockB, err := b.LockFetch(ctx, "BTC-USD")
	if err != nil {
		t.Fatalf("LockFetch after unlock: %v", err)
	}
	// b dies holding it: once expired, a takes it over, and b's late
	// unlock leaves a's lease alone.
	if _, err := a.pool.Exec(ctx, `UPDATE fetch_leases SET until = 0 WHERE symbol = 'BTC-USD'`); err != nil {
		t.Fatal(err)
	}
	unlockA, err = a.LockFetch(ctx, "BTC-USD")
	if err != nil {
		t.Fatalf("LockFetch of an expired lease: %v", err)
	}
	unlockB()
	var n int
	if err := a.pool.QueryRow(ctx, `SELECT count(*) FROM fetch_leases WHERE symbol = 'BTC-USD'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("a's lease after b's late unlock: %d rows, %v", n, err)
	}
	unlockA()
	if err := a.pool.QueryRow(ctx, `SELECT count(*) FROM fetch_leases`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("leases left after every unlock: %d, %v", n, err)
	}
}
