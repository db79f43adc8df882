package main

import (
	"context"
	"fmt"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/marketdata"
)

var fetchCmd = &command{
	name:    "fetch",
	summary: "Download daily bars from Yahoo Finance into the local store",
	usage:   "[--symbol S] [--from D] [--to D] [--yahoo-url URL]",
	example: `  closecast fetch                                # BTC-USD, from the day after the last known bar to today
  closecast fetch --symbol AAPL --from 2020-01-01
  closecast fetch --symbol ETH-USD --from 2026-03-01 --to 2026-03-31   # re-fetch: picks up Yahoo's revisions

Bars go to $CLOSECAST_HOME/closecast.db (default ~/.closecast) in one
transaction: a failed fetch leaves the store as it was. The still-open
current day is never stored.`,
	run: runFetch,
}

func runFetch(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	var data dataFlags
	data.register(fs, true)
	yahooURLFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if data.csv != "" {
		return fmt.Errorf("%w: fetch writes to the store; --csv does not apply", errUsage)
	}
	store, err := openStore(e, false)
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
	client.OnRetry = func(attempt int, err error, wait time.Duration) {
		fmt.Fprintf(e.stderr, "  attempt %d failed (%v), retrying in %s\n", attempt, err, wait.Round(time.Millisecond))
	}
	fmt.Fprintf(e.stderr, "fetching %s %s .. %s from %s …\n", data.symbol, from, to, orDefault(client.BaseURL, "Yahoo Finance"))
	res, err := client.Fetch(ctx, data.symbol, from, to)
	if err != nil {
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

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
