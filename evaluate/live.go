package evaluate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/closecast/closecast"
)

// Online is the state of an adaptation (see the design of Adapt) after the
// outcomes seen so far: one tracker of α_t and the sorted past conformity
// scores per central interval. Adapt runs one over a walk-forward; `serve`
// runs one over the ledger's scored forecasts and applies it to the
// forecast it answers, so both adapt with the same code. Observe is not
// safe for concurrent use; Apply, Alpha and Factor only read, so a state
// no longer observed may be shared.
type Online struct {
	trackers [numPairs]Tracker
	sorted   [numPairs][]float64
	n        int
}

// NewOnline returns the state of adaptation a before any outcome: every
// interval at its nominal level, the base intervals unchanged.
func NewOnline(a Adaptation) *Online {
	o := &Online{}
	for i := range o.trackers {
		o.trackers[i] = a.Tracker(2 * Levels[i])
	}
	return o
}

// Observe learns from one outcome y of the base forecast q: each interval's
// tracker is updated with the day's β and its conformity score joins the
// past ones. Nothing changes on error (an interval without width).
func (o *Online) Observe(q *Quantiles, y float64) error {
	var s [numPairs]float64
	for i := range numPairs {
		var err error
		if s[i], err = conformity(q[i], q.Median(), q[NumLevels-1-i], y); err != nil {
			return err
		}
	}
	for i := range numPairs {
		o.trackers[i].Update(coveredAbove(o.sorted[i], s[i]))
		at, _ := slices.BinarySearch(o.sorted[i], s[i])
		o.sorted[i] = slices.Insert(o.sorted[i], at, s[i])
	}
	o.n++
	return nil
}

// N returns how many outcomes were observed.
func (o *Online) N() int { return o.n }

// Alpha returns α_t of the central interval of pair i (Levels[i],
// Levels[NumLevels−1−i]), i < NumLevels/2.
func (o *Online) Alpha(i int) float64 { return o.trackers[i].Alpha() }

// Factor returns the conformal factor Q of pair i at its α_t: the adapted
// interval is m − Q·(m − lo) .. m + Q·(hi − m).
func (o *Online) Factor(i int) float64 { return conformalFactor(o.sorted[i], o.trackers[i].Alpha()) }

// Apply returns the adapted forecast of base quantiles q: each interval
// scaled by its Factor around q's median, then sorted (the monotone
// rearrangement); the median stays q's.
func (o *Online) Apply(q *Quantiles) Quantiles {
	var r Quantiles
	m := q.Median()
	r[medianIndex] = m
	for i := range numPairs {
		f := o.Factor(i)
		r[i] = m - f*(m-q[i])
		r[NumLevels-1-i] = m + f*(q[NumLevels-1-i]-m)
	}
	slices.Sort(r[:])
	return r
}

// PairOf80 is the pair index of the 80 % central interval (Levels 0.10 and
// 0.90), whose Alpha and Factor `serve` reports.
const PairOf80 = 2

// A LiveForecast is one scored forecast of the ledger, as LiveMethods
// scores it: the day, the model's point forecast and its base quantiles
// (closecast.DistributionLevels), and the actual close.
type LiveForecast struct {
	Date      closecast.Date
	Point     float64
	Quantiles Quantiles
	Actual    float64
}

// Names of the live methods of LiveMethods.
var (
	NameLiveModel = NameModel
	NameLiveACI   = NameModelACI
	NameLiveFACI  = NameModelFACI // the model adapted by FACI
)

