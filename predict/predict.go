// Package predict serves forecasts: a trained artifact over a source of bars,
// as a closecast.Predictor for the CLI, the HTTP server and the Lambda.
//
// Semantics: the forecast for day D is the close of D, predicted from the
// model's window of daily bars ending D−1 (the last Window bars strictly
// before D, plus the features' warm-up). D can be any day from the first one
// with a full window up to the day after the last known close.
package predict

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/evaluate"
)

// Service is a closecast.Predictor backed by one model. It is safe for
// concurrent use.
type Service struct {
	model *artifact.Model
	bars  closecast.Source

	mu    sync.Mutex
	first map[string]closecast.Date // first bar per symbol: it never changes

	ensemble evaluate.EnsembleCache // fitted ensembles per origin (IntervalEnsemble)
}

// New returns a Service that forecasts with m from the bars of src.
func New(m *artifact.Model, src closecast.Source) *Service {
	return &Service{model: m, bars: src, first: map[string]closecast.Date{}}
}

// Model returns the artifact the service predicts with.
func (s *Service) Model() *artifact.Model { return s.model }

// QuantileLevels returns the levels (in (0, 1), ascending) a quantile
// head forecasts, or nil for a point model: the only levels its
// PredictHorizon can answer.
func (s *Service) QuantileLevels() []float64 { return s.model.Pipeline.Quantiles }

// lookback is how many calendar days of bars are requested to find Lookback()
// bars: weekends and holidays make exchange-traded symbols need more days
// than bars (5 trading days per 7, plus holidays).
func (s *Service) lookback() int { return s.model.Pipeline.Lookback()*7/5 + 15 }

// Predict implements closecast.Predictor.
func (s *Service) Predict(ctx context.Context, symbol string, date closecast.Date) (closecast.Prediction, error) {
	symbol, bars, i, err := s.window(ctx, symbol, date)
	if err != nil {
		return closecast.Prediction{}, err
	}
	prices, err := s.model.Pipeline.PredictAt(bars, []int{i})
	if err != nil {
		return closecast.Prediction{}, err
	}
	return s.prediction(symbol, bars, i, date, prices[0]), nil
}

// window loads the bars a forecast of date reads: it returns the model's
// symbol, bars ending at date (or at the last bar before it) and i, the
// index of the first bar on or after date, so bars[:i] are strictly before
// date. A date without a full window, or more than one day past the last
// close, is a *closecast.RangeError.
func (s *Service) window(ctx context.Context, symbol string, date closecast.Date) (string, []closecast.Bar, int, error) {
	if symbol == "" {
		symbol = s.model.Meta.Symbol
	}
	if !strings.EqualFold(symbol, s.model.Meta.Symbol) {
		return "", nil, 0, fmt.Errorf("%w: %s (this model forecasts %s)", closecast.ErrUnknownSymbol, symbol, s.model.Meta.Symbol)
	}
	symbol = s.model.Meta.Symbol
	series, err := s.bars.Bars(ctx, symbol, date.AddDays(-s.lookback()), date)
	if err != nil {
		return "", nil, 0, err
	}
	bars := series.Bars
	i := series.Search(date) // bars[:i] are strictly before date
	h := s.model.Pipeline.History()
	// Too little history, or date is more than one day past the last close.
	if i < h || (i == len(bars) && bars[i-1].Date+1 < date) {
		err := s.rangeError(ctx, symbol, date)
		var re *closecast.RangeError
		if errors.As(err, &re) && !re.Empty() && date >= re.Earliest && date <= re.Latest {
			// Inside the known range, yet short: days are missing. Never
			// answer with a range that holds the refused date.
			return "", nil, 0, gapError(series, date, h)
		}
		return "", nil, 0, err
	}
	// The model reads h consecutive days ending date−1; a window reaching
	// back over a gap would span more calendar days than it was trained on.
	if bars[i-1].Date != date-1 || bars[i-h].Date != date.AddDays(-h) {
		return "", nil, 0, gapError(series, date, h)
	}
	return symbol, bars, i, nil
}

// gapError names the days missing from the h days before date.
func gapError(series closecast.Series, date closecast.Date, h int) error {
	return &closecast.GapError{Symbol: series.Symbol, Date: date, Window: h,
		Missing: series.MissingIn(date.AddDays(-h), date-1)}
}

// prediction describes the forecast value of date made from bars[:i].
func (s *Service) prediction(symbol string, bars []closecast.Bar, i int, date closecast.Date, value float64) closecast.Prediction {
	p := s.model.Pipeline
	pred := closecast.Prediction{
		Forecast:  closecast.Forecast{Symbol: symbol, Date: date, Value: value},
		Model:     s.model.Meta.Version,
		InputFrom: bars[i-p.Window].Date,
		InputTo:   bars[i-1].Date,
		LastClose: bars[i-1].Close,
	}
	if i < len(bars) && bars[i].Date == date {
		actual := bars[i].Close
		pred.Actual = &actual
	}
	return pred
}

// Ranger is implemented by sources that know the first and last day they
// hold for a symbol without reading its bars or fetching (history.Layered).
type Ranger interface {
	Range(ctx context.Context, symbol string) (first, last closecast.Date, ok bool, err error)
}

// knownRange returns the first and last day of symbol's bars.
func (s *Service) knownRange(ctx context.Context, symbol string) (first, last closecast.Date, err error) {
	if r, ok := s.bars.(Ranger); ok {
		first, last, ok, err := r.Range(ctx, symbol)
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			return 0, 0, fmt.Errorf("%w: no bars of %s", closecast.ErrUnknownSymbol, symbol)
		}
		return first, last, nil
	}
	first, err = s.firstDate(ctx, symbol)
	if err != nil {
		return 0, 0, err
	}
	series, err := s.bars.Bars(ctx, symbol, first, closecast.Today())
	if err != nil {
		return 0, 0, err
	}
	last, _ = series.Last()
	return first, last, nil
}

// rangeError builds the 422 answer: which dates this model can forecast.
func (s *Service) rangeError(ctx context.Context, symbol string, date closecast.Date) error {
	first, last, err := s.knownRange(ctx, symbol)
	if err != nil {
		return err
	}
	h := s.model.Pipeline.History()
	earliest := first.AddDays(h) // exact for a gap-free series
	if full, err := s.bars.Bars(ctx, symbol, first, first.AddDays(h*7/5+15)); err == nil && full.Len() > h {
		earliest = full.Bars[h].Date // the h+1-th bar, for series with gaps
	}
	return &closecast.RangeError{Symbol: symbol, Date: date, Earliest: earliest, Latest: last + 1}
}

// LastKnown returns the last day with a known close of symbol: the day
// before the latest forecastable day.
func (s *Service) LastKnown(ctx context.Context, symbol string) (closecast.Date, error) {
	_, last, err := s.knownRange(ctx, symbol)
	return last, err
}

// firstDate returns the date of the symbol's first bar, cached.
func (s *Service) firstDate(ctx context.Context, symbol string) (closecast.Date, error) {
	s.mu.Lock()
	d, ok := s.first[symbol]
	s.mu.Unlock()
	if ok {
		return d, nil
	}
	series, err := s.bars.Bars(ctx, symbol, closecast.MustParseDate("1970-01-01"), closecast.Today())
	if err != nil {
		return 0, err
	}
	d, ok = series.First()
	if !ok {
		return 0, fmt.Errorf("%w: no bars of %s", closecast.ErrUnknownSymbol, symbol)
	}
	s.mu.Lock()
	s.first[symbol] = d
	s.mu.Unlock()
	return d, nil
}
