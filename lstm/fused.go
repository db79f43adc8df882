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
// steps: pre [T][ldw] the gate pre-activations, h[0] and h[1] the h
// sequences ([T+1][ldh], row 0 is h_{-1}) of alternate layers, c [ldh].
type oneWork struct {
	tCap int
	pre  []float32
	h    [2][]float32
	c    []float32
}

// predictOne is Predict for one window on the fused kernels.
func (n *Network) predictOne(f *fusedNet, x []float32, T int, out []float32) {
	var ws *oneWork
	if v := n.poolFused.Get(); v != nil && v.(*oneWork).tCap >= T {
		ws = v.(*oneWork)
	} else {
		ws = &oneWork{tCap: T}
		ldw, ldh := 0, 0
		for _, fl := range f.layers {
			ldw, ldh = max(ldw, fl.ldw), max(ldh, fl.ldh)
		}
		ws.pre = alignedFloats((T + 1) * ldw) // a spare row: lstmSeqPipe50 reads one past the last step
		ws.h[0] = alignedFloats((T + 1) * ldh)
		ws.h[1] = alignedFloats((T + 1) * ldh)
		ws.c = alignedFloats(ldh)
	}
	in, inStride := x[:T*n.cfg.Features], n.cfg.Features
	var h []float32
	for l, L := range n.layers {
		fl := &f.layers[l]
		pre := ws.pre[:(T+1)*fl.ldw]
		for t := 0; t < T; t++ {
			copy(pre[t*fl.ldw:(t+1)*fl.ldw], fl.b)
		}
		gemm(T, fl.ldw, L.In, in, inStride, 1, fl.wx, fl.ldw, pre, fl.ldw)
		h = ws.h[l%2][:(T+1)*fl.ldh]
		c := ws.c[:fl.ldh]
		clear(c)
		fusedSeq(fl, 1, 0, pre, h, c) // h_{-1} = 0: no recurrent product
		fusedSeq(fl, T-1, L.U, pre[fl.ldw:], h[fl.ldh:], c)
		in, inStride = h[fl.ldh:], fl.ldh
	}
	// Dense head on h_{T-1} of the top layer, as forward does it.
	O, U := n.cfg.Outputs, n.layers[len(n.layers)-1].U
	copy(out[:O], n.params[n.dbOff:n.dbOff+O])
	gemm(1, O, U, h[T*f.layers[len(f.layers)-1].ldh:], U, 1, n.params[n.dwOff:n.dwOff+U*O], O, out, O)
	n.poolFused.Put(ws)
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
