package lstm

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// Config describes the network: stacked LSTM layers, dropout after each
// layer's output (training and Monte-Carlo inference only), then a Dense head.
type Config struct {
	Features int     // inputs per time step
	Units    []int   // units of each stacked LSTM layer, first to last (reference: {50, 50})
	Dropout  float32 // rate applied to each LSTM layer's output in training (reference 0.2)
	Outputs  int     // width of the Dense head (1 = next step)
}

// maxDim bounds every dimension so that index arithmetic cannot overflow and a
// corrupt weights file cannot ask for terabytes.
const maxDim = 1 << 16

func (c Config) validate() error {
	if c.Features < 1 || c.Features > maxDim {
		return fmt.Errorf("lstm: Features = %d, want 1..%d", c.Features, maxDim)
	}
	if len(c.Units) == 0 {
		return errors.New("lstm: Units is empty, want at least one LSTM layer")
	}
	if len(c.Units) > 64 {
		return fmt.Errorf("lstm: %d LSTM layers, want at most 64", len(c.Units))
	}
	for i, u := range c.Units {
		if u < 1 || u > 4096 {
			return fmt.Errorf("lstm: Units[%d] = %d, want 1..4096", i, u)
		}
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		return fmt.Errorf("lstm: Dropout = %v, want 0 <= rate < 1", c.Dropout)
	}
	if c.Outputs < 1 || c.Outputs > maxDim {
		return fmt.Errorf("lstm: Outputs = %d, want 1..%d", c.Outputs, maxDim)
	}
	return nil
}

// layerShape locates one LSTM layer inside the flat parameter vector.
//
// The layer's weights are one matrix W of shape [K][G] row-major, K = In+U,
// G = 4U: rows 0..In-1 are Keras' kernel (input weights), rows In..K-1 Keras'
// recurrent kernel; columns are the gates in the order i, f, g, o, each U
// wide. So the gate pre-activations of a batch are z = [x_t, h_{t-1}]·W + b.
type layerShape struct {
	In, U, K, G int
	Inp, Up, Gp int // In, U and G rounded up to a multiple of 16 (row strides of wtx, wth, wp)
	wOff, bOff  int // offsets of W [K][G] and b [G] in Network.params
}

// Network is a stacked LSTM with a Dense head. Its parameters live in one
// flat float32 vector (see doc.go for the layout). Predict and
// PredictDropout are safe for concurrent use; training (Trainer) mutates the
// parameters and must not run concurrently with them.
type Network struct {
	cfg    Config
	layers []layerShape
	dwOff  int // Dense kernel Wd [U_last][Outputs] row-major
	dbOff  int // Dense bias [Outputs]
	params []float32
	// wp[l] is layers[l]'s W with rows padded to Gp floats; wtx[l] and
	// wth[l] are the transposes of its input and recurrent blocks ([G][Inp],
	// [G][Up]). All are 64-byte aligned with padded rows, so no vector load
	// straddles two cache lines; they are the copies the kernels multiply
	// by, rebuilt from params by syncDerived.
	wp, wtx, wth [][]float32

	poolOne, poolBig sync.Pool // *workspace for inference: 1 window, predictChunk windows

	// The fused one-window path (fused.go): fusedOK says every layer fits
	// it; fused caches the weights in its layout for parameter generation
	// gen (bumped by syncDerived); poolFused holds *oneWork.
	fusedOK   bool
	gen       atomic.Uint64
	fused     atomic.Pointer[fusedNet]
	poolFused sync.Pool
	// oneThreads is SetOneWindowThreads' value, 0 for the default.
	oneThreads atomic.Int32
}

// New returns a network with Keras' default initialisation, drawn from seed:
// kernels glorot_uniform, recurrent kernels orthogonal (the whole U×4U
// matrix, as Keras does), LSTM biases zero except the forget gate's (1),
// Dense kernel glorot_uniform, Dense bias zero.
func New(cfg Config, seed uint64) (*Network, error) {
	n, err := alloc(cfg)
	if err != nil {
		return nil, err
	}
	rng := newRNG(seed)
	for _, L := range n.layers {
		w := n.params[L.wOff : L.wOff+L.K*L.G]
		glorotUniform(rng, w[:L.In*L.G], L.In, L.G)
		orthogonal(rng, w[L.In*L.G:], L.U, L.G)
		b := n.params[L.bOff : L.bOff+L.G]
		for j := L.U; j < 2*L.U; j++ {
			b[j] = 1
		}
	}
	last := n.layers[len(n.layers)-1]
	glorotUniform(rng, n.params[n.dwOff:n.dwOff+last.U*cfg.Outputs], last.U, cfg.Outputs)
	n.syncDerived()
	return n, nil
}

