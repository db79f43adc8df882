package lstm

import (
	"math"
	"testing"
)

// ref64 is an independent, deliberately naive float64 implementation of the
// network (batch-major, no workspaces, no gemm), used as the oracle for the
// gradient check. masks, if non-nil, are the dropout multipliers per layer:
// [T][bs][U] for lower layers (time-major, as the engine stores them) and
// [bs][U] for the top layer.
func ref64(cfg Config, p []float64, x []float64, bs, T int, masks [][]float64) []float64 {
	in := cfg.Features
	seq := make([][][]float64, bs) // seq[s][t] = input vector of the current layer
	for s := range seq {
		seq[s] = make([][]float64, T)
		for t := range seq[s] {
			seq[s][t] = append([]float64(nil), x[(s*T+t)*in:(s*T+t+1)*in]...)
		}
	}
	off := 0
	var last [][]float64
	for l, U := range cfg.Units {
		K, G := in+U, 4*U
		W := p[off : off+K*G]
		b := p[off+K*G : off+K*G+G]
		off += K*G + G
		sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
		out := make([][][]float64, bs)
		last = make([][]float64, bs)
		for s := 0; s < bs; s++ {
			h := make([]float64, U)
			c := make([]float64, U)
			out[s] = make([][]float64, T)
			for t := 0; t < T; t++ {
				xh := append(append([]float64(nil), seq[s][t]...), h...)
				z := append([]float64(nil), b...)
				for k := 0; k < K; k++ {
					for g := 0; g < G; g++ {
						z[g] += xh[k] * W[k*G+g]
					}
				}
				nh := make([]float64, U)
				for u := 0; u < U; u++ {
					i, f, gg, o := sig(z[u]), sig(z[U+u]), math.Tanh(z[2*U+u]), sig(z[3*U+u])
					c[u] = f*c[u] + i*gg
					nh[u] = o * math.Tanh(c[u])
				}
				h = nh
				o := append([]float64(nil), h...)
				if masks != nil && l < len(cfg.Units)-1 {
					for u := range o {
						o[u] *= masks[l][(t*bs+s)*U+u]
					}
				}
				out[s][t] = o
			}
			last[s] = append([]float64(nil), h...)
			if masks != nil && l == len(cfg.Units)-1 {
				for u := range last[s] {
					last[s][u] *= masks[l][s*U+u]
				}
			}
		}
		seq = out
		in = U
	}
	O := cfg.Outputs
	wd := p[off : off+in*O]
	bd := p[off+in*O : off+in*O+O]
	y := make([]float64, bs*O)
	for s := 0; s < bs; s++ {
		for o := 0; o < O; o++ {
			v := bd[o]
			for u := 0; u < in; u++ {
				v += last[s][u] * wd[u*O+o]
			}
			y[s*O+o] = v
		}
	}
	return y
}

// refLoss is the mean loss of predictions yhat against targets y. For
// Pinball, yhat is [n][len(levels)] raw outputs and y [n].
func refLoss(loss Loss, delta float64, levels []float32, yhat, y []float64) float64 {
	if loss == Pinball {
		O := len(levels)
		var sum float64
		for s := range y {
			var q float64
			for j, tau := range levels {
				if r := yhat[s*O+j]; j == 0 {
					q = r
				} else {
					q += math.Log(1 + math.Exp(r))
				}
				u := y[s] - q
				sum += math.Max(float64(tau)*u, (float64(tau)-1)*u)
			}
		}
		return sum / float64(len(yhat))
	}
	var sum float64
	for i := range yhat {
		e := yhat[i] - y[i]
		switch loss {
		case MSE:
			sum += e * e
		case Huber:
			if math.Abs(e) <= delta {
				sum += 0.5 * e * e
			} else {
				sum += delta * (math.Abs(e) - 0.5*delta)
			}
		default:
			sum += math.Abs(e)
		}
	}
	return sum / float64(len(yhat))
}

func randData(seed uint64, n, T, F, O int) (x, y []float32) {
	r := newRNG(seed)
	x = make([]float32, n*T*F)
	for i := range x {
		x[i] = float32(r.normal())
	}
	y = make([]float32, n*O)
	for i := range y {
		y[i] = float32(r.normal() * 0.5)
	}
	return x, y
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, f := range v {
		out[i] = float64(f)
	}
	return out
}

// bothPaths runs f with the assembly kernels (if this CPU has them) and with
// the pure-Go kernels.
func bothPaths(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	if asmAvailable {
		t.Run(asmName, func(t *testing.T) { ForcePureGo(false); f(t) })
	}
	if asmName == "avx512" && forceAVX2(true) {
		t.Run("avx2", func(t *testing.T) {
			defer forceAVX2(false)
			ForcePureGo(false)
			f(t)
		})
	}
	t.Run("purego", func(t *testing.T) {
		was := ForcePureGo(true)
		defer ForcePureGo(was)
		f(t)
	})
	ForcePureGo(false)
}

