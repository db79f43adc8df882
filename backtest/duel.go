package backtest

import (
	"fmt"
	"math"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/pipeline"
)

// Duel is the champion/challenger comparison of `closecast retrain`: both
// pipelines forecast the same days one step ahead from the real closes
// before each (evaluate.OneStep), beside the same baselines.
type Duel struct {
	Champion   artifact.Evaluation `json:"champion"`
	Challenger artifact.Evaluation `json:"challenger"`
	// Promote is true when the challenger's MAPE is finite and strictly
	// lower than the champion's (or the champion's is undefined). A tie
	// keeps the champion: replacing a model must be earned.
	Promote bool `json:"promote"`
	// Reason states the comparison in words, for logs and retrain.json.
	Reason string `json:"reason"`
}

// Compare scores champion and challenger on the bars dated from..to of bars
// (which must also hold the history both read before from) and decides.
// Both must forecast exactly the same days; a difference is an error rather
// than an unfair comparison.
func Compare(champion, challenger *pipeline.Pipeline, bars []closecast.Bar, from, to closecast.Date) (Duel, error) {
	champ, _, err := evaluate.OneStep(champion, bars, from, to)
	if err != nil {
		return Duel{}, fmt.Errorf("champion: %w", err)
	}
	chall, _, err := evaluate.OneStep(challenger, bars, from, to)
	if err != nil {
		return Duel{}, fmt.Errorf("challenger: %w", err)
	}
	if champ.N != chall.N || champ.From != chall.From || champ.To != chall.To {
		return Duel{}, fmt.Errorf("champion forecasts %d days %s..%s, challenger %d days %s..%s: not the same days",
			champ.N, champ.From, champ.To, chall.N, chall.From, chall.To)
	}
	d := Duel{Champion: champ, Challenger: chall}
	a, b := chall.Model.MAPE, champ.Model.MAPE
	switch {
	case math.IsNaN(a):
		d.Reason = "challenger MAPE is undefined: champion kept"
	case math.IsNaN(b):
		d.Promote, d.Reason = true, fmt.Sprintf("champion MAPE is undefined, challenger %.4f %%: challenger promoted", a)
	case a < b:
		d.Promote, d.Reason = true, fmt.Sprintf("challenger MAPE %.4f %% < champion %.4f %% on %d days %s..%s: challenger promoted", a, b, chall.N, chall.From, chall.To)
	default:
		d.Reason = fmt.Sprintf("challenger MAPE %.4f %% ≥ champion %.4f %% on %d days %s..%s: champion kept", a, b, chall.N, chall.From, chall.To)
	}
	return d, nil
}
