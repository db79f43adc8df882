package evaluate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/closecast/closecast"
)

// handDays are six days with last close 100 and a forecast whose quantiles
// are q(τ) = 90 + 20τ: 91, 92, …, 109 at 0.05..0.95, 90.5 at 0.025 and
// 109.5 at 0.975; 50 % interval [95, 105], 80 % [92, 108], 90 % [91, 109],
// 95 % [90.5, 109.5].
func handDays() (Days, Method) {
	d := Days{
		Horizon:    1,
		Dates:      make([]closecast.Date, 6),
		Actual:     []float64{100, 108.5, 95, 120, 100, 100},
		Last:       []float64{100, 100, 100, 100, 100, 100},
		Volatility: []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6},
	}
	m := Method{Name: "hand", Forecasts: make([]Quantiles, 6)}
	for k := range d.Dates {
		d.Dates[k] = closecast.MustParseDate("2025-01-01").AddDays(k)
		m.Forecasts[k] = ramp(90, 20)
	}
	return d, m
}

func TestScoreHandCase(t *testing.T) {
	days, m := handDays()
	rep, err := Score(days, []Method{m}, "")
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Methods[0]
	if rep.N != 6 || rep.From != days.Dates[0] || rep.To != days.Dates[5] || rep.Comparisons != nil {
		t.Errorf("report header %+v", rep)
	}
	// Inside [95,105]: days 0, 2, 4, 5 (95 is on the edge); [92,108]: the same; [91,109]: all but day 3.
	for _, c := range []struct {
		level  int
		misses int
		width  float64
	}{{50, 2, 10}, {80, 2, 16}, {90, 1, 18}, {95, 1, 19}} {
		iv := s.Interval(c.level)
		if iv.Misses != c.misses {
			t.Errorf("%d %%: %d misses, want %d", c.level, iv.Misses, c.misses)
		}
		near(t, "coverage", iv.Coverage, 100*float64(6-c.misses)/6, 1e-12)
		near(t, "width %", iv.WidthPct, c.width, 1e-12)
		k, _ := Kupiec(c.misses, 6, 1-float64(c.level)/100)
		if iv.Kupiec != k {
			t.Errorf("%d %%: Kupiec %+v, want %+v", c.level, iv.Kupiec, k)
		}
	}
	ch, _ := Christoffersen(bits("010100"))
	if s.Interval(80).Christoffersen != ch {
		t.Errorf("80 %% Christoffersen %+v, want %+v", s.Interval(80).Christoffersen, ch)
	}
	// Winkler 80: width 16, plus 10·0.5 on day 1 and 10·12 on day 3.
	near(t, "Winkler 80 %", s.Winkler80Pct, (16+21+16+136+16+16)/6.0, 1e-12)
	// MAE of the median 100.
	near(t, "MAE %", s.MAEPct, (8.5+5+20)/6, 1e-12)
	// Points other than the median are scored instead: 104 every day is off
	// by 4, 4.5, 9, 16, 4, 4.
	m.Points = []float64{104, 104, 104, 104, 104, 104}
	withPoints, err := Score(days, []Method{m}, "")
	if err != nil {
		t.Fatal(err)
	}
	near(t, "MAE % of points", withPoints.Methods[0].MAEPct, (4+4.5+9+16+4+4)/6.0, 1e-12)
	if withPoints.Methods[0].PinballPct != s.PinballPct {
		t.Error("points changed the pinball loss")
	}
	m.Points = nil
	// Terciles: days {0,1}, {2,3}, {4,5}; 80 % misses on days 1 and 3.
	for t3, want := range []TercileScore{{2, 0.1, 0.2, 50}, {2, 0.3, 0.4, 50}, {2, 0.5, 0.6, 100}} {
		if s.Terciles[t3] != want {
			t.Errorf("tercile %d = %+v, want %+v", t3+1, s.Terciles[t3], want)
		}
	}
	// PIT: ranks 10, 18, 5, 19, 10, 10 → bins 5, 9, 2, 9, 5, 5.
	if want := [PITBins]int{0, 0, 1, 0, 0, 3, 0, 0, 0, 2}; s.PIT != want {
		t.Errorf("PIT = %v, want %v", s.PIT, want)
	}
	// Pinball: day 0 (y at the median) 16.5/19 (TestPinballHandCases);
	// day 3 (y = 120 above every quantile) Σ_{j=1}^{19} (j/20)(30−j)/19 = 161.5/19 = 8.5.
	two := Days{Horizon: 1, Dates: days.Dates[:2], Actual: []float64{100, 120}, Last: days.Last[:2], Volatility: days.Volatility[:2]}
	rep2, err := Score(two, []Method{{Name: "hand", Forecasts: m.Forecasts[:2]}}, "")
	if err != nil {
		t.Fatal(err)
	}
	near(t, "pinball %", rep2.Methods[0].PinballPct, (16.5/19+8.5)/2, 1e-12)
	// Two days leave the top tercile empty; the report still encodes.
	if ts := rep2.Methods[0].Terciles[2]; ts != (TercileScore{}) {
		t.Errorf("empty tercile = %+v", ts)
	}
	if _, err := json.Marshal(rep2); err != nil {
		t.Errorf("a two-day report does not encode: %v", err)
	}
}

