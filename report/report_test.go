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
