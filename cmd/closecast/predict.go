package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/predict"
)

var predictCmd = &command{
	name:    "predict",
	summary: "Forecast the close of a day from the model's window of closes ending the day before",
	usage:   "[--model DIR] [--date D] [--symbol S] [--offline] [--csv FILE] [--json]",
	example: `  closecast predict                         # today's close (fetches the days the store lacks)
  closecast predict --offline               # the day after the last known close
  closecast predict --date 2025-07-20 --json
  closecast predict --model out/reference --date 2025-06-01

The close of day D is predicted from the model's window of daily bars ending
D-1 (the last 'window' bars strictly before D). D can be any day from the
first with a full window to the day after the last known close. Days the
store lacks are fetched from Yahoo unless --offline.`,
	run: runPredict,
}

// predictionJSON is predict's --json output (the API's /predict body).
type predictionJSON struct {
	Prediction float64        `json:"prediction"`
	Symbol     string         `json:"symbol"`
	Date       closecast.Date `json:"date"`
	Model      string         `json:"model"`
	Inputs     struct {
		From closecast.Date `json:"from"`
		To   closecast.Date `json:"to"`
		Days int            `json:"days"`
	} `json:"inputs"`
	LastClose float64  `json:"last_close"`
	Change    float64  `json:"change"`
	ChangePct float64  `json:"change_pct"`
	Actual    *float64 `json:"actual,omitempty"`
}

func runPredict(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	modelDir := modelFlag(fs)
	var data dataFlags
	data.register(fs, false)
	var date dateFlag
	fs.Var(&date, "date", "`day` whose close to forecast (default: today, or with --offline or --csv the day after the last known close)")
	offline := fs.Bool("offline", false, "never fetch from Yahoo; use the store and the embedded data only")
	asJSON := fs.Bool("json", false, "print the forecast as JSON (the same body as POST /predict)")
	if err := parse(fs, args); err != nil {
		return err
	}
	m, err := loadModel(*modelDir)
	if err != nil {
		return err
	}
	if !isFlagSet(fs, "symbol") {
		data.symbol = m.Meta.Symbol
	}
	src, closeFn, err := data.source(e, !*offline)
	if err != nil {
		return err
	}
	defer closeFn()
	svc := predict.New(m, src)
	d := date.d
	switch {
	case date.set:
	case !*offline && data.csv == "":
		d = closecast.Today() // the days up to yesterday are fetched if missing
	default:
		last, err := svc.LastKnown(ctx, data.symbol)
		if err != nil {
			return err
		}
		d = last + 1
	}
	p, err := svc.Predict(ctx, data.symbol, d)
	if err != nil {
		return err
	}
	out := predictionJSON{Prediction: p.Value, Symbol: p.Symbol, Date: p.Date, Model: p.Model,
		LastClose: p.LastClose, Change: p.Value - p.LastClose, ChangePct: 100 * (p.Value/p.LastClose - 1), Actual: p.Actual}
	out.Inputs.From, out.Inputs.To, out.Inputs.Days = p.InputFrom, p.InputTo, m.Pipeline.Window
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(out)
	}
	fmt.Fprintf(e.stdout, "%s close on %s: %.2f (%+.2f, %+.2f%% vs last close %.2f on %s)\n",
		p.Symbol, p.Date, p.Value, out.Change, out.ChangePct, p.LastClose, p.InputTo)
	fmt.Fprintf(e.stdout, "  model %s, input window %s .. %s (%d days)\n", p.Model, p.InputFrom, p.InputTo, m.Pipeline.Window)
	if p.Actual != nil {
		fmt.Fprintf(e.stdout, "  actual close: %.2f (error %+.2f, %.2f%%)\n", *p.Actual, p.Value-*p.Actual, 100*abs(p.Value-*p.Actual) / *p.Actual)
	}
	return nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
