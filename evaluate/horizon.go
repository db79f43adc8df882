package evaluate

import (
	"fmt"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/metrics"
	"github.com/closecast/closecast/pipeline"
)

// HorizonStep is the accuracy of the forecasts made Step days ahead: every
// origin forecasts days 1..H from the real bars before it (recursively, or
// from a direct head), and step h scores each origin's day h against the
// actual close. The baseline is persistence from the origin: the last
// known close, h days stale. Coverage is the share (percent) of actual
// closes inside the conformal 80 % interval; nil for a model without
// calibration.
type HorizonStep struct {
	Step        int             `json:"step"`
	N           int             `json:"n"`
	From        closecast.Date  `json:"from"` // first and last target day scored
	To          closecast.Date  `json:"to"`
	Model       metrics.Metrics `json:"model"`
	Persistence metrics.Metrics `json:"persistence"`
	Coverage    *float64        `json:"coverage,omitempty"`
}

// Horizon scores multi-day forecasts on the target days from..to:
// origin i (the first forecast day being bars[i], a day of the range)
// forecasts horizon days, and its day h is scored when that day is also in
// the range and bars has it on the calendar day the forecast names. So
// step h has up to horizon−h fewer days than step 1, and no forecast is
// scored on a day after to. It runs on GOMAXPROCS goroutines, each origin
// writing its own slot, so the result does not depend on the thread count.
func Horizon(p *pipeline.Pipeline, bars []closecast.Bar, from, to closecast.Date, horizon int) ([]HorizonStep, error) {
	if horizon < 1 || horizon > pipeline.MaxHorizon {
		return nil, fmt.Errorf("horizon %d: want 1..%d days", horizon, pipeline.MaxHorizon)
	}
	opt := pipeline.HorizonOptions{Horizon: horizon}
	need := max(p.History(), 7)
	if p.Calibration != nil {
		opt.Interval, opt.Levels = pipeline.IntervalConformal, []float64{0.1, 0.9}
		need = max(need, pipeline.VolatilityDays+1)
	}
	s := closecast.Series{Bars: bars}
	lo, hi := max(s.Search(from), need), s.Search(to+1)
	if lo >= hi {
		return nil, fmt.Errorf("%w: %s..%s (need %d bars of history before the first target)", ErrNoTargets, from, to, need)
	}
	n := hi - lo
	outlooks := make([]closecast.Horizon, n)
	err := parallelDays(n, func(k int) error {
		i := lo + k
		o, err := p.Forecast(bars, i, bars[i].Date, opt)
		if err != nil {
			return fmt.Errorf("origin %s: %w", bars[i].Date, err)
		}
		outlooks[k] = o
		return nil
	})
	if err != nil {
		return nil, err
	}
	steps := make([]HorizonStep, 0, horizon)
	for h := 1; h <= horizon; h++ {
		var actual, pred, prev []float64
		var inside int
		st := HorizonStep{Step: h}
		for k, o := range outlooks {
			i := lo + k
			j := i + h - 1
			if j >= hi || bars[j].Date != o.Days[h-1].Date {
				continue
			}
			if st.N == 0 {
				st.From = bars[j].Date
			}
			st.N, st.To = st.N+1, bars[j].Date
			c := bars[j].Close
			actual, pred, prev = append(actual, c), append(pred, o.Days[h-1].Value), append(prev, bars[i-1].Close)
			if q := o.Days[h-1].Quantiles; q != nil && c >= q[0] && c <= q[1] {
				inside++
			}
		}
		if st.N == 0 {
			break
		}
		st.Model = metrics.Compute(actual, pred, prev)
		st.Persistence = metrics.Compute(actual, prev, prev)
		if opt.Interval != "" {
			cov := 100 * float64(inside) / float64(st.N)
			st.Coverage = &cov
		}
		steps = append(steps, st)
	}
	return steps, nil
}
