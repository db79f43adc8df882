package evaluate

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"

	"github.com/closecast/closecast"
)

// Method is one forecaster's quantile forecasts on the days of a
// Days: Forecasts[k] holds the Levels-quantiles of the close of day k.
type Method struct {
	Name      string
	Forecasts []Quantiles
	// Points are the method's point forecasts of the days' closes, scored
	// by absolute error (MAEPct and Diebold–Mariano on points); nil means
	// the medians of Forecasts. A model whose point forecast is not its
	// median (the LSTM's close beside a conformal band) sets them.
	Points []float64
}

// point returns the point forecast of day k.
func (m *Method) point(k int) float64 {
	if m.Points != nil {
		return m.Points[k]
	}
	return m.Forecasts[k].Median()
}

// Report scores several methods on the same days. Every loss is in percent
// of the day's last close (the origin's), so days at 20,000 and 100,000
// weigh alike; lower is better for every loss.
type Report struct {
	From    closecast.Date `json:"from"`    // first day scored
	To      closecast.Date `json:"to"`      // last day scored
	N       int            `json:"n"`       // days scored
	Horizon int            `json:"horizon"` // days ahead of the origin; 1 for one-step forecasts
	Methods []MethodScore  `json:"methods"` // one per method, in the order given
	// Reference is the method the Diebold–Mariano comparisons are made
	// with: Score's reference, compared against every other method, or
	// ScoreAgainstBest's best baseline, every non-baseline compared
	// against it.
	Reference   string       `json:"reference,omitempty"`
	Comparisons []Comparison `json:"comparisons,omitempty"`
}

// MethodScore are one method's scores.
type MethodScore struct {
	Method       string  `json:"method"`
	PinballPct   float64 `json:"pinball_pct"`   // mean pinball loss over the 19 levels 0.05..0.95 (MeanPinball)
	Winkler80Pct float64 `json:"winkler80_pct"` // mean Winkler score of the 80 % interval
	Winkler95Pct float64 `json:"winkler95_pct"` // mean Winkler score of the 95 % interval [q0.025, q0.975]
	MAEPct       float64 `json:"mae_pct"`       // mean absolute error of the point forecast (Method.Points, else the median)
	// Intervals are the central intervals of IntervalLevels, in that order.
	Intervals []IntervalScore `json:"intervals"`
	// Terciles is the 80 % coverage within each third of the days by
	// volatility at the origin, calmest first.
	Terciles [3]TercileScore `json:"coverage80_by_volatility_tercile"`
	// PIT counts the days per PIT decile (PITBin): bin b holds the days
	// whose forecast CDF at the outcome lay in [0.1b, 0.1b+0.1).
	PIT [PITBins]int `json:"pit"`
}

// IntervalScore is the coverage of one central interval and its
// calibration tests.
type IntervalScore struct {
	Level    int     `json:"level"`     // nominal coverage in percent
	Coverage float64 `json:"coverage"`  // percent of days whose close lay inside
	Misses   int     `json:"misses"`    // days outside
	WidthPct float64 `json:"width_pct"` // mean width
	// Kupiec tests misses/N against 1 − Level/100 (unconditional coverage).
	Kupiec Test `json:"kupiec"`
	// Christoffersen tests that a miss does not make the next day's more
	// (or less) likely (independence).
	Christoffersen Test `json:"christoffersen"`
}

// TercileScore is the 80 % coverage on one volatility tercile.
type TercileScore struct {
	N        int     `json:"n"`        // days in the tercile
	VolFrom  float64 `json:"vol_from"` // lowest origin volatility in it (daily log-return σ)
	VolTo    float64 `json:"vol_to"`   // highest
	Coverage float64 `json:"coverage"` // percent of its days inside the 80 % interval
}

// Comparison is the Diebold–Mariano test of Model against Baseline on the
// same days (DieboldMariano; a negative Stat favours Model). A test that
// is undefined (e.g. identical forecasts) is omitted and Error says why.
type Comparison struct {
	Model    string `json:"model"`
	Baseline string `json:"baseline"`
	Pinball  *Test  `json:"pinball,omitempty"`   // on the per-day mean pinball loss
	AbsError *Test  `json:"abs_error,omitempty"` // on the per-day absolute error of the point forecast
	Error    string `json:"error,omitempty"`
}