func TestScoreComparesTheReference(t *testing.T) {
	days, good := handDays()
	bad := Method{Name: "bad", Forecasts: make([]Quantiles, 6)}
	for k := range bad.Forecasts {
		for j := range bad.Forecasts[k] {
			bad.Forecasts[k][j] = good.Forecasts[k][j] + 30 + float64(k%2) // far off, varying
		}
	}
	same := Method{Name: "same", Forecasts: good.Forecasts}
	rep, err := Score(days, []Method{good, bad, same}, "hand")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reference != "hand" || len(rep.Comparisons) != 2 {
		t.Fatalf("comparisons %+v", rep.Comparisons)
	}
	c := rep.Comparisons[0]
	if c.Baseline != "bad" || c.Pinball == nil || c.AbsError == nil || c.Error != "" {
		t.Fatalf("comparison with bad: %+v", c)
	}
	if !(c.Pinball.Stat < 0 && c.AbsError.Stat < 0) {
		t.Errorf("the better reference has DM %v (pinball), %v (abs), want negative", c.Pinball.Stat, c.AbsError.Stat)
	}
	if c := rep.Comparisons[1]; c.Pinball != nil || c.AbsError != nil || !strings.Contains(c.Error, "undefined") {
		t.Errorf("identical forecasts: %+v, want an error and no tests", c)
	}
	if rep.Best() != "hand" {
		t.Errorf("Best = %q", rep.Best())
	}
	if _, err := Score(days, []Method{good}, "nobody"); err == nil {
		t.Error("unknown reference: no error")
	}
}

func TestScoreRefusesBadInput(t *testing.T) {
	days, m := handDays()
	crossed := Method{Name: "crossed", Forecasts: append([]Quantiles(nil), m.Forecasts...)}
	crossed.Forecasts[2][3] = 200
	if _, err := Score(days, []Method{crossed}, ""); err == nil || !strings.Contains(err.Error(), "cross") {
		t.Errorf("crossing quantiles: %v", err)
	}
	short := Method{Name: "short", Forecasts: m.Forecasts[:5]}
	if _, err := Score(days, []Method{short}, ""); err == nil {
		t.Error("5 forecasts for 6 days: no error")
	}
	if _, err := Score(days, []Method{{Name: "points", Forecasts: m.Forecasts, Points: []float64{1}}}, ""); err == nil {
		t.Error("1 point for 6 days: no error")
	}
	one := Days{Horizon: 1, Dates: days.Dates[:1], Actual: days.Actual[:1], Last: days.Last[:1], Volatility: days.Volatility[:1]}
	if _, err := Score(one, []Method{{Name: "x", Forecasts: m.Forecasts[:1]}}, ""); err == nil {
		t.Error("one day: no error")
	}
}

