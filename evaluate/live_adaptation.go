package evaluate

import (
	"fmt"

	"github.com/closecast/closecast"
)

// ShippedAdaptation returns the adaptation named name with the shipped
// settings, as `closecast evaluate` runs them: closecast.AdaptiveACI is
// ACI with γ = ACIGamma, closecast.AdaptiveFACI is FACI over FACIGammas
// with interval FACIInterval.
func ShippedAdaptation(name string) (Adaptation, error) {
	switch name {
	case closecast.AdaptiveACI:
		return ACI{Gamma: ACIGamma}, nil
	case closecast.AdaptiveFACI:
		return FACI{Gammas: FACIGammas, Interval: FACIInterval}, nil
	}
	return nil, fmt.Errorf("adaptation %q: want %s or %s", name, closecast.AdaptiveACI, closecast.AdaptiveFACI)
}

// LiveOnlineWith returns the state of adaptation a after the outcomes of
// fs, in order: what `serve` applies to its next forecast.
func LiveOnlineWith(fs []LiveForecast, a Adaptation) (*Online, error) {
	o := NewOnline(a)
	for k := range fs {
		if err := o.Observe(&fs[k].Quantiles, fs[k].Actual); err != nil {
			return nil, fmt.Errorf("ledger forecast of %s: %w", fs[k].Date, err)
		}
	}
	return o, nil
}

// NewLiveAdapted is NewLive whose Online adapts by a instead of ACI, and
// whose distribution scores (ScoreDistribution's Adaptive) score the model
// adapted by a: what `serve` answers.
func NewLiveAdapted(ledger ScoredLedger, bars closecast.Source, a Adaptation) *Live {
	l := NewLive(ledger, bars)
	l.adapt = a
	return l
}

// Adaptation returns the adaptation of Online.
func (l *Live) Adaptation() Adaptation { return l.adapt }