// Score scores methods on days and compares reference, when not empty,
// with every other method (Diebold–Mariano with days.Horizon−1 lags).
// Every method needs one valid (non-crossing, finite) forecast per day.
func Score(days Days, methods []Method, reference string) (*Report, error) {
	rep, losses, err := scoreAll(days, methods)
	if err != nil || reference == "" {
		return rep, err
	}
	ref := slices.IndexFunc(methods, func(m Method) bool { return m.Name == reference })
	if ref < 0 {
		return nil, fmt.Errorf("reference method %q is not among the methods", reference)
	}
	rep.Reference = reference
	for m, meth := range methods {
		if m != ref {
			rep.Comparisons = append(rep.Comparisons, compare(reference, meth.Name, losses[ref], losses[m], days.Horizon))
		}
	}
	return rep, nil
}

// ScoreAgainstBest scores methods on days like Score, and compares every
// method that is not one of baselines (the model and its variants) with
// the best of the baselines by mean pinball loss, which becomes the
// Reference: each Comparison has the method as Model and the best
// baseline as Baseline, so a negative statistic favours the method.
func ScoreAgainstBest(days Days, methods []Method, baselines []string) (*Report, error) {
	rep, losses, best, err := scoreWithBest(days, methods, baselines)
	if err != nil {
		return nil, err
	}
	for m, meth := range methods {
		if !slices.Contains(baselines, meth.Name) {
			rep.Comparisons = append(rep.Comparisons, compare(meth.Name, rep.Reference, losses[m], losses[best], days.Horizon))
		}
	}
	return rep, nil
}

// scoreWithBest scores methods and makes the best of baselines by mean
// pinball loss (the first on a tie) the Reference, returning its index.
func scoreWithBest(days Days, methods []Method, baselines []string) (*Report, []dayLosses, int, error) {
	rep, losses, err := scoreAll(days, methods)
	if err != nil {
		return nil, nil, 0, err
	}
	best := -1
	for m, s := range rep.Methods {
		if slices.Contains(baselines, s.Method) && (best < 0 || s.PinballPct < rep.Methods[best].PinballPct) {
			best = m
		}
	}
	if best < 0 {
		return nil, nil, 0, fmt.Errorf("none of the baselines %v is among the methods", baselines)
	}
	rep.Reference = methods[best].Name
	return rep, losses, best, nil
}

// dayLosses are one method's per-day losses, in percent of the last close.
type dayLosses struct{ pinball, absErr []float64 }

// scoreAll checks days and methods and scores every method.
func scoreAll(days Days, methods []Method) (*Report, []dayLosses, error) {
	n, h := days.Len(), days.Horizon
	if h < 1 {
		return nil, nil, fmt.Errorf("days: horizon %d, want ≥ 1", h)
	}
	if n < 2 {
		return nil, nil, fmt.Errorf("%w: %d days to score, need 2", ErrNoTargets, n)
	}
	if len(days.Actual) != n || len(days.Last) != n || len(days.Volatility) != n {
		return nil, nil, fmt.Errorf("days: %d dates, %d actual, %d last, %d volatility", n, len(days.Actual), len(days.Last), len(days.Volatility))
	}
	rep := &Report{From: days.Dates[0], To: days.Dates[n-1], N: n, Horizon: h}
	tercile := make([]int, n)
	Terciles(days.Volatility, tercile)
	losses := make([]dayLosses, len(methods))
	for m, meth := range methods {
		if len(meth.Forecasts) != n || meth.Points != nil && len(meth.Points) != n {
			return nil, nil, fmt.Errorf("method %s has %d forecasts and %d points for %d days", meth.Name, len(meth.Forecasts), len(meth.Points), n)
		}
		for k := range meth.Forecasts {
			if err := meth.Forecasts[k].Validate(); err != nil {
				return nil, nil, fmt.Errorf("method %s, %s: %w", meth.Name, days.Dates[k], err)
			}
		}
		s, err := scoreMethod(days, meth, tercile, &losses[m].pinball, &losses[m].absErr)
		if err != nil {
			return nil, nil, err
		}
		rep.Methods = append(rep.Methods, s)
	}
	return rep, losses, nil
}

