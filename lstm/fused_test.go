package lstm

import (
	"fmt"
	"testing"
)

// TestFusedOneWindow checks that one-window Predict, which takes the fused
// kernels on AVX-512 for layers of up to 52 units, gives exactly the values
// of the same window inside a batch (the batched kernels), for every fused
// layer shape: masked chunks (U mod 16 >= 5), exact chunks, packed tails
// (U mod 16 in 1..4), and a layer too wide for it (60, batched path).
func TestFusedOneWindow(t *testing.T) {
	units := [][]int{{1}, {3, 4}, {5, 8}, {9, 15}, {16, 17}, {20, 33}, {48, 49}, {50, 50}, {52, 2}, {50, 60}, {2, 50, 36}}
	bothPaths(t, func(t *testing.T) {
		for i, u := range units {
			cfg := Config{Features: 1 + i%2, Units: u, Dropout: 0.2, Outputs: 1 + i%3}
			t.Run(fmt.Sprint(u), func(t *testing.T) {
				net, err := New(cfg, uint64(i+1))
				if err != nil {
					t.Fatal(err)
				}
				const n, T = 3, 7
				x, _ := randData(uint64(10+i), n, T, cfg.Features, cfg.Outputs)
				want := make([]float32, n*cfg.Outputs)
				net.Predict(x, n, T, want)
				wantFused := KernelName() == "avx512"
				for _, ww := range u {
					wantFused = wantFused && ww <= 52
				}
				if got := net.fusedWeights() != nil; got != wantFused {
					t.Errorf("fused path in use = %v, want %v", got, wantFused)
				}
				for w := 0; w < n; w++ {
					one := make([]float32, cfg.Outputs)
					net.Predict(x[w*T*cfg.Features:(w+1)*T*cfg.Features], 1, T, one)
					if !equalF32(one, want[w*cfg.Outputs:(w+1)*cfg.Outputs]) {
						t.Errorf("window %d alone gives %v, in a batch %v", w, one, want[w*cfg.Outputs:(w+1)*cfg.Outputs])
					}
				}
				// New parameters must reach the fused weights.
				p := net.Params()
				for j := range p {
					p[j] *= 0.5
				}
				if err := net.SetParams(p); err != nil {
					t.Fatal(err)
				}
				net.Predict(x, n, T, want)
				one := make([]float32, cfg.Outputs)
				net.Predict(x[:T*cfg.Features], 1, T, one)
				if !equalF32(one, want[:cfg.Outputs]) {
					t.Errorf("after SetParams: window alone gives %v, in a batch %v", one, want[:cfg.Outputs])
				}
			})
		}
	})
}
