package artifact

import (
	"strings"
	"testing"

	"github.com/closecast/closecast/config"
)

// TestQuantileHeadCheck: model.json's quantile_head must match the
// network's outputs, ascend strictly inside (0, 1), hold the median and
// name the target this build knows.
func TestQuantileHeadCheck(t *testing.T) {
	ok := QuantileHead{Levels: []float64{0.1, 0.5, 0.9}, Target: config.TargetLogReturnEWMAZ}
	if err := ok.check(3); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		q       QuantileHead
		outputs int
		want    string
	}{
		{ok, 4, "3 levels for the network's 4 outputs"},
		{QuantileHead{Levels: []float64{0.1, 0.5, 0.5}, Target: ok.Target}, 3, "not strictly ascending"},
		{QuantileHead{Levels: []float64{0, 0.5, 0.9}, Target: ok.Target}, 3, "inside (0, 1)"},
		{QuantileHead{Levels: []float64{0.1, 0.4, 0.9}, Target: ok.Target}, 3, "lack the median"},
		{QuantileHead{Levels: ok.Levels, Target: "log_return"}, 3, `target "log_return"`},
	} {
		if err := c.q.check(c.outputs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.q, err, c.want)
		}
	}
}