// compare runs the Diebold–Mariano tests of model against baseline.
func compare(model, baseline string, lm, lb dayLosses, h int) Comparison {
	c := Comparison{Model: model, Baseline: baseline}
	p, perr := DieboldMariano(lm.pinball, lb.pinball, h)
	a, aerr := DieboldMariano(lm.absErr, lb.absErr, h)
	if perr == nil {
		c.Pinball = &p
	}
	if aerr == nil {
		c.AbsError = &a
	}
	if err := cmp.Or(perr, aerr); err != nil {
		c.Error = err.Error()
	}
	return c
}

// scoreMethod computes one method's scores and its per-day pinball and
// absolute-error losses (percent of the last close), for Diebold–Mariano.
func scoreMethod(days Days, meth Method, tercile []int, pinball, absErr *[]float64) (MethodScore, error) {
	n := days.Len()
	s := MethodScore{Method: meth.Name}
	*pinball = make([]float64, n)
	*absErr = make([]float64, n)
	miss := make([][]bool, len(IntervalLevels))
	for l := range miss {
		miss[l] = make([]bool, n)
	}
	var width [len(IntervalLevels)]float64
	var terIn, terN [3]int
	for t := range s.Terciles {
		s.Terciles[t].VolFrom, s.Terciles[t].VolTo = math.Inf(1), math.Inf(-1)
	}
	for k := range n {
		q, y, pct := &meth.Forecasts[k], days.Actual[k], 100/days.Last[k]
		(*pinball)[k] = MeanPinball(q, y) * pct
		(*absErr)[k] = math.Abs(y-meth.point(k)) * pct
		s.PinballPct += (*pinball)[k]
		s.MAEPct += (*absErr)[k]
		for l, level := range IntervalLevels {
			lo, hi := q.Interval(level)
			miss[l][k] = !Covered(lo, hi, y)
			width[l] += (hi - lo) * pct
			switch level {
			case 80:
				s.Winkler80Pct += Winkler(lo, hi, 0.2, y) * pct
				t := &s.Terciles[tercile[k]]
				t.VolFrom, t.VolTo = min(t.VolFrom, days.Volatility[k]), max(t.VolTo, days.Volatility[k])
				terN[tercile[k]]++
				if !miss[l][k] {
					terIn[tercile[k]]++
				}
			case 95:
				s.Winkler95Pct += Winkler(lo, hi, 0.05, y) * pct
			}
		}
		s.PIT[PITBin(q, y)]++
	}
	fn := float64(n)
	s.PinballPct /= fn
	s.MAEPct /= fn
	s.Winkler80Pct /= fn
	s.Winkler95Pct /= fn
	for t := range s.Terciles {
		ts := &s.Terciles[t]
		ts.N = terN[t]
		if ts.N == 0 { // fewer than three days: no volatility range (JSON has no ±Inf)
			ts.VolFrom, ts.VolTo = 0, 0
			continue
		}
		ts.Coverage = 100 * float64(terIn[t]) / float64(ts.N)
	}
	for l, level := range IntervalLevels {
		misses := 0
		for _, m := range miss[l] {
			if m {
				misses++
			}
		}
		kup, err := Kupiec(misses, n, 1-float64(level)/100)
		if err != nil {
			return s, err
		}
		chr, err := Christoffersen(miss[l])
		if err != nil {
			return s, err
		}
		s.Intervals = append(s.Intervals, IntervalScore{
			Level: level, Coverage: 100 * float64(n-misses) / fn, Misses: misses,
			WidthPct: width[l] / fn, Kupiec: kup, Christoffersen: chr,
		})
	}
	return s, nil
}

// Interval returns the score of the central interval of level percent, or
// nil if the report has none.
func (s *MethodScore) Interval(level int) *IntervalScore {
	for i := range s.Intervals {
		if s.Intervals[i].Level == level {
			return &s.Intervals[i]
		}
	}
	return nil
}

// Best returns the name of the method with the lowest mean pinball loss
// (the first on a tie), or "" for a report without methods.
func (r *Report) Best() string {
	if len(r.Methods) == 0 {
		return ""
	}
	best := slices.MinFunc(r.Methods, func(a, b MethodScore) int {
		switch {
		case a.PinballPct < b.PinballPct:
			return -1
		case a.PinballPct > b.PinballPct:
			return 1
		}
		return 0
	})
	return best.Method
}

