package pipeline

import (
	"math"
	"strings"
	"testing"

	"github.com/closecast/closecast/features"
	"github.com/closecast/closecast/lstm"
)

// quantilePipeline is a log_return_1d window with a random 5-output head.
func quantilePipeline(t *testing.T) *Pipeline {
	t.Helper()
	net, err := lstm.New(lstm.Config{Features: 1, Units: []int{6}, Outputs: 5}, 9)
	if err != nil {
		t.Fatal(err)
	}
	p := netPipeline(t, []string{"log_return_1d"}, 6, 9)
	p.Net = net
	return p
}

// TestQuantilesAtArePriceQuantiles checks every price against its parts:
// the network's raw outputs turned into cumulative-softplus quantiles here,
// independently, the EWMA volatility before the day and the last close; the
// prices must ascend.
func TestQuantilesAtArePriceQuantiles(t *testing.T) {
	p := quantilePipeline(t)
	bars := walk(120, 4)
	idx := []int{60, 61, 100, 119, 120} // 120: the day after the last bar
	got, err := p.QuantilesAt(bars, idx, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, sigma := features.EWMAZ(bars)
	x := make([]float32, p.Window)
	raw := make([]float32, 5)
	for k, i := range idx {
		if err := p.Input(bars, i, x); err != nil {
			t.Fatal(err)
		}
		p.Net.Predict(x, 1, p.Window, raw)
		q := 0.0
		for j := range raw {
			if j == 0 {
				q = float64(raw[0])
			} else {
				q += math.Log(1 + math.Exp(float64(raw[j])))
			}
			want := bars[i-1].Close * math.Exp(sigma[i]*q)
			if math.Abs(got[k][j]-want) > 1e-6*want {
				t.Errorf("bar %d quantile %d = %v, want %v", i, j, got[k][j], want)
			}
			if j > 0 && !(got[k][j] > got[k][j-1]) {
				t.Errorf("bar %d: quantiles %v do not ascend", i, got[k])
			}
		}
	}
}

// TestQuantilesAtRefuses: horizons beyond one day and too short a history
// are errors that say why.
func TestQuantilesAtRefuses(t *testing.T) {
	p := quantilePipeline(t)
	bars := walk(80, 5)
	if _, err := p.QuantilesAt(bars, []int{60}, 2); err == nil || !strings.Contains(err.Error(), "1 day ahead") {
		t.Errorf("h = 2: error %v", err)
	}
	if _, err := p.QuantilesAt(bars, []int{3}, 1); err == nil {
		t.Error("a forecast without its window's history was accepted")
	}
	// Inside the EWMA seed σ is undefined: an error, not a number.
	if _, err := p.QuantilesAt(bars, []int{p.History()}, 1); p.History() <= features.EWMASeedDays && err == nil {
		t.Error("a forecast inside the EWMA seed was accepted")
	}
}
