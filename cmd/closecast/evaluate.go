package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/closecast/closecast/report"
	"github.com/closecast/closecast/train"
)

var evaluateCmd = &command{
	name:    "evaluate",
	summary: "Walk-forward evaluation of a model over a date range, beside naive baselines",
	usage:   "[--model DIR] --from D --to D [--csv FILE] [--json]",
	example: `  closecast evaluate --from 2025-06-01 --to 2025-07-16
  closecast evaluate --model out/reference --from 2023-11-24 --to 2025-04-30 --json
  closecast evaluate --model out/eth --csv eth.csv --from 2025-01-01 --to 2025-03-31

Every day in the range is forecast one step ahead from the real bars before it
(the model never sees the day it forecasts), and scored with MAE, RMSE, MAPE,
sMAPE, MASE (vs persistence) and direction hit rate, beside persistence
(tomorrow = today) and the 7-day moving average on the same days.`,
	run: runEvaluate,
}

func runEvaluate(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	modelDir := modelFlag(fs)
	var data dataFlags
	data.register(fs, true)
	asJSON := fs.Bool("json", false, `print one JSON object: {"n","from","to","model","persistence","ma7"} (MAPE in percent)`)
	if err := parse(fs, args); err != nil {
		return err
	}
	if !data.from.set || !data.to.set {
		return fmt.Errorf("%w: --from and --to are required", errUsage)
	}
	m, err := loadModel(*modelDir)
	if err != nil {
		return err
	}
	if !isFlagSet(fs, "symbol") {
		data.symbol = m.Meta.Symbol
	}
	from, to := data.from.d, data.to.d
	// The bars before from that the first forecast reads.
	data.from.d = from.AddDays(-(m.Pipeline.History()*7/5 + 15))
	series, err := data.load(ctx, e, false)
	if err != nil {
		return err
	}
	ev, _, err := train.Evaluate(m.Pipeline, series.Bars, from, to)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(ev)
	}
	fmt.Fprintf(e.stdout, "%s on %s\n", m.Meta.Version, data.symbol)
	report.Evaluation(e.stdout, "walk-forward", ev)
	return nil
}