// LiveForecasts turns a ledger's scored predictions (any order, Actual
// set) into the forecasts to adapt and score, ascending by date: those
// with quantiles, one per day (of several models' forecasts of a day, the
// one of the greatest model version: versions are stamped with their
// training time, so the newest model). A distribution with a central
// interval of no width on a side of its median (tied quantiles, which
// the ledger accepts) is left out: ACI's conformity score has no unit
// there, and one such row must not stop every later adaptation.
func LiveForecasts(ps []closecast.Prediction) ([]LiveForecast, error) {
	sorted := slices.Clone(ps)
	slices.SortStableFunc(sorted, func(a, b closecast.Prediction) int {
		return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(b.Model, a.Model))
	})
	var out []LiveForecast
	for _, p := range sorted {
		if p.Actual == nil || p.Quantiles == nil || len(out) > 0 && out[len(out)-1].Date == p.Date || !hasWidth(p.Quantiles) {
			continue
		}
		if err := closecast.ValidateDistribution(p.Quantiles); err != nil {
			return nil, fmt.Errorf("ledger forecast of %s by %s: %w", p.Date, p.Model, err)
		}
		f := LiveForecast{Date: p.Date, Point: p.Value, Actual: *p.Actual, Quantiles: Quantiles(*p.Quantiles)}
		out = append(out, f)
	}
	return out, nil
}

// hasWidth reports whether every central interval of q has width on both
// sides of its median.
func hasWidth(q *closecast.Distribution) bool {
	for i := range numPairs {
		if !(q[i] < q[medianIndex] && q[medianIndex] < q[NumLevels-1-i]) {
			return false
		}
	}
	return true
}

// LiveOnline returns the state of adaptation a after the outcomes of fs,
// in order: what `serve` applies to its next forecast.
func LiveOnline(fs []LiveForecast, a Adaptation) (*Online, error) {
	o := NewOnline(a)
	for k := range fs {
		if err := o.Observe(&fs[k].Quantiles, fs[k].Actual); err != nil {
			return nil, fmt.Errorf("ledger forecast of %s: %w", fs[k].Date, err)
		}
	}
	return o, nil
}

// LiveMethods returns the days of fs that series (the symbol's stored
// bars) holds with enough bars before them for every baseline, and on
// them: the model's recorded quantiles (NameLiveModel, its point forecasts
// as Points), the model adapted by a over all of fs in order (named after
// a; with ACI, NameLiveACI: what `serve` answered from its ledger), and the five
// baselines of NewBaselines walked forward from the bars before each day.
// skipped counts the forecasts of fs left out. Each day's Last is the
// close of the bar before it, the baselines' origin. A fitted baseline's
// forecast of a day depends on the returns from series' first bar (see
// RefitDays), so series should start on a fixed day.
func LiveMethods(series closecast.Series, fs []LiveForecast, a Adaptation) (days Days, methods []Method, skipped int, err error) {
	return liveMethods(series, fs, nil, a)
}

// baselineDay is the walk-forward of one day by every baseline: its Days
// fields and the forecasts, in NewBaselines' order.
type baselineDay struct {
	last, vol float64
	q         []Quantiles
}

