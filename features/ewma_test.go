package features

import (
	"math"
	"strings"
	"testing"

	"github.com/closecast/closecast"
)

func barsOf(closes []float64) []closecast.Bar {
	bars := make([]closecast.Bar, len(closes))
	for i, c := range closes {
		bars[i] = closecast.Bar{Date: closecast.Date(19000 + i), Open: c, High: c, Low: c, Close: c}
	}
	return bars
}

// TestEWMAZKnownAnswer: returns alternating ±r keep the EWMA variance at r²
// (seed r², then λr² + (1−λ)r²), so z = ±1 and sigma = r once defined,
// NaN before (the seed would read the day's own return).
func TestEWMAZKnownAnswer(t *testing.T) {
	const r = 0.02
	closes := []float64{100}
	for i := 1; i < 80; i++ {
		closes = append(closes, closes[i-1]*math.Exp(r*float64(1-2*(i%2))))
	}
	z, sigma := EWMAZ(barsOf(closes))
	if len(z) != 80 || len(sigma) != 81 {
		t.Fatalf("len(z) = %d, len(sigma) = %d, want 80, 81", len(z), len(sigma))
	}
	for i := range sigma {
		if i <= EWMASeedDays {
			if !math.IsNaN(sigma[i]) || (i < len(z) && !math.IsNaN(z[i])) {
				t.Fatalf("day %d: z %v sigma %v, want NaN inside the seed", i, z[i], sigma[i])
			}
			continue
		}
		if math.Abs(sigma[i]-r) > 1e-12 {
			t.Errorf("sigma[%d] = %v, want %v", i, sigma[i], r)
		}
		if want := float64(1 - 2*(i%2)); i < len(z) && math.Abs(z[i]-want) > 1e-9 {
			t.Errorf("z[%d] = %v, want %v", i, z[i], want)
		}
	}
}

// TestEWMAZIsCausal: changing day k's close changes no sigma up to day k
// and no z before day k: the target's scale never reads its own day.
func TestEWMAZIsCausal(t *testing.T) {
	closes := make([]float64, 120)
	x := uint64(7)
	closes[0] = 100
	for i := 1; i < len(closes); i++ {
		x = x*6364136223846793005 + 1442695040888963407
		closes[i] = closes[i-1] * math.Exp(0.03*(float64(x>>40)/float64(1<<24)-0.5))
	}
	z0, s0 := EWMAZ(barsOf(closes))
	const k = 70
	closes[k] *= 1.2
	z1, s1 := EWMAZ(barsOf(closes))
	for i := EWMASeedDays + 1; i <= k; i++ {
		if s0[i] != s1[i] {
			t.Errorf("sigma[%d] changed with day %d's close", i, k)
		}
		if i < k && z0[i] != z1[i] {
			t.Errorf("z[%d] changed with day %d's close", i, k)
		}
	}
	if s0[k+1] == s1[k+1] || z0[k] == z1[k] {
		t.Error("day k's close changed neither z[k] nor sigma[k+1]")
	}
}

// TestParseTargetPointsAtTheQuantileHead: the z target is refused for a
// point model with an error that says where it belongs.
func TestParseTargetPointsAtTheQuantileHead(t *testing.T) {
	if _, err := ParseTarget(TargetLogReturnEWMAZ); err == nil || !strings.Contains(err.Error(), "quantile head") {
		t.Errorf("ParseTarget(%q): %v", TargetLogReturnEWMAZ, err)
	}
}