func TestGradientCheck(t *testing.T) {
	cases := []struct {
		name    string
		cfg     Config
		T, bs   int
		loss    Loss
		delta   float32
		dropout bool
		levels  []float32 // Pinball's quantile levels
	}{
		{"1layer-mse", Config{Features: 1, Units: []int{5}, Outputs: 1}, 4, 3, MSE, 0, false, nil},
		{"2layer-mse-2out", Config{Features: 3, Units: []int{6, 4}, Outputs: 2}, 5, 4, MSE, 0, false, nil},
		{"3layer-huber", Config{Features: 2, Units: []int{3, 5, 4}, Outputs: 1}, 3, 5, Huber, 0.05, false, nil},
		{"17units-mae", Config{Features: 1, Units: []int{17}, Outputs: 1}, 7, 6, MAE, 0, false, nil},
		{"2layer-dropout", Config{Features: 2, Units: []int{20, 33}, Outputs: 1, Dropout: 0.3}, 6, 9, MSE, 0, true, nil},
		{"2layer-pinball-5q", Config{Features: 2, Units: []int{6, 5}, Outputs: 5}, 5, 7, Pinball, 0, false,
			[]float32{0.05, 0.25, 0.5, 0.75, 0.95}},
		{"1layer-pinball-dropout", Config{Features: 1, Units: []int{9}, Outputs: 3, Dropout: 0.2}, 4, 8, Pinball, 0, true,
			[]float32{0.1, 0.5, 0.9}},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bothPaths(t, func(t *testing.T) {
				net, err := New(tc.cfg, uint64(100+ci))
				if err != nil {
					t.Fatal(err)
				}
				// Make biases and the Dense bias non-trivial so every term matters.
				r := newRNG(uint64(7 + ci))
				for i := range net.params {
					net.params[i] += float32(0.1 * r.normal())
				}
				net.syncDerived()
				x, y := randData(uint64(ci), tc.bs, tc.T, tc.cfg.Features, tc.cfg.Outputs)
				if tc.loss == Pinball {
					y = y[:tc.bs] // one target per window
				}
				tr, err := NewTrainer(net, TrainConfig{Loss: tc.loss, HuberDelta: tc.delta, Quantiles: tc.levels, LearningRate: 1e-3,
					Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, BatchSize: tc.bs, Threads: 1, Seed: 3})
				if err != nil {
					t.Fatal(err)
				}
				rows := make([]int, tc.bs)
				for i := range rows {
					rows[i] = i
				}
				sum := tr.gradient(x, y, rows, tc.T)
				grad := append([]float32(nil), tr.grad...)
				var masks [][]float64
				if tc.dropout {
					ws := tr.ws[0]
					for l, L := range net.layers {
						if l < len(net.layers)-1 {
							masks = append(masks, to64(ws.layers[l].mask[:tc.T*tc.bs*L.U]))
						} else {
							masks = append(masks, to64(ws.topMask[:tc.bs*L.U]))
						}
					}
					var zeros int
					for _, m := range masks[0] {
						if m == 0 {
							zeros++
						}
					}
					if zeros == 0 || zeros == len(masks[0]) {
						t.Fatalf("dropout mask has %d zeros of %d", zeros, len(masks[0]))
					}
				}
				p := to64(net.params)
				x64, y64 := to64(x), to64(y)
				delta := float64(tr.cfg.HuberDelta)
				yref := ref64(tc.cfg, p, x64, tc.bs, tc.T, masks)
				for i, v := range yref {
					if got := float64(tr.ws[0].yhat[i]); math.Abs(got-v) > 1e-5*math.Max(1, math.Abs(v)) {
						t.Errorf("forward output %d = %.8g, float64 reference %.8g", i, got, v)
					}
				}
				lossRef := refLoss(tc.loss, delta, tc.levels, yref, y64)
				if got := sum / float64(len(yref)); math.Abs(got-lossRef) > 1e-5*math.Max(1, lossRef) {
					t.Errorf("loss %.8g, float64 reference %.8g", got, lossRef)
				}
				fd := make([]float64, len(p))
				var maxFD float64
				const h = 1e-6
				// Check every parameter of small nets; a strided sample (which
				// still visits every layer, gate and bias) of larger ones.
				stride := max(1, len(p)/400)
				for i := 0; i < len(p); i += stride {
					orig := p[i]
					p[i] = orig + h
					lp := refLoss(tc.loss, delta, tc.levels, ref64(tc.cfg, p, x64, tc.bs, tc.T, masks), y64)
					p[i] = orig - h
					lm := refLoss(tc.loss, delta, tc.levels, ref64(tc.cfg, p, x64, tc.bs, tc.T, masks), y64)
					p[i] = orig
					fd[i] = (lp - lm) / (2 * h)
					maxFD = math.Max(maxFD, math.Abs(fd[i]))
				}
				if maxFD == 0 {
					t.Fatal("all finite-difference gradients are zero")
				}
				bad := 0
				for i := 0; i < len(p); i += stride {
					if d := math.Abs(float64(grad[i]) - fd[i]); d > 1e-4*maxFD+1e-3*math.Abs(fd[i]) {
						if bad++; bad <= 10 {
							t.Errorf("param %d: gradient %.8g, finite difference %.8g", i, grad[i], fd[i])
						}
					}
				}
				if bad > 0 {
					t.Errorf("%d of %d gradients disagree (max |fd| %.3g)", bad, len(p), maxFD)
				}
			})
		})
	}
}
