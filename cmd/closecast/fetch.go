package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/yahoo"
)

var fetchCmd = &command{
	name:    "fetch",
	summary: "Download daily bars from Yahoo Finance into the local store",
	usage:   "[--symbol S] [--from D] [--to D] [--timeout DUR] [--max-jump F] [--yahoo-url URL] [--db URL]",
	example: `  closecast fetch                                # BTC-USD, from the day after the last known bar to today
  closecast fetch --symbol AAPL --from 2020-01-01
  closecast fetch --symbol ETH-USD --from 2026-03-01 --to 2026-03-31   # re-fetch: picks up Yahoo's revisions
  closecast fetch --db postgres://closecast@db.internal/closecast     # into the shared PostgreSQL store

Bars go to the store (--db; default $CLOSECAST_HOME/closecast.db) in one
transaction: a failed fetch leaves the store as it was. The still-open
current day is never stored.

Every bar is checked before anything is stored: prices within [1e-6, 1e9],
Low ≤ Open, Close ≤ High, volume within [0, 1e15], a close within --max-jump
times the previous one (default 4, or $CLOSECAST_MAX_JUMP), and Yahoo's
answer must be for the symbol asked and, for a pair such as BTC-USD, in its
quote currency. One bad bar refuses the whole fetch: the store is left
byte for byte as it was and the error names the day and the rule. The fetch
gives up after --timeout (default 30s), retries included.`,
	run: runFetch,
}

func runFetch(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	var data dataFlags
	data.register(fs, true)
	yahooURLFlag(fs, e)
	dbFlag(fs, e)
	timeout := fs.Duration("timeout", yahoo.DefaultTimeout, "give up on the provider after this `duration`, retries included")
	maxJumpFlag := fs.String("max-jump", "", "largest `factor` between consecutive closes (default $"+closecast.EnvMaxJump+", else 4)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return fmt.Errorf("%w: --timeout %v: want a positive duration", errUsage, *timeout)
	}
	maxJump, err := maxJumpSetting(e, *maxJumpFlag)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if data.csv != "" {
		return fmt.Errorf("%w: fetch writes to the store; --csv does not apply", errUsage)
	}
	store, err := openDB(ctx, e, false)
	if err != nil {
		return err
	}
	defer store.Close()
	today := closecast.Today()
	from, to := data.from.d, data.to.or(today)
	if !data.from.set {
		// Continue after the last day known, stored or embedded.
		from = closecast.MustParseDate("1970-01-01")
		if _, last, ok, err := store.Range(ctx, data.symbol); err != nil {
			return err
		} else if ok {
			from = last + 1
		}
		if s, err := marketdata.EmbeddedSeries(data.symbol); err == nil {
			if last, ok := s.Last(); ok && last+1 > from {
				from = last + 1
			}
		}
	}
	if to < from {
		fmt.Fprintf(e.stdout, "%s: up to date (last known day %s)\n", data.symbol, from-1)
		return nil
	}
	client := yahooClient(e)
	client.Timeout, client.MaxJump = *timeout, maxJump
	client.OnRetry = func(attempt int, err error, wait time.Duration) {
		fmt.Fprintf(e.stderr, "  attempt %d failed (%v), retrying in %s\n", attempt, err, wait.Round(time.Millisecond))
	}
	fmt.Fprintf(e.stderr, "fetching %s %s .. %s from %s …\n", data.symbol, from, to, orDefault(client.BaseURL, "Yahoo Finance"))
	res, err := client.Fetch(ctx, data.symbol, from, to)
	if err == nil {
		err = checkNeighbours(ctx, store, data.symbol, from, to, res.Bars, maxJump)
	}
	if err != nil {
		if refused(err) {
			// Bad data, not a failed fetch: the store is not touched at all.
			return fmt.Errorf("%s: refused, nothing stored: %w", data.symbol, err)
		}
		_ = store.LogFetchError(ctx, data.symbol, from, to, err)
		return err
	}
	added, updated, err := store.UpsertFetched(ctx, data.symbol, from, to, res.Bars)
	if err != nil {
		return err
	}
	first, last, ok, err := store.Range(ctx, data.symbol)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %d bars fetched, %d added, %d updated", data.symbol, len(res.Bars), added, updated)
	if ok {
		fmt.Fprintf(e.stdout, "; store now holds %s .. %s", first, last)
	}
	fmt.Fprintln(e.stdout)
	if !res.Report.Clean() {
		fmt.Fprintf(e.stdout, "  %s\n", res.Report)
	}
	return nil
}

// maxJumpSetting is the jump limit: the flag when given, else
// $CLOSECAST_MAX_JUMP, else closecast.DefaultMaxJump.
func maxJumpSetting(e *env, flagValue string) (float64, error) {
	if flagValue != "" {
		f, err := closecast.ParseMaxJump(flagValue)
		if err != nil {
			return 0, fmt.Errorf("--max-jump: %w", err)
		}
		return f, nil
	}
	f, err := closecast.ParseMaxJump(e.getenv(closecast.EnvMaxJump))
	if err != nil {
		return 0, fmt.Errorf("$%s: %w", closecast.EnvMaxJump, err)
	}
	return f, nil
}

// refused reports whether a fetch failed because the answer was bad data
// (an invalid bar, a jump, another symbol or currency), not because the
// provider could not be reached.
func refused(err error) bool {
	var be *yahoo.BarError
	var fe *yahoo.ForeignError
	var nb *neighbourError
	return errors.As(err, &be) || errors.As(err, &fe) || errors.As(err, &nb)
}

// neighbourError is a fetched close beyond the jump limit from the known
// close next to it (stored or embedded).
type neighbourError struct {
	Date closecast.Date
	Err  error
}

func (e *neighbourError) Error() string { return fmt.Sprintf("%s: %v", e.Date, e.Err) }
func (e *neighbourError) Unwrap() error { return e.Err }

// neighbourSpan is how far around a fetched range the known neighbours are
// looked for: past a long weekend or holiday of an exchange.
const neighbourSpan = 14

// checkNeighbours checks the jump limit across the seams between fetched
// bars and the known ones (stored or embedded) around them: the last known
// close before the first fetched day and the first after the last.
func checkNeighbours(ctx context.Context, store closecast.Store, symbol string, from, to closecast.Date, fetched []closecast.Bar, maxJump float64) error {
	if len(fetched) == 0 {
		return nil
	}
	known, err := history.New(marketdata.Embedded(), store, nil).Bars(ctx, symbol, from.AddDays(-neighbourSpan), to.AddDays(neighbourSpan))
	if err != nil && !errors.Is(err, closecast.ErrUnknownSymbol) {
		return err
	}
	var seam []closecast.Bar
	if before := known.Between(from.AddDays(-neighbourSpan), from-1).Bars; len(before) > 0 {
		seam = append(seam, before[len(before)-1])
	}
	seam = append(seam, fetched...)
	if after := known.Between(to+1, to.AddDays(neighbourSpan)).Bars; len(after) > 0 {
		seam = append(seam, after[0])
	}
	if err := closecast.CheckJumps(seam, maxJump); err != nil {
		var be *closecast.BarError
		errors.As(err, &be)
		return &neighbourError{Date: be.Date, Err: be.Err}
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