// WriteTable writes r as a compact aligned text table, one row per
// method: coverage of each central interval, 80 % coverage per volatility
// tercile, mean pinball loss, Winkler scores and point MAE (percent of the
// last close), the 80 % Kupiec and Christoffersen p-values, and the
// Diebold–Mariano statistic and p-value on pinball loss of the row's
// method against the Reference, oriented so that a negative statistic
// favours the row ("-" when no comparison was made).
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "method\tcov50\tcov80\tcov90\tcov95\tcov80 calm/mid/wild\tpinball%%\twinkler80%%\twinkler95%%\tmae%%\tkupiec80 p\tchristof80 p\tDM pinball vs %s (p)\t\n", cmp.Or(r.Reference, "-"))
	for _, s := range r.Methods {
		fmt.Fprintf(tw, "%s\t", s.Method)
		for _, iv := range s.Intervals {
			fmt.Fprintf(tw, "%.1f\t", iv.Coverage)
		}
		fmt.Fprintf(tw, "%.1f/%.1f/%.1f\t%.4f\t%.3f\t%.3f\t%.4f\t", s.Terciles[0].Coverage, s.Terciles[1].Coverage, s.Terciles[2].Coverage,
			s.PinballPct, s.Winkler80Pct, s.Winkler95Pct, s.MAEPct)
		iv := s.Interval(80)
		fmt.Fprintf(tw, "%.3f\t%.3f\t", iv.Kupiec.P, iv.Christoffersen.P)
		dm := "-"
		if s.Method == r.Reference {
			dm = "reference"
		} else if t, ok := r.versus(s.Method); ok {
			dm = fmt.Sprintf("%+.2f (%.3f)", t.Stat, t.P)
		}
		fmt.Fprintf(tw, "%s\t\n", dm)
	}
	return tw.Flush()
}

// versus returns the Diebold–Mariano test on pinball loss of method
// against the Reference, negative when method's losses are lower: a
// comparison of the method against the reference as is, one of the
// reference against the method with its sign flipped (the statistic is
// antisymmetric and its two-sided p-value symmetric).
func (r *Report) versus(method string) (Test, bool) {
	for _, c := range r.Comparisons {
		switch {
		case c.Pinball == nil:
		case c.Model == method && c.Baseline == r.Reference:
			return *c.Pinball, true
		case c.Model == r.Reference && c.Baseline == method:
			return Test{Stat: -c.Pinball.Stat, P: c.Pinball.P}, true
		}
	}
	return Test{}, false
}

// JSONHelp documents the keys of a Report's JSON form, for a command's
// --help. Every loss is in percent of the origin's close; lower is better.
const JSONHelp = `JSON keys of a report (losses in % of the forecast origin's close; lower is better):
  from, to, n, horizon      first and last day scored, days scored, days ahead of the origin
  reference                 the method the Diebold-Mariano comparisons are made with
  methods[]                 one per method:
    method                  its name
    pinball_pct             mean pinball loss over the quantile levels 0.05, 0.10, ..., 0.95
    winkler80_pct           mean Winkler score of the 80 % central interval [q0.10, q0.90]
    winkler95_pct           mean Winkler score of the 95 % central interval [q0.025, q0.975]
    mae_pct                 mean absolute error of the point forecast
    intervals[]             one per central interval (50, 80, 90, 95 %):
      level                 nominal coverage, %
      coverage              % of days whose close lay inside
      misses                days outside
      width_pct             mean width
      kupiec                unconditional-coverage test: {stat (LR, chi2(1)), p}
      christoffersen        independence-of-misses test: {stat, p}
    coverage80_by_volatility_tercile[]  calmest third of the days first:
      n                     days in the tercile
      vol_from, vol_to      range of the 30-day volatility at the origin (daily log-return sd)
      coverage              % of its days inside the 80 % interval
    pit                     days per PIT decile, 10 counts
  comparisons[]             Diebold-Mariano tests (HLN-corrected, Newey-West with horizon-1 lags):
    model, baseline         the two methods; a negative stat favours model
    pinball                 on the per-day mean pinball loss: {stat, p}
    abs_error               on the per-day absolute error of the point forecast: {stat, p}
    error                   why a test is missing (e.g. identical forecasts)
`