// liveMethods is LiveMethods reusing the baselines' forecasts of the days
// known holds (nil: none) and adding those it makes: a baseline's forecast
// of a day is a function of the bars of series before it, so a refresh
// after a new scored day walks only that day. (A close revised after its
// next day was walked is not re-walked: providers revise the current
// day's partial bar, which no scored day's forecast reads.)
func liveMethods(series closecast.Series, fs []LiveForecast, known map[closecast.Date]baselineDay, adapt Adaptation) (days Days, methods []Method, skipped int, err error) {
	model := Method{Name: NameLiveModel, Forecasts: make([]Quantiles, len(fs)), Points: make([]float64, len(fs))}
	live := Days{Horizon: 1, Dates: make([]closecast.Date, len(fs)), Actual: make([]float64, len(fs))}
	for k, f := range fs {
		model.Forecasts[k], model.Points[k] = f.Quantiles, f.Point
		live.Dates[k], live.Actual[k] = f.Date, f.Actual
	}
	aci, err := Adapt(live, model, adapt)
	if err != nil {
		return Days{}, nil, 0, err
	}
	baselines := NewBaselines()
	need := max(MinReturns(baselines), VolatilityDays) + 1 // bars before a day, as NewWalk wants
	var keep, at []int                                     // indices into fs, and of their bars in series
	var todo []int                                         // the bars of the days not in known
	for k, f := range fs {
		if i := series.Index(f.Date); i >= need {
			keep, at = append(keep, k), append(at, i)
			if _, ok := known[f.Date]; !ok {
				todo = append(todo, i)
			}
		}
	}
	skipped = len(fs) - len(keep)
	if len(keep) == 0 {
		return Days{Horizon: 1}, nil, skipped, nil
	}
	if known == nil {
		known = make(map[closecast.Date]baselineDay, len(todo))
	}
	if len(todo) > 0 {
		w, err := NewWalk(series, series.Bars[todo[0]].Date, series.Bars[todo[len(todo)-1]].Date, 1, MinReturns(baselines))
		if err != nil {
			return Days{}, nil, 0, err
		}
		// Walk only the days to do: a baseline's forecast of a day
		// depends on the returns before it alone, not on the days walked.
		first := w.Targets[0]
		sub := Days{Horizon: 1}
		for _, i := range todo {
			t := i - first
			sub.Dates = append(sub.Dates, w.Days.Dates[t])
			sub.Actual = append(sub.Actual, w.Days.Actual[t])
			sub.Last = append(sub.Last, w.Days.Last[t])
			sub.Volatility = append(sub.Volatility, w.Days.Volatility[t])
		}
		w.Targets, w.Days = todo, sub
		base, err := w.Run(baselines)
		if err != nil {
			return Days{}, nil, 0, err
		}
		for j, d := range sub.Dates {
			bd := baselineDay{last: sub.Last[j], vol: sub.Volatility[j], q: make([]Quantiles, len(base))}
			for b := range base {
				bd.q[b] = base[b].Forecasts[j]
			}
			known[d] = bd
		}
	}
	n := len(keep)
	days = Days{Horizon: 1, Dates: make([]closecast.Date, n), Actual: make([]float64, n), Last: make([]float64, n), Volatility: make([]float64, n)}
	m := Method{Name: model.Name, Forecasts: make([]Quantiles, n), Points: make([]float64, n)}
	a := Method{Name: aci.Name, Forecasts: make([]Quantiles, n)}
	base := make([]Method, len(baselines))
	for b := range base {
		base[b] = Method{Name: baselines[b].Name(), Forecasts: make([]Quantiles, n)}
	}
	for j, k := range keep {
		d := fs[k].Date
		bd := known[d]
		days.Dates[j], days.Actual[j], days.Last[j], days.Volatility[j] = d, series.Bars[at[j]].Close, bd.last, bd.vol
		m.Forecasts[j], m.Points[j] = model.Forecasts[k], model.Points[k]
		a.Forecasts[j] = aci.Forecasts[k]
		for b := range base {
			base[b].Forecasts[j] = bd.q[b]
		}
	}
	a.Points = m.Points
	return days, append([]Method{m, a}, base...), skipped, nil
}

// ScoreLive scores the days from..to of LiveMethods' days and methods
// as /api/accuracy reports them: the 80 % coverage, mean pinball loss and
// 80 % Winkler score of each (Score, the functions `closecast evaluate`
// uses), and the best baseline by mean pinball loss (the first on a tie).
// With fewer than two days it returns only N, From and To.
func ScoreLive(days Days, methods []Method, from, to closecast.Date) (*closecast.DistributionAccuracy, error) {
	out := &closecast.DistributionAccuracy{Baselines: []closecast.DistributionScore{}}
	d, ms, err := Between(days, methods, from, to)
	if errors.Is(err, ErrNoTargets) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	out.N, out.From, out.To = d.Len(), d.Dates[0], d.Dates[d.Len()-1]
	if d.Len() < 2 {
		return out, nil
	}
	rep, err := Score(d, ms, "")
	if err != nil {
		return nil, err
	}
	for _, s := range rep.Methods {
		ds := closecast.DistributionScore{Method: s.Method, Coverage80: s.Interval(80).Coverage, PinballPct: s.PinballPct, Winkler80Pct: s.Winkler80Pct}
		switch s.Method {
		case NameLiveModel:
			out.Model = &ds
		case NameLiveACI, NameLiveFACI:
			out.Adaptive = &ds
		default:
			out.Baselines = append(out.Baselines, ds)
		}
	}
	for i := range out.Baselines {
		if out.Best == nil || out.Baselines[i].PinballPct < out.Best.PinballPct {
			out.Best = &out.Baselines[i]
		}
	}
	return out, nil
}

