package report

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/metrics"
)

func eval(mape float64) *artifact.Evaluation {
	return &artifact.Evaluation{N: 3, Model: metrics.Metrics{MAE: 10 * mape, MAPE: mape}, Persistence: metrics.Metrics{MAPE: 1.97}, MA7: metrics.Metrics{MAPE: 3.37}}
}

func TestSummarizeOverSeeds(t *testing.T) {
	runs := []artifact.Metrics{{Holdout: eval(2.0)}, {Holdout: eval(3.0)}, {Holdout: eval(7.0)}}
	s := Summarize(runs)
	h := s.Holdout
	if s.Seeds != 3 || h == nil || s.Validation != nil {
		t.Fatalf("%+v", s)
	}
	// mean 4, sample std sqrt(((−2)²+(−1)²+3²)/2) = sqrt(7), median 3.
	if h.Mean.MAPE != 4 || math.Abs(h.Std.MAPE-math.Sqrt(7)) > 1e-12 || h.Median.MAPE != 3 || h.Median.MAE != 30 {
		t.Errorf("mean %v std %v median %v", h.Mean.MAPE, h.Std.MAPE, h.Median.MAPE)
	}
	if h.Persistence.MAPE != 1.97 || h.MA7.MAPE != 3.37 {
		t.Errorf("baselines %+v %+v", h.Persistence, h.MA7)
	}
	var b bytes.Buffer
	WriteSummary(&b, s)
	if !strings.Contains(b.String(), "hold-out over 3 seeds") || !strings.Contains(b.String(), "4.00 ±  2.65") {
		t.Errorf("summary text:\n%s", b.String())
	}
}

func TestPlotsWritesEveryChart(t *testing.T) {
	d0 := closecast.MustParseDate("2025-06-01")
	pts := []artifact.Point{{Date: d0, Actual: 100, Predicted: 101}, {Date: d0 + 1, Actual: 102, Predicted: 100}}
	m := &artifact.Model{Meta: artifact.Metadata{Name: "t", Symbol: "BTC-USD",
		LossCurve:   artifact.LossCurve{Train: []float64{0.3, 0.2, 0.1}, Val: []float64{0.4, 0.3, 0.35}},
		Metrics:     artifact.Metrics{Holdout: eval(2), Validation: eval(1)},
		Predictions: artifact.Predictions{Holdout: pts, Validation: pts},
	}}
	dir := t.TempDir()
	if err := Plots(m)(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"loss", "holdout", "validation"} {
		for _, ext := range []string{".svg", ".png"} {
			if fi, err := os.Stat(filepath.Join(dir, name+ext)); err != nil || fi.Size() < 500 {
				t.Errorf("%s%s: %v", name, ext, err)
			}
		}
	}
}

// The shipped model's hold-out, as the CLI prints it: persistence's
// undefined direction is a dash, and 0.1 % apart is level, not "better".
func TestEvaluationDashesUndefinedAndCallsTiesLevel(t *testing.T) {
	nan := math.NaN()
	ev := artifact.Evaluation{N: 524, From: closecast.MustParseDate("2023-11-24"), To: closecast.MustParseDate("2025-04-30"),
		Model:       metrics.Metrics{MAE: 1381.588918, RMSE: 1962.14, MAPE: 1.97, SMAPE: 1.98, MASE: 0.999, Direction: 51.53},
		Persistence: metrics.Metrics{MAE: 1382.927354, RMSE: 1964.18, MAPE: 1.97, SMAPE: 1.98, MASE: 1, Direction: nan},
		MA7:         metrics.Metrics{MAE: 2330.94, RMSE: 3087.69, MAPE: 3.37, SMAPE: 3.39, MASE: 1.686, Direction: 51.91}}
	var b bytes.Buffer
	Evaluation(&b, "hold-out", ev)
	out := b.String()
	for _, want := range []string{
		"  persistence       1382.93    1964.18    1.97    1.98  1.000      –\n",
		"  ma7               2330.94    3087.69    3.37    3.39  1.686   51.9\n",
		"  model level with persistence (MAE 1381.59 against 1382.93): under 2 % apart\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "NaN") || strings.Contains(out, "better") {
		t.Errorf("output shows NaN or calls a 0.1 %% difference better:\n%s", out)
	}
	ev.Model.MAE = 1300
	b.Reset()
	Evaluation(&b, "hold-out", ev)
	if want := "  model better than persistence by 6.0 % (MAE 1300.00 against 1382.93)\n"; !strings.Contains(b.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, b.String())
	}
	ev.Model.MAE = 1500
	b.Reset()
	Evaluation(&b, "hold-out", ev)
	if want := "  model worse than persistence by 8.5 % (MAE 1500.00 against 1382.93)\n"; !strings.Contains(b.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, b.String())
	}
	s := RepeatSummary{Seeds: 2, Holdout: &SummaryOfRange{Mean: ev.Model, Std: ev.Model, Median: ev.Model, Persistence: ev.Persistence, MA7: ev.MA7}}
	b.Reset()
	WriteSummary(&b, s)
	if !strings.Contains(b.String(), "1964.18            1.97               –\n") || strings.Contains(b.String(), "NaN") {
		t.Errorf("repeat summary does not dash persistence's direction:\n%s", b.String())
	}
}

// With the Diebold–Mariano test stored, the verdict is the test's, not the
// threshold's, and the line shows its p-value: 0.1 % apart with p = 0.63 is
// level, and 1.2 % apart (inside the 2 % threshold) with p = 0.003 is
// better.
func TestEvaluationVerdictFromDieboldMariano(t *testing.T) {
	ev := artifact.Evaluation{N: 524, From: closecast.MustParseDate("2023-11-24"), To: closecast.MustParseDate("2025-04-30"),
		Model:             metrics.Metrics{MAE: 1381.588918},
		Persistence:       metrics.Metrics{MAE: 1382.927354},
		VersusPersistence: &artifact.Versus{DM: -0.48, P: 0.6312, N: 524, Verdict: "level"}}
	for _, c := range []struct {
		model float64
		vp    artifact.Versus
		want  string
	}{
		{1381.588918, artifact.Versus{DM: -0.48, P: 0.6312}, "level with persistence (MAE 1381.59 against 1382.93; Diebold–Mariano p = 0.63)"},
		{1366.33, artifact.Versus{DM: -2.98, P: 0.003}, "better than persistence by 1.2 % (MAE 1366.33 against 1382.93; Diebold–Mariano p = 0.003)"},
		{1500, artifact.Versus{DM: 4.1, P: 4.8e-5}, "worse than persistence by 8.5 % (MAE 1500.00 against 1382.93; Diebold–Mariano p = 4.8e-05)"},
		{1500, artifact.Versus{DM: 1.2, P: 0.23}, "level with persistence (MAE 1500.00 against 1382.93; Diebold–Mariano p = 0.23)"},
	} {
		ev.Model.MAE, ev.VersusPersistence = c.model, &c.vp
		var b bytes.Buffer
		Evaluation(&b, "hold-out", ev)
		if want := "  model " + c.want + "\n"; !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