// alloc builds the shape bookkeeping and zeroed parameters for cfg.
func alloc(cfg Config) (*Network, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Units = append([]int(nil), cfg.Units...)
	n := &Network{cfg: cfg}
	off, in := 0, cfg.Features
	for _, u := range cfg.Units {
		L := layerShape{In: in, U: u, K: in + u, G: 4 * u}
		L.Inp, L.Up, L.Gp = (L.In+15)&^15, (L.U+15)&^15, (L.G+15)&^15
		L.wOff = off
		off += L.K * L.G
		L.bOff = off
		off += L.G
		n.layers = append(n.layers, L)
		in = u
	}
	n.dwOff = off
	off += in * cfg.Outputs
	n.dbOff = off
	off += cfg.Outputs
	n.params = make([]float32, off)
	n.wtx = make([][]float32, len(n.layers))
	n.wth = make([][]float32, len(n.layers))
	n.wp = make([][]float32, len(n.layers))
	for i, L := range n.layers {
		n.wtx[i] = alignedFloats(L.G * L.Inp)
		n.wth[i] = alignedFloats(L.G * L.Up)
		n.wp[i] = alignedFloats(L.K * L.Gp)
	}
	n.fusedOK = true
	for _, L := range n.layers {
		_, _, _, ok := fusedShape(L.U)
		n.fusedOK = n.fusedOK && ok
	}
	return n, nil
}

// syncDerived recomputes the transposed weight copies after params changed.
func (n *Network) syncDerived() {
	n.gen.Add(1) // the fused one-window weights are stale
	for i, L := range n.layers {
		w := n.params[L.wOff : L.wOff+L.K*L.G]
		wp := n.wp[i]
		for k := 0; k < L.K; k++ {
			row := w[k*L.G : (k+1)*L.G]
			copy(wp[k*L.Gp:], row)
			if k < L.In {
				for g, v := range row {
					n.wtx[i][g*L.Inp+k] = v
				}
			} else {
				for g, v := range row {
					n.wth[i][g*L.Up+k-L.In] = v
				}
			}
		}
	}
}

// Config returns the network's configuration (a copy).
func (n *Network) Config() Config {
	c := n.cfg
	c.Units = append([]int(nil), c.Units...)
	return c
}

// NumParams is the number of trainable parameters (30651 for the reference
// configuration, as Keras reports).
func (n *Network) NumParams() int { return len(n.params) }

// Params returns a copy of the flat parameter vector (layout in doc.go).
func (n *Network) Params() []float32 { return append([]float32(nil), n.params...) }

// SetParams replaces the flat parameter vector (layout in doc.go); p must
// have NumParams elements, all finite.
func (n *Network) SetParams(p []float32) error {
	if len(p) != len(n.params) {
		return fmt.Errorf("lstm: SetParams got %d values, network has %d parameters", len(p), len(n.params))
	}
	for i, v := range p {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("lstm: SetParams value %d is %v", i, v)
		}
	}
	copy(n.params, p)
	n.syncDerived()
	return nil
}

// Clone returns a deep copy that shares nothing with n (its
// SetOneWindowThreads setting included).
func (n *Network) Clone() *Network {
	c, err := alloc(n.cfg)
	if err != nil {
		panic(err) // n's config was validated when n was made
	}
	copy(c.params, n.params)
	c.syncDerived()
	c.oneThreads.Store(n.oneThreads.Load())
	return c
}

// FLOPs is the floating-point operation count of one window of the given
// length: the matrix products (2 per multiply-add) of the forward pass, and
// with training also the backward pass (input/recurrent gradients and weight
// gradients, each as large as the forward products). Element-wise work is not
// counted. Reference config, 60 steps: 3.62 MFLOP forward, 10.9 MFLOP training.
func (n *Network) FLOPs(steps int, training bool) float64 {
	var f float64
	for _, L := range n.layers {
		f += 2 * float64(steps) * float64(L.K) * float64(L.G)
	}
	f += 2 * float64(n.layers[len(n.layers)-1].U) * float64(n.cfg.Outputs)
	if training {
		f *= 3
	}
	return f
}
