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

// Adaptation returns the adaptation of Online.
func (l *Live) Adaptation() Adaptation { return l.adapt }