// ScoredLedger is what Live reads of a ledger of live forecasts
// (closecast.Ledger; sqlite.DB and postgres.DB are).
type ScoredLedger interface {
	Scored(ctx context.Context, symbol string, days int) ([]closecast.Prediction, error)
}

// ranger is a bar source that knows its last day without reading bars
// (history.Layered).
type ranger interface {
	Range(ctx context.Context, symbol string) (first, last closecast.Date, ok bool, err error)
}

// ledgerDays is how far back the live scores and the adaptation read the
// ledger: the stores' MaxLedgerDays (sqlite, postgres), ten years.
const ledgerDays = 3660

// Live scores the ledger's forecast distributions and adapts the served
// intervals from them: the closecast.DistributionScorer of /api/accuracy
// and the ACI behind /predict's intervals, both with package evaluate's
// code. Its work is cached per symbol and refreshed only when the newest
// scored day (and, for the baselines, the newest stored bar) changes, so
// neither the GARCH fits nor the adaptation run per request. It is safe for
// concurrent use.
type Live struct {
	ledger ScoredLedger
	bars   closecast.Source // the stored bars, offline: scoring never asks a provider
	adapt  Adaptation       // what Online runs and ScoreDistribution scores as the adapted model

	mu   sync.Mutex // serialises refreshes: one computation per change
	aci  map[string]*aciState
	dist map[string]*distState
}

// aciState is the ACI state after a symbol's scored forecasts up to newest.
type aciState struct {
	newest closecast.Date
	online *Online // read only once built
}

// distState is the model, ACI and baseline forecasts of a symbol's scored
// days, for the ledger as it was with newest scored and lastBar stored.
type distState struct {
	newest, lastBar closecast.Date
	all             []closecast.Date // every scored day with quantiles
	days            Days             // those the baselines could forecast
	methods         []Method
	// start is the first bar of the series the baselines walked, and
	// known their forecasts of each day so far: kept across refreshes
	// while start stays (liveMethods).
	start closecast.Date
	known map[closecast.Date]baselineDay
}

// NewLive returns the scorer and adapter of ledger's forecasts, reading
// bars from bars (which should not fetch: scored days' closes are stored),
// adapting by a (Online) and scoring the model adapted by a beside it
// (ScoreDistribution's Adaptive): what `serve` answers.
func NewLive(ledger ScoredLedger, bars closecast.Source, a Adaptation) *Live {
	return &Live{ledger: ledger, bars: bars, adapt: a, aci: map[string]*aciState{}, dist: map[string]*distState{}}
}

// newestScored returns the newest scored day of symbol; ok is false when
// none is scored.
func (l *Live) newestScored(ctx context.Context, symbol string) (d closecast.Date, ok bool, err error) {
	ps, err := l.ledger.Scored(ctx, symbol, 1)
	if err != nil || len(ps) == 0 {
		return 0, false, err
	}
	return ps[0].Date, true, nil
}

// forecasts returns symbol's scored forecasts with quantiles, ascending.
func (l *Live) forecasts(ctx context.Context, symbol string) ([]LiveForecast, error) {
	ps, err := l.ledger.Scored(ctx, symbol, ledgerDays)
	if err != nil {
		return nil, err
	}
	return LiveForecasts(ps)
}

