package lstm

import "fmt"

// One-window inference (Predict with batch 1, the HTTP server's call) has a
// fused path on AVX-512: per layer, the input projections of all steps are
// one gemm as usual, then one assembly call (lstmSeq*, internal/asmgen/
// fused.go) runs the whole recurrence, each step's mat-vec, activations and
// cell update in registers, with no per-step calls and no pass over a gate
// buffer. It does the same per-lane arithmetic in the same order as the
// batched path, so results are bit-identical to it.
//
// Fused column layout of a layer (its W rows and bias, and so its gate
// pre-activations): units are grouped in chunks of 16; chunk j is the 4
// consecutive 16-float vectors [i f g o] of units 16j..16j+15 (a last,
// partial chunk has zero weights in its unused lanes). With U mod 16 in
// 1..4, the leftover units instead share one packed "tail" vector, gate q
// at lanes 4q..4q+3: U = 50 takes 13 vectors (208 columns), not 16. A
// layer is eligible when it fits 13 accumulators: U <= 52. Networks with a
// larger layer use the batched path for one window too.

// noFused turns the fused path off (benchmarks compare the two paths).
var noFused bool

// fusedLayer is one layer's weights in the fused column layout.
type fusedLayer struct {
	nc, tail int       // full-or-masked chunks, packed tail vectors (0 or 1)
	ldw      int       // row length in floats: 16·(4·nc+tail)
	ldh      int       // h row stride in floats: U rounded up to 16
	mask     int       // lanes of the last chunk (or of the tail) that hold units
	pipe50   bool      // U = 50: the recurrence runs on lstmSeqPipe50
	wx       []float32 // [In][ldw] input rows
	wh       []float32 // [U][ldw] recurrent rows
	b        []float32 // [ldw] bias
}

// fusedNet is a network's fused weights, valid for parameter generation gen.
type fusedNet struct {
	gen    uint64
	layers []fusedLayer
}

// fusedShape returns the fused layout of a U-unit layer, or ok = false when
// it needs more than the kernels' 13 accumulators.
func fusedShape(U int) (nc, tail, mask int, ok bool) {
	nc, r := U/16, U%16
	switch {
	case r == 0:
		mask = 0xffff
	case r <= 4:
		tail, mask = 1, 1<<r-1
	default:
		nc, mask = nc+1, 1<<r-1
	}
	return nc, tail, mask, nc <= 3
}

// fusedCol is the fused column of Keras column q·U+u (gate q, unit u).
func (fl *fusedLayer) fusedCol(q, u int) int {
	if j := u / 16; j < fl.nc {
		return (4*j+q)*16 + u%16
	}
	return 64*fl.nc + 4*q + u - 16*fl.nc
}

// fusedWeights returns n's fused weights, building them after the
// parameters changed (the only time the one-window path allocates), or nil
// when the fused path cannot run. Two Predicts racing to build both store
// a correct copy.
func (n *Network) fusedWeights() *fusedNet {
	if !fusedAvailable() || !n.fusedOK || noFused {
		return nil
	}
	gen := n.gen.Load()
	if f := n.fused.Load(); f != nil && f.gen == gen {
		return f
	}
	f := &fusedNet{gen: gen}
	for _, L := range n.layers {
		nc, tail, mask, _ := fusedShape(L.U)
		fl := fusedLayer{nc: nc, tail: tail, mask: mask, ldw: 16 * (4*nc + tail), ldh: (L.U + 15) &^ 15, pipe50: L.U == 50}
		fl.wx = alignedFloats(L.In * fl.ldw)
		fl.wh = alignedFloats(L.U * fl.ldw)
		fl.b = alignedFloats(fl.ldw)
		w := n.params[L.wOff : L.wOff+L.K*L.G]
		b := n.params[L.bOff : L.bOff+L.G]
		for q := 0; q < 4; q++ {
			for u := 0; u < L.U; u++ {
				col, src := fl.fusedCol(q, u), q*L.U+u
				fl.b[col] = b[src]
				for k := 0; k < L.In; k++ {
					fl.wx[k*fl.ldw+col] = w[k*L.G+src]
				}
				for k := 0; k < L.U; k++ {
					fl.wh[k*fl.ldw+col] = w[(L.In+k)*L.G+src]
				}
			}
		}
		f.layers = append(f.layers, fl)
	}
	n.fused.Store(f)
	return f
}

// oneWork is the scratch memory of one fused one-window pass of up to tCap
// steps, one set per layer so that layers can run at the same time
// (pipe.go): pre[l] [T+1][ldw] the gate pre-activations (a spare row:
// lstmSeqPipe50 reads one past the last step), h[l] [T+1][ldh] the h
// sequence (row 0 is h_{-1} = 0, row t+1 is h_t), c[l] [ldh]; job is the
// pipelined pass's shared state.
type oneWork struct {
	tCap int
	pre  [][]float32
	h    [][]float32
	c    [][]float32
	job  pipeJob
}

