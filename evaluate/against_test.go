package evaluate

import (
	"strings"
	"testing"
)

// TestScoreAgainstBaselines compares each non-baseline with every
// baseline, each pair's tests equal to those of Score run on the pair
// alone, and keeps the best baseline as the Reference.
func TestScoreAgainstBaselines(t *testing.T) {
	days, good := handDays()
	far := Method{Name: "b2", Forecasts: make([]Quantiles, 6)}
	mid := Method{Name: "model", Forecasts: make([]Quantiles, 6)}
	for k := range far.Forecasts {
		far.Forecasts[k] = ramp(120+float64(k%2), 20)
		mid.Forecasts[k] = ramp(95+float64(k%3), 20)
	}
	b1 := Method{Name: "b1", Forecasts: good.Forecasts}
	rep, err := ScoreAgainstBaselines(days, []Method{mid, b1, far}, []string{"b1", "b2"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reference != "b1" || len(rep.Comparisons) != 2 {
		t.Fatalf("reference %q, comparisons %+v", rep.Reference, rep.Comparisons)
	}
	for i, base := range []Method{b1, far} {
		c := rep.Comparisons[i]
		pair, err := Score(days, []Method{base, mid}, base.Name)
		if err != nil {
			t.Fatal(err)
		}
		// Score compares the reference (base) against mid: the opposite sign.
		want := pair.Comparisons[0]
		if c.Model != "model" || c.Baseline != base.Name || c.Pinball == nil || c.AbsError == nil ||
			c.Pinball.Stat != -want.Pinball.Stat || c.Pinball.P != want.Pinball.P || c.AbsError.Stat != -want.AbsError.Stat {
			t.Errorf("comparison %d: %+v, want the opposite of %+v", i, c, want)
		}
	}
	if !(rep.Comparisons[1].Pinball.Stat < 0) {
		t.Errorf("the model beats the far-off b2, yet DM %+v", *rep.Comparisons[1].Pinball)
	}
	var b strings.Builder
	if err := rep.WriteComparisons(&b); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(b.String()), "\n")
	for i, c := range rep.Comparisons {
		row := strings.Join(strings.Fields(rows[i+1]), " ")
		if want := c.Model + " " + c.Baseline + " " + formatTest(c.Pinball) + " " + formatTest(c.AbsError); row != want {
			t.Errorf("comparisons row %q, want %q", row, want)
		}
	}
	if _, err := ScoreAgainstBaselines(days, []Method{mid}, []string{"b1"}); err == nil {
		t.Error("no baseline among the methods: no error")
	}
}
