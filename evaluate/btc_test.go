package evaluate

import (
	"strings"
	"testing"

	"github.com/closecast/closecast"
)

// The three evaluation ranges of BTC-USD.
var btcRanges = []struct {
	name     string
	from, to string
	days     int
}{
	{"hold-out", "2023-11-24", "2025-04-30", 524},
	{"validation", "2025-06-01", "2025-07-16", 46},
	{"backtest", "2025-05-01", "2026-03-31", 335},
}

// TestComparisonOnBTC runs issue 15's comparison (Lineup: the shipped
// model's conformal quantiles, the model adapted by ACI and FACI, the five
// baselines and GARCH-t adapted by ACI; WithEnsemble: the ensemble and it
// adapted by ACI) one step ahead over the embedded
// BTC-USD days from 2023-11-24, the first day the shipped model is out of
// sample, to the end of the backtest range, each forecast made from the
// closes before its day alone, and scores the three ranges cut out
// of that walk (the adaptation carrying its history across them), every
// method against the best baseline. It logs the tables (go test
// ./evaluate/ -run ComparisonOnBTC -v) and asserts the set-up (every day
// of each range scored, every forecast valid, the lineup complete, each
// 80 % band plausible: 60–95 % coverage), not the figures themselves.
func TestComparisonOnBTC(t *testing.T) {
	p, w := shippedWalk(t, "2023-11-24", "2026-03-31")
	methods, err := w.Lineup(ModelFold{Pipeline: p})
	if err != nil {
		t.Fatal(err)
	}
	if methods, err = WithEnsemble(w.Days, methods); err != nil {
		t.Fatal(err)
	}
	want := append([]string{NameModel, NameModelACI, NameModelFACI}, append(BaselineNames(), NameGARCHACI, NameEnsemble, NameEnsembleACI)...)
	for i, m := range methods {
		if m.Name != want[i] {
			t.Fatalf("lineup %d is %s, want %s", i, m.Name, want[i])
		}
	}
	for _, r := range btcRanges {
		days, ms, err := Between(w.Days, methods, closecast.MustParseDate(r.from), closecast.MustParseDate(r.to))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := ScoreAgainstBest(days, ms, BaselineNames())
		if err != nil {
			t.Fatal(err)
		}
		if rep.N != r.days {
			t.Errorf("%s: %d days scored, want %d", r.name, rep.N, r.days)
		}
		if len(rep.Comparisons) != 6 {
			t.Errorf("%s: %d comparisons with the best baseline, want 6", r.name, len(rep.Comparisons))
		}
		var b strings.Builder
		if err := rep.WriteTable(&b); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %s..%s, %d days, one step ahead, shipped model; best baseline by pinball: %s\n%s", r.name, rep.From, rep.To, rep.N, rep.Reference, b.String())
		for _, m := range rep.Methods {
			if c := m.Interval(80).Coverage; c < 60 || c > 95 {
				t.Errorf("%s: %s covers %.1f %% with its 80 %% band", r.name, m.Method, c)
			}
		}
	}
}
