package lstm

import (
	"fmt"
	"math"
)

// The quantile head. With Loss Pinball, output j of the Dense layer is not a
// quantile itself but a raw value r_j, and the quantiles are its cumulative
// softplus
//
//	q_0 = r_0,   q_j = q_{j-1} + softplus(r_j)   (softplus(r) = log(1+e^r))
//
// so q_0 < q_1 < … whatever the weights: quantiles cannot cross, in training
// as at inference (sorting only at inference would let training fit crossed
// quantiles and then reorder them). The target of a window is one value y
// (targets are [n][1]), and the loss is the mean over the batch and the levels
// τ_j of the pinball loss ρ_τ(y - q_j), ρ_τ(u) = max(τ·u, (τ-1)·u).

// Quantiles writes the head's quantiles for raw outputs raw ([n][O] as
// Predict returns them for a Pinball-trained network) into dst (same shape,
// may be raw itself). O is the number of quantile levels.
func Quantiles(raw []float32, O int, dst []float32) {
	if O < 1 || len(raw)%O != 0 || len(dst) != len(raw) {
		panic(fmt.Sprintf("lstm: Quantiles: %d raw values, %d outputs, dst %d", len(raw), O, len(dst)))
	}
	for s := 0; s < len(raw); s += O {
		q := float64(raw[s])
		dst[s] = float32(q)
		for j := 1; j < O; j++ {
			q += softplus(float64(raw[s+j]))
			dst[s+j] = float32(q)
		}
	}
}

// softplus is log(1+e^r), computed without overflow.
func softplus(r float64) float64 {
	return math.Max(r, 0) + math.Log1p(math.Exp(-math.Abs(r)))
}

// pinball returns ρ_τ(y - q) and its derivative with respect to q.
func pinball(tau, y, q float64) (float64, float64) {
	u := y - q
	if u < 0 {
		return (tau - 1) * u, 1 - tau
	}
	return tau * u, -tau
}

// checkLevels reports whether levels are strictly increasing in (0, 1), one
// per output.
func checkLevels(levels []float32, outputs int) error {
	if len(levels) != outputs {
		return fmt.Errorf("lstm: %d quantile levels for %d outputs, want one per output", len(levels), outputs)
	}
	for j, v := range levels {
		if !(v > 0 && v < 1) || (j > 0 && !(v > levels[j-1])) {
			return fmt.Errorf("lstm: quantile levels %v, want strictly increasing in (0, 1)", levels)
		}
	}
	return nil
}

// pinballRow returns the summed pinball loss of one window's raw outputs raw
// against its target y and, when dy is not nil, writes scale × the gradient
// with respect to raw into dy. q is scratch of len(raw).
func (t *Trainer) pinballRow(raw []float32, y float32, dy []float32, scale float32, q []float64) float64 {
	O := len(raw)
	acc := float64(raw[0])
	q[0] = acc
	for j := 1; j < O; j++ {
		acc += softplus(float64(raw[j]))
		q[j] = acc
	}
	var sum, g float64 // g: Σ_{j>=k} ∂loss/∂q_j, built from the top down
	for k := O - 1; k >= 0; k-- {
		l, d := pinball(float64(t.cfg.Quantiles[k]), float64(y), q[k])
		sum += l
		g += d
		if dy != nil {
			s := 1.0 // ∂q_j/∂r_0 = 1, ∂q_j/∂r_k = σ(r_k) for j >= k >= 1
			if k > 0 {
				s = 1 / (1 + math.Exp(-float64(raw[k])))
			}
			dy[k] = float32(g*s) * scale
		}
	}
	return sum
}
