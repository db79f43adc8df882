package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/closecast/closecast/marketdata"
)

var dataCmd = &command{
	name:    "data",
	summary: "Export daily bars as CSV or JSON",
	usage:   "[--symbol S] [--from D] [--to D] [--format csv|json] [--csv FILE]",
	example: `  closecast data --symbol BTC-USD --from 2025-01-01 --to 2025-01-31
  closecast data --symbol ETH-USD --format json > eth.json`,
	run: runData,
}

func runData(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	var data dataFlags
	data.register(fs, true)
	dbFlag(fs, e)
	format := fs.String("format", "csv", "output `format`: csv (Date,Open,High,Low,Close,Volume) or json")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *format != "csv" && *format != "json" {
		return fmt.Errorf("%w: --format %q: want csv or json", errUsage, *format)
	}
	s, err := data.load(ctx, e, false)
	if err != nil {
		return err
	}
	if *format == "json" {
		return json.NewEncoder(e.stdout).Encode(struct {
			Symbol string `json:"symbol"`
			Bars   any    `json:"bars"`
		}{data.symbol, s.Bars})
	}
	return marketdata.WriteCSV(e.stdout, s.Bars)
}