func TestReportJSONKeys(t *testing.T) {
	days, m := handDays()
	rep, err := Score(days, []Method{m, {Name: "b", Forecasts: m.Forecasts}}, "hand")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"from":"2025-01-01"`, `"pinball_pct"`, `"winkler80_pct"`, `"winkler95_pct"`, `"mae_pct"`,
		`"intervals"`, `"kupiec":{"stat"`, `"christoffersen"`, `"coverage80_by_volatility_tercile"`, `"pit":[0,0,1,0,0,3,0,0,0,2]`,
		`"reference":"hand"`, `"comparisons"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Methods[0].Winkler80Pct != rep.Methods[0].Winkler80Pct || math.IsNaN(back.Methods[0].PinballPct) {
		t.Error("report does not round-trip")
	}
}

// TestJSONHelpDocumentsEveryKey walks a report's JSON, with a comparison
// that has an error, and checks that JSONHelp names every key in it.
func TestJSONHelpDocumentsEveryKey(t *testing.T) {
	days, m := handDays()
	rep, err := Score(days, []Method{m, {Name: "same", Forecasts: m.Forecasts}}, "hand")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				keys[k] = true
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	if !keys["error"] || !keys["kupiec"] || !keys["vol_from"] {
		t.Fatalf("the report's JSON lacks keys the test needs: %v", keys)
	}
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(JSONHelp, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) {
		words[w] = true
	}
	for k := range keys {
		if !words[k] {
			t.Errorf("JSONHelp does not document the key %q", k)
		}
	}
}

// TestScoreAgainstBest compares the non-baselines with the best baseline,
// and the table orients every Diebold–Mariano statistic as the row against
// the reference whichever way the test was run.
func TestScoreAgainstBest(t *testing.T) {
	days, good := handDays()
	bad := Method{Name: "b2", Forecasts: make([]Quantiles, 6)}
	for k := range bad.Forecasts {
		bad.Forecasts[k] = ramp(120+float64(k%2), 20) // far off, varying
	}
	b1 := Method{Name: "b1", Forecasts: good.Forecasts}
	model := Method{Name: "model", Forecasts: bad.Forecasts}
	rep, err := ScoreAgainstBest(days, []Method{model, b1, bad}, []string{"b1", "b2"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reference != "b1" || len(rep.Comparisons) != 1 {
		t.Fatalf("reference %q, comparisons %+v", rep.Reference, rep.Comparisons)
	}
	c := rep.Comparisons[0]
	if c.Model != "model" || c.Baseline != "b1" || c.Pinball == nil || !(c.Pinball.Stat > 0) {
		t.Fatalf("model against the best baseline: %+v, want a positive statistic (the model is worse)", c)
	}
	// The same pair run the other way (b1 against the reference "model")
	// has the opposite statistic, and the table shows it from the row's side.
	other, err := Score(days, []Method{model, b1}, "model")
	if err != nil {
		t.Fatal(err)
	}
	back, ok := other.versus("b1")
	if !ok || math.Abs(back.Stat+c.Pinball.Stat) > 1e-12 || back.P != c.Pinball.P {
		t.Errorf("b1 against model %+v, want the opposite of %+v", back, *c.Pinball)
	}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	table := b.String()
	for _, want := range []string{"DM pinball vs b1", fmt.Sprintf("%+.2f (%.3f)", c.Pinball.Stat, c.Pinball.P), "reference"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if _, err := ScoreAgainstBest(days, []Method{model}, []string{"b1"}); err == nil {
		t.Error("no baseline among the methods: no error")
	}
}

func TestBetween(t *testing.T) {
	days, m := handDays()
	m.Points = []float64{1, 2, 3, 4, 5, 6}
	d, ms, err := Between(days, []Method{m}, days.Dates[1], days.Dates[3])
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || d.Dates[0] != days.Dates[1] || d.Actual[2] != days.Actual[3] || d.Horizon != 1 ||
		len(ms[0].Forecasts) != 3 || ms[0].Points[0] != 2 || ms[0].Name != "hand" {
		t.Errorf("Between = %+v, %+v", d, ms)
	}
	if _, _, err := Between(days, []Method{m}, days.Dates[5]+1, days.Dates[5]+9); !errors.Is(err, ErrNoTargets) {
		t.Errorf("a range after the days: %v", err)
	}
}