// oneWorkspace returns a pooled oneWork for T steps.
func (n *Network) oneWorkspace(f *fusedNet, T int) *oneWork {
	if v := n.poolFused.Get(); v != nil && v.(*oneWork).tCap >= T {
		return v.(*oneWork)
	}
	return newOneWork(f, T)
}

// newOneWork allocates a oneWork for T steps of f.
func newOneWork(f *fusedNet, T int) *oneWork {
	ws := &oneWork{tCap: T}
	for _, fl := range f.layers {
		ws.pre = append(ws.pre, alignedFloats((T+1)*fl.ldw))
		ws.h = append(ws.h, alignedFloats((T+1)*fl.ldh))
		ws.c = append(ws.c, alignedFloats(fl.ldh))
	}
	ws.job.init(len(f.layers))
	return ws
}

// predictOne is Predict for one window on the fused kernels: pipelined
// over two goroutines when that pays (pipe.go), else layer after layer.
func (n *Network) predictOne(f *fusedNet, x []float32, T int, out []float32) {
	ws := n.oneWorkspace(f, T)
	x = x[:T*n.cfg.Features]
	if n.pipelined(ws, f, x, T, out) {
		return
	}
	for l := range f.layers {
		n.oneProj(f, ws, x, l, 0, T, T)
		n.oneRec(f, ws, l, 0, T, T)
	}
	n.oneOutput(f, ws, T, out)
	n.poolFused.Put(ws)
}

// oneOutput is the Dense head on h_{T-1} of the top layer, as forward does it.
func (n *Network) oneOutput(f *fusedNet, ws *oneWork, T int, out []float32) {
	top := len(f.layers) - 1
	O, U := n.cfg.Outputs, n.layers[top].U
	copy(out[:O], n.params[n.dbOff:n.dbOff+O])
	gemm(1, O, U, ws.h[top][T*f.layers[top].ldh:], U, 1, n.params[n.dwOff:n.dwOff+U*O], O, out, O)
}

// oneProj writes the input projections of steps d..d+m-1 of layer l of a
// T-step window into pre[l]: the bias, plus one gemm over those m rows of
// the layer below's h (x for layer 0). gemm sums each element in k order
// whatever the row count, so any split of the steps gives the same bits.
func (n *Network) oneProj(f *fusedNet, ws *oneWork, x []float32, l, d, m, T int) {
	fl, L := &f.layers[l], n.layers[l]
	in, inStride := x, n.cfg.Features
	if l > 0 {
		in, inStride = ws.h[l-1][f.layers[l-1].ldh:], f.layers[l-1].ldh
	}
	pre := ws.pre[l][:(T+1)*fl.ldw]
	for t := d; t < d+m; t++ {
		copy(pre[t*fl.ldw:(t+1)*fl.ldw], fl.b)
	}
	gemm(m, fl.ldw, L.In, in[d*inStride:], inStride, 1, fl.wx, fl.ldw, pre[d*fl.ldw:], fl.ldw)
}

// oneRec runs the recurrence of steps d..d+m-1 of layer l, whose pre rows
// are written: c[l] and h[l] rows up to d hold the state after step d-1,
// and every step starts from that memory, so any split of the steps gives
// the same bits as one call over all T.
func (n *Network) oneRec(f *fusedNet, ws *oneWork, l, d, m, T int) {
	fl := &f.layers[l]
	pre, h, c := ws.pre[l][:(T+1)*fl.ldw], ws.h[l][:(T+1)*fl.ldh], ws.c[l][:fl.ldh]
	if d == 0 {
		clear(c)
		fusedSeq(fl, 1, 0, pre, h, c) // h_{-1} = 0: no recurrent product
		d, m = 1, m-1
	}
	fusedSeq(fl, m, n.layers[l].U, pre[d*fl.ldw:], h[d*fl.ldh:], c)
}

// fusedSeq runs steps steps of a fused layer after checking that every
// buffer the kernel touches is there: pre [steps+1][ldw] (the pipelined
// kernel reads one row past the last step), h [steps+1][ldh], c [ldh], and
// rows recurrent rows.
func fusedSeq(fl *fusedLayer, steps, rows int, pre, h, c []float32) {
	if steps <= 0 {
		return
	}
	if len(pre) < (steps+1)*fl.ldw || len(h) < (steps+1)*fl.ldh || len(c) < fl.ldh || rows*fl.ldw > len(fl.wh) {
		panic(fmt.Sprintf("lstm: fused layer out of range: steps=%d rows=%d len(pre)=%d len(h)=%d len(c)=%d", steps, rows, len(pre), len(h), len(c)))
	}
	lstmSeqAsm(fl, steps, rows, pre, h, c)
}
