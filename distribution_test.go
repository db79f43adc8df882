package closecast

import (
	"math"
	"strings"
	"testing"
)

func TestDistributionLevels(t *testing.T) {
	l := DistributionLevels
	if l[0] != 0.025 || l[NumDistributionLevels-1] != 0.975 || l[DistributionP10] != 0.1 || l[DistributionMedian] != 0.5 || l[DistributionP90] != 0.9 {
		t.Fatalf("levels %v", l)
	}
	for k := range NumDistributionLevels {
		// Pairs are central intervals: τ and 1 − τ.
		if math.Abs(l[k]+l[NumDistributionLevels-1-k]-1) > 1e-15 || k > 0 && !(l[k] > l[k-1]) {
			t.Fatalf("levels %v are not ascending central pairs", l)
		}
	}
}

func TestValidateDistribution(t *testing.T) {
	ok := new(Distribution)
	for k := range ok {
		ok[k] = 100 + float64(k/2) // ties are allowed: a flat stretch
	}
	if err := ValidateDistribution(ok); err != nil {
		t.Fatal(err)
	}
	if err := ValidateDistribution(nil); err != nil {
		t.Fatalf("no distribution: %v", err)
	}
	bad := func(k int, v float64) *Distribution {
		q := *ok
		q[k] = v
		return &q
	}
	for _, c := range []struct {
		q    *Distribution
		says string
	}{
		{bad(5, math.NaN()), "quantile 0.25: NaN is not a plausible price"},
		{bad(0, 0), "quantile 0.025: 0 is not a plausible price"},
		{bad(20, 2e9), "quantile 0.975: 2e+09 is not a plausible price"},
		{bad(7, 99), "quantile 0.35 (99) is below quantile 0.3 (103): quantiles cross"},
	} {
		if err := ValidateDistribution(c.q); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%v: %v; want an error saying %q", c.q, err, c.says)
		}
	}
}

// ValidateRecord refuses, naming the reason, each forecast a ledger
// cannot keep, and accepts one with or without a distribution.
func TestValidateRecord(t *testing.T) {
	ok := Prediction{Forecast: Forecast{Symbol: "BTC-USD", Date: MustParseDate("2025-01-02"), Value: 100}, Model: "m", LastClose: 99}
	if err := ValidateRecord(ok); err != nil {
		t.Fatal(err)
	}
	crossing := new(Distribution)
	for k := range crossing {
		crossing[k] = float64(200 - k)
	}
	for _, tc := range []struct {
		edit func(*Prediction)
		want string
	}{
		{func(p *Prediction) { p.Model = "" }, "empty model version"},
		{func(p *Prediction) { p.Value = math.Inf(1) }, "value +Inf is not finite"},
		{func(p *Prediction) { p.LastClose = 0 }, "last close 0 is not a positive price"},
		{func(p *Prediction) { p.LastClose = math.NaN() }, "last close NaN is not a positive price"},
		{func(p *Prediction) { p.Quantiles = crossing }, "quantiles cross"},
	} {
		p := ok
		tc.edit(&p)
		if err := ValidateRecord(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", p, err, tc.want)
		}
	}
}
