package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/chart"
	"github.com/closecast/closecast/metrics"
)

var describeCmd = &command{
	name:    "describe",
	summary: "Summarise the daily closes of a market (the reference notebook's EDA)",
	usage:   "[--symbol S] [--from D] [--to D] [--csv FILE] [--plot FILE.svg|png] [--json]",
	example: `  closecast describe --symbol BTC-USD --from 2018-01-01 --to 2025-04-30
  closecast describe --from 2018-01-01 --to 2025-04-30 --json
  closecast describe --symbol ETH-USD --plot eth.svg
  closecast describe --csv my-bars.csv --symbol MINE`,
	run: runDescribe,
}

// description is describe's JSON output: pandas' describe() of Close plus
// the range and the days missing inside it.
type description struct {
	Symbol string `json:"symbol"`
	metrics.Description
	First       closecast.Date `json:"first"`
	Last        closecast.Date `json:"last"`
	MissingDays int            `json:"missing_days"`
}

// MarshalJSON flattens the embedded statistics (which have their own
// marshaller for NaN) next to the range fields.
func (d description) MarshalJSON() ([]byte, error) {
	stats, err := json.Marshal(d.Description)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(stats, &m); err != nil {
		return nil, err
	}
	m["symbol"], m["first"], m["last"], m["missing_days"] = d.Symbol, d.First, d.Last, d.MissingDays
	return json.Marshal(m)
}

func runDescribe(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	var data dataFlags
	data.register(fs, true)
	dbFlag(fs, e)
	plot := fs.String("plot", "", "also write a chart of Close to this `file` (.svg or .png)")
	asJSON := fs.Bool("json", false, "print one JSON object: count, mean, std, min, p25, p50, p75, max, first, last, missing_days")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := data.load(ctx, e, false)
	if err != nil {
		return err
	}
	if s.Len() < 2 {
		// One close has no spread: std would print NaN.
		return fmt.Errorf("only %d bar of %s (%s): describe needs at least 2", s.Len(), data.symbol, s.Bars[0].Date)
	}
	closes := s.Closes()
	first, _ := s.First()
	last, _ := s.Last()
	d := description{Symbol: data.symbol, Description: metrics.Describe(closes), First: first, Last: last, MissingDays: s.MissingDays()}
	if *plot != "" {
		xs := make([]time.Time, s.Len())
		for i, b := range s.Bars {
			xs[i] = b.Date.Time()
		}
		title := fmt.Sprintf("%s daily close, %s .. %s", data.symbol, first, last)
		if err := chart.Lines(*plot, title, "", "close", chart.Series{Name: "Close", Times: xs, Y: closes}); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		return enc.Encode(d)
	}
	w := e.stdout
	fmt.Fprintf(w, "%s Close, %s .. %s (%d days, %d missing)\n", data.symbol, first, last, d.Count, d.MissingDays)
	for _, row := range []struct {
		k string
		v float64
	}{{"count", float64(d.Count)}, {"mean", d.Mean}, {"std", d.Std}, {"min", d.Min}, {"25%", d.P25}, {"50%", d.P50}, {"75%", d.P75}, {"max", d.Max}} {
		if row.k == "count" {
			fmt.Fprintf(w, "  %-5s %15d\n", row.k, d.Count)
			continue
		}
		fmt.Fprintf(w, "  %-5s %15.6f\n", row.k, row.v)
	}
	fmt.Fprintf(w, "  %s\n", chart.Sparkline(closes, 60))
	if gaps := s.Gaps(); len(gaps) > 0 {
		show := gaps[:min(len(gaps), 5)]
		fmt.Fprintf(w, "  %d gaps, e.g.:", len(gaps))
		for _, g := range show {
			fmt.Fprintf(w, " %s..%s", g.From, g.To)
		}
		fmt.Fprintln(w)
	}
	if *plot != "" {
		fmt.Fprintf(w, "  chart written to %s\n", *plot)
	}
	return nil
}
