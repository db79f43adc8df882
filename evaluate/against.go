package evaluate

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// ScoreAgainstBaselines scores methods on days like ScoreAgainstBest (the
// best baseline by mean pinball loss becomes the Reference), and compares
// every method that is not one of baselines with every baseline, not
// only the best: issue 15 asks for the Diebold–Mariano test of the model
// against each baseline. Comparisons run method by method, baselines in
// the order given; a negative statistic favours the method.
func ScoreAgainstBaselines(days Days, methods []Method, baselines []string) (*Report, error) {
	rep, losses, _, err := scoreWithBest(days, methods, baselines)
	if err != nil {
		return nil, err
	}
	for m, meth := range methods {
		if slices.Contains(baselines, meth.Name) {
			continue
		}
		for b, base := range methods {
			if slices.Contains(baselines, base.Name) {
				rep.Comparisons = append(rep.Comparisons, compare(meth.Name, base.Name, losses[m], losses[b], days.Horizon))
			}
		}
	}
	return rep, nil
}

// WriteComparisons writes r's Diebold–Mariano comparisons as a compact
// aligned table, one row per pair: the statistic and p-value on pinball
// loss (distribution) and on absolute error (point), "-" for a test that
// is undefined (its Error says why).
func (r *Report) WriteComparisons(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "model\tvs baseline\tDM pinball (p)\tDM abs error (p)\t\n")
	for _, c := range r.Comparisons {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", c.Model, c.Baseline, formatTest(c.Pinball), formatTest(c.AbsError))
	}
	return tw.Flush()
}

// formatTest formats a Diebold–Mariano test as "stat (p)", "-" when absent.
func formatTest(t *Test) string {
	if t == nil {
		return "-"
	}
	return fmt.Sprintf("%+.2f (%.3f)", t.Stat, t.P)
}

// Method returns the scores of the named method, or nil if r has none.
func (r *Report) Method(name string) *MethodScore {
	for i := range r.Methods {
		if r.Methods[i].Method == name {
			return &r.Methods[i]
		}
	}
	return nil
}
