package closecast

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// NumDistributionLevels is the number of quantile levels of a forecast
// distribution as the ledger keeps it (Prediction.Quantiles).
const NumDistributionLevels = 21

// DistributionLevels are the quantile levels of a forecast distribution,
// ascending: 0.025, then 0.05, 0.10, …, 0.95 (DistributionLevels[k] = k/20
// for k = 1..19), then 0.975. Pair (k, NumDistributionLevels−1−k) is a
// central interval of nominal coverage 1 − 2·DistributionLevels[k]: index
// 2 and 18 are the 80 % interval, 10 the median. The scores of package
// evaluate use the same levels (evaluate.Levels), so a recorded forecast
// is scored and adapted exactly as a walk-forward one.
var DistributionLevels = func() (l [NumDistributionLevels]float64) {
	l[0], l[NumDistributionLevels-1] = 0.025, 0.975
	for k := 1; k < NumDistributionLevels-1; k++ {
		l[k] = float64(k) / 20
	}
	return l
}()

// Indices into DistributionLevels of the levels the API names.
const (
	DistributionP10    = 2  // the 0.10 level, low end of the 80 % interval
	DistributionMedian = 10 // the 0.50 level
	DistributionP90    = 18 // the 0.90 level, high end of the 80 % interval
)

// Distribution is a forecast distribution of one day's close:
// Distribution[k] is its quantile at DistributionLevels[k]. A fixed-size
// array, so its layout is the type's and a Prediction holding one (by
// pointer) stays comparable.
type Distribution [NumDistributionLevels]float64

// ValidateDistribution checks a forecast distribution as Prediction.Quantiles
// holds it: nil (none kept), or closes that are each a plausible price
// (MinPrice..MaxPrice), ascending (quantiles never cross). The ledger
// refuses anything else before storing it.
func ValidateDistribution(q *Distribution) error {
	if q == nil {
		return nil
	}
	for k, v := range q {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < MinPrice || v > MaxPrice {
			return fmt.Errorf("quantile %v: %v is not a plausible price in [%g, %g]", DistributionLevels[k], v, MinPrice, MaxPrice)
		}
		if k > 0 && v < q[k-1] {
			return fmt.Errorf("quantile %v (%v) is below quantile %v (%v): quantiles cross", DistributionLevels[k], v, DistributionLevels[k-1], q[k-1])
		}
	}
	return nil
}

// ValidateRecord checks what a Ledger needs of a forecast besides its
// symbol before Record stores it: a model version, a finite Value, a finite
// positive LastClose and a valid distribution (ValidateDistribution).
func ValidateRecord(p Prediction) error {
	switch {
	case p.Model == "":
		return errors.New("empty model version")
	case math.IsNaN(p.Value) || math.IsInf(p.Value, 0):
		return fmt.Errorf("value %v is not finite", p.Value)
	case math.IsNaN(p.LastClose) || math.IsInf(p.LastClose, 0) || p.LastClose <= 0:
		return fmt.Errorf("last close %v is not a positive price", p.LastClose)
	}
	return ValidateDistribution(p.Quantiles)
}

// Adaptive methods of a served interval.
const (
	// AdaptiveACI adapts the base interval online from the ledger's
	// scored forecasts by adaptive conformal inference (Gibbs & Candès
	// 2021), as evaluate.ACI does walk-forward.
	AdaptiveACI = "aci"
	// AdaptiveFACI adapts it by fully adaptive conformal inference (Gibbs
	// & Candès 2022), as evaluate.FACI with its shipped constants.
	AdaptiveFACI = "faci"
	// AdaptiveNone serves the base interval as it is.
	AdaptiveNone = "none"
)

// Adaptive says how one day's quantiles were adapted online from the
// outcomes of earlier forecasts (HorizonDay.Adaptive).
type Adaptive struct {
	// Method is AdaptiveACI or AdaptiveFACI.
	Method string `json:"method"`
	// Alpha is α_t of the 80 % interval: the miscoverage level asked of
	// it today (0.2 when the past forecasts covered as advertised, lower
	// after misses).
	Alpha float64 `json:"alpha"`
	// Factor is the conformal factor applied to the 80 % interval's two
	// halves around the median (1: the base interval; above 1 wider).
	Factor float64 `json:"factor"`
	// N is how many scored forecasts the adaptation learnt from.
	N int `json:"n"`
}

// DistributionScorer scores the live forecast distributions of a symbol's
// ledger against the naive baselines on the same days (/api/accuracy's
// "distribution"); implemented in package serving with package evaluate.
type DistributionScorer interface {
	// ScoreDistribution scores the scored forecasts with quantiles among
	// the last days calendar days ending on the newest scored one. It
	// returns nil, nil when no such forecast is scored.
	ScoreDistribution(ctx context.Context, symbol string, days int) (*DistributionAccuracy, error)
}

// DistributionAccuracy is the live distribution scores of one symbol: the
// model, the model adapted as /predict serves it (ACI or FACI), and every
// naive baseline, on the same days. Scores need two days at least; with fewer, only N, From and To are
// set.
type DistributionAccuracy struct {
	N    int  `json:"n"`    // days scored
	From Date `json:"from"` // first day scored
	To   Date `json:"to"`   // last day scored
	// Skipped counts scored forecasts with quantiles left out because the
	// stored bars before their day are too few for every baseline.
	Skipped   int                 `json:"skipped"`
	Model     *DistributionScore  `json:"model"`
	Adaptive  *DistributionScore  `json:"adaptive"`
	Baselines []DistributionScore `json:"baselines"`
	Best      *DistributionScore  `json:"best_baseline"`
}

// DistributionScore is one forecaster's scores over the days of a
// DistributionAccuracy; losses are in percent of each day's last close
// (lower is better), coverage in percent of the days.
type DistributionScore struct {
	Method       string  `json:"method"`
	Coverage80   float64 `json:"coverage80"`
	PinballPct   float64 `json:"pinball_pct"`   // mean pinball loss over the levels 0.05..0.95
	Winkler80Pct float64 `json:"winkler80_pct"` // mean Winkler score of the 80 % interval
}