// Online returns the state of the Live's adaptation (LiveOnline) after
// symbol's scored forecasts; nil when none has quantiles.
func (l *Live) Online(ctx context.Context, symbol string) (*Online, error) {
	newest, ok, err := l.newestScored(ctx, symbol)
	if err != nil || !ok {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.aci[symbol]; st != nil && st.newest == newest {
		return st.online, nil
	}
	fs, err := l.forecasts(ctx, symbol)
	if err != nil {
		return nil, err
	}
	var o *Online
	if len(fs) > 0 {
		if o, err = LiveOnline(fs, l.adapt); err != nil {
			return nil, err
		}
	}
	l.aci[symbol] = &aciState{newest: newest, online: o}
	return o, nil
}

// ScoreDistribution implements closecast.DistributionScorer.
func (l *Live) ScoreDistribution(ctx context.Context, symbol string, days int) (*closecast.DistributionAccuracy, error) {
	newest, ok, err := l.newestScored(ctx, symbol)
	if err != nil || !ok {
		return nil, err
	}
	r, ok := l.bars.(ranger)
	if !ok {
		return nil, errors.New("evaluate: the bar source cannot tell its range")
	}
	_, lastBar, _, err := r.Range(ctx, symbol)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	st := l.dist[symbol]
	if st == nil || st.newest != newest || st.lastBar != lastBar {
		if st, err = l.refreshDist(ctx, symbol, st, newest, lastBar); err != nil {
			l.mu.Unlock()
			return nil, err
		}
		l.dist[symbol] = st
	}
	l.mu.Unlock()
	if len(st.all) == 0 {
		return nil, nil
	}
	from := newest.AddDays(1 - days) // Scored's window: days calendar days ending on the newest
	acc := &closecast.DistributionAccuracy{Baselines: []closecast.DistributionScore{}}
	if st.days.Len() > 0 {
		if acc, err = ScoreLive(st.days, st.methods, from, newest); err != nil {
			return nil, err
		}
	}
	lo, _ := slices.BinarySearch(st.all, from)
	acc.Skipped = len(st.all) - lo - acc.N
	return acc, nil
}

// refreshDist rebuilds symbol's distState from the ledger and the bars.
func (l *Live) refreshDist(ctx context.Context, symbol string, prev *distState, newest, lastBar closecast.Date) (*distState, error) {
	fs, err := l.forecasts(ctx, symbol)
	if err != nil {
		return nil, err
	}
	st := &distState{newest: newest, lastBar: lastBar}
	if len(fs) == 0 {
		return st, nil
	}
	for _, f := range fs {
		st.all = append(st.all, f.Date)
	}
	// From a fixed span (enough calendar days for the bars every baseline
	// needs, even for a market closed two days a week) before the first
	// scored day, which stays the same as days are scored: so the fitted
	// baselines' forecasts of a day stay the same too, and are reused.
	need := max(MinReturns(NewBaselines()), VolatilityDays) + 1
	series, err := l.bars.Bars(ctx, symbol, fs[0].Date.AddDays(-(need*7/5 + 30)), fs[len(fs)-1].Date)
	if err != nil {
		return nil, fmt.Errorf("evaluate: bars of %s for the live scores: %w", symbol, err)
	}
	if first, ok := series.First(); ok {
		st.start = first
	}
	if prev != nil && prev.start == st.start && prev.known != nil {
		st.known = prev.known
	} else {
		st.known = map[closecast.Date]baselineDay{}
	}
	st.days, st.methods, _, err = liveMethods(series, fs, st.known, l.adapt)
	if err != nil {
		return nil, fmt.Errorf("evaluate: live scores of %s: %w", symbol, err)
	}
	return st, nil
}

// A Live is /api/accuracy's distribution scorer.
var _ closecast.DistributionScorer = (*Live)(nil)
