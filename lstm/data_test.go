package lstm

import "math"

// randomWalk returns n windows of T steps (F features) cut from seeded random
// walks squashed into (0, 1), like MinMax-scaled prices, and as targets the
// walk's next value (first feature) repeated over O outputs.
func randomWalk(seed uint64, n, T, F, O int) (x, y []float32) {
	r := newRNG(seed)
	x = make([]float32, n*T*F)
	y = make([]float32, n*O)
	for f := 0; f < F; f++ {
		level := r.normal()
		series := make([]float64, n+T)
		for i := range series {
			level += 0.1 * r.normal()
			series[i] = 1 / (1 + math.Exp(-level))
		}
		for i := 0; i < n; i++ {
			for t := 0; t < T; t++ {
				x[(i*T+t)*F+f] = float32(series[i+t])
			}
			if f == 0 {
				for o := 0; o < O; o++ {
					y[i*O+o] = float32(series[i+T])
				}
			}
		}
	}
	return x, y
}
