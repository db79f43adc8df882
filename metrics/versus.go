package metrics

import "math"

// Significance is the p-value of a Diebold–Mariano test below which a model
// and a baseline are told apart (better or worse); at or above it they are
// level. Evaluations that store the test (artifact.Evaluation's
// VersusPersistence) are judged by it, older ones by LevelTolerance.
const Significance = 0.05

// Tested is the verdict of a Diebold–Mariano test of the model's losses
// against the baseline's with statistic stat (negative: the model's losses
// are lower) and p-value p: Level when p ≥ Significance, else Better or
// Worse by the sign of stat; Undefined when either is NaN or infinite.
func Tested(stat, p float64) Verdict {
	switch {
	case math.IsNaN(stat) || math.IsInf(stat, 0) || math.IsNaN(p) || math.IsInf(p, 0):
		return Undefined
	case p >= Significance:
		return Level
	case stat < 0:
		return Better
	}
	return Worse
}

// LevelTolerance is the relative difference of two errors (MAE against MAE)
// below which a model and a baseline are called level: the data cannot tell
// them apart, so neither is said to be better.
//
// It is the fallback for evaluations stored without the Diebold–Mariano test
// (see Tested), model.json files written before it was stored. It is
// 2 %: on the shipped BTC-USD model the standard error of the mean daily
// difference |model error| − |persistence error| is 0.2 % of MAE over the
// 523-day hold-out and 0.8 % over the 45-day validation window, so 2 % is
// about 2.5 standard errors on the short window; a model less like
// persistence has noisier differences, and this threshold is then lenient
// rather than strict. The dashboard (web/app.js, LEVEL_TOLERANCE) uses the
// same number and a web test keeps the two equal.
const LevelTolerance = 0.02

// Verdict is how a model's error compares with a baseline's.
type Verdict int

// The verdicts of Versus.
const (
	// Undefined: one of the two errors is undefined (NaN) or the baseline's
	// is zero, so there is nothing to compare.
	Undefined Verdict = iota
	// Level: the errors differ by less than LevelTolerance (Versus), or
	// the test cannot tell them apart (Tested).
	Level
	// Better: the model's error is lower by LevelTolerance or more, or
	// significantly lower.
	Better
	// Worse: the model's error is higher by LevelTolerance or more, or
	// significantly higher.
	Worse
)

// String is the word the CLI prints.
func (v Verdict) String() string {
	switch v {
	case Level:
		return "level"
	case Better:
		return "better"
	case Worse:
		return "worse"
	}
	return "undefined"
}

// Versus compares a model's error with a baseline's (lower is better) and
// returns the relative difference model/baseline − 1 with the verdict.
func Versus(model, baseline float64) (Verdict, float64) {
	if math.IsNaN(model) || math.IsNaN(baseline) || math.IsInf(model, 0) || math.IsInf(baseline, 0) || baseline <= 0 {
		return Undefined, math.NaN()
	}
	rel := model/baseline - 1
	switch {
	case math.Abs(rel) < LevelTolerance:
		return Level, rel
	case rel < 0:
		return Better, rel
	}
	return Worse, rel
}
