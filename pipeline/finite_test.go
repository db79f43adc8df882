package pipeline

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/closecast/closecast"
)

// No NaN or ±Inf passes the pipeline as a number: at the input, at the
// network's output and after inverse scaling it is a NonFiniteError naming
// the stage and the day.
func TestPredictAtRefusesNonFiniteValues(t *testing.T) {
	names := []string{"log_return_1d", "volume", "high"}
	for _, tc := range []struct {
		name, stage string
		spoil       func(p *Pipeline, bars []closecast.Bar)
	}{
		{"input", "input feature", func(p *Pipeline, bars []closecast.Bar) {
			p.Inputs.Min[1], p.Inputs.Max[1] = 0, 1e-300 // volume scales past float32's range
		}},
		{"output", "network output", func(p *Pipeline, bars []closecast.Bar) {
			w := p.Net.Params()
			for i := range w {
				w[i] = math.MaxFloat32
			}
			if err := p.Net.SetParams(w); err != nil {
				t.Fatal(err)
			}
		}},
		{"price", "price after inverse scaling", func(p *Pipeline, bars []closecast.Bar) {
			p.Output.Min[0], p.Output.Max[0] = 1e300, 1e300 // a log return of 1e300: exp overflows
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := netPipeline(t, names, 4, 7)
			bars := walk(40, 7)
			if got, err := p.PredictAt(bars, []int{35}); err != nil || math.IsNaN(got[0]) || math.IsInf(got[0], 0) {
				t.Fatalf("before spoiling: %v, %v", got, err)
			}
			tc.spoil(p, bars)
			got, err := p.PredictAt(bars, []int{35})
			var ne *closecast.NonFiniteError
			if !errors.As(err, &ne) || !strings.HasPrefix(ne.Stage, tc.stage) || ne.Date != bars[35].Date || got != nil {
				t.Errorf("got %v, %v; want a NonFiniteError at %q for %s", got, err, tc.stage, bars[35].Date)
			}
		})
	}
}
