package evaluate

import (
	"fmt"
	"slices"

	"github.com/closecast/closecast"
)

// Names of the adapted methods of Lineup.
var (
	NameModelACI  = NameModel + "+" + ACI{}.Name()
	NameModelFACI = NameModel + "+" + FACI{}.Name()
	NameGARCHACI  = NameGARCHT + "+" + ACI{}.Name()
)

// BaselineNames are the names of NewBaselines, in order.
func BaselineNames() []string {
	var names []string
	for _, b := range NewBaselines() {
		names = append(names, b.Name())
	}
	return names
}

// Lineup returns issue 15's comparison on every target of w: the model's
// conformal quantiles (NameModel, from folds, see Model), the model
// adapted by ACI (γ = ACIGamma) and by FACI (FACIGammas, FACIInterval),
// the five baselines (NewBaselines), and GARCH(1,1)-t adapted by ACI. The
// adaptation starts at w's first target and learns from every outcome
// after it; to score a later range, walk from an earlier day and cut the
// range out with Between, so the adaptation has a history (never the
// range's own future).
func (w *Walk) Lineup(folds ...ModelFold) ([]Method, error) {
	model, err := w.Model(NameModel, folds...)
	if err != nil {
		return nil, err
	}
	return w.LineupOf(model)
}

// LineupOf is Lineup around any model's forecasts of w's targets (e.g. a
// quantile head's, Walk.QuantileHead) instead of conformal ones: model,
// model adapted by ACI and FACI (named after model), the five baselines
// and GARCH(1,1)-t adapted by ACI.
func (w *Walk) LineupOf(model Method) ([]Method, error) {
	base, err := w.Run(NewBaselines())
	if err != nil {
		return nil, err
	}
	aci := ACI{Gamma: ACIGamma}
	faci := FACI{Gammas: FACIGammas, Interval: FACIInterval}
	out := []Method{model}
	for _, a := range []Adaptation{aci, faci} {
		m, err := Adapt(w.Days, model, a)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	out = append(out, base...)
	g := slices.IndexFunc(base, func(m Method) bool { return m.Name == NameGARCHT })
	m, err := Adapt(w.Days, base[g], aci)
	if err != nil {
		return nil, err
	}
	return append(out, m), nil
}

// Between returns the days dated from..to and every method's forecasts of
// them (sharing storage with days and methods).
func Between(days Days, methods []Method, from, to closecast.Date) (Days, []Method, error) {
	lo, _ := slices.BinarySearch(days.Dates, from)
	hi, _ := slices.BinarySearch(days.Dates, to+1)
	if lo >= hi {
		return Days{}, nil, fmt.Errorf("%w in %s..%s", ErrNoTargets, from, to)
	}
	d := Days{
		Horizon: days.Horizon, Dates: days.Dates[lo:hi], Actual: days.Actual[lo:hi],
		Last: days.Last[lo:hi], Volatility: days.Volatility[lo:hi],
	}
	ms := make([]Method, len(methods))
	for i, m := range methods {
		if len(m.Forecasts) != days.Len() {
			return Days{}, nil, fmt.Errorf("method %s has %d forecasts for %d days", m.Name, len(m.Forecasts), days.Len())
		}
		ms[i] = Method{Name: m.Name, Forecasts: m.Forecasts[lo:hi]}
		if m.Points != nil {
			ms[i].Points = m.Points[lo:hi]
		}
	}
	return d, ms, nil
}
