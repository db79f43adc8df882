package lstm

import (
	"math"
	"slices"
	"unsafe"
)

// This file is the LSTM arithmetic: forward and backward passes over one
// sub-batch of windows held in a workspace. Everything is time-major: the
// block of a time step t holds bs consecutive rows (one per window), so each
// step's matrix product is one gemm call on a contiguous [bs][K] block.

// layerWork holds one layer's activations and gradients for a sub-batch.
type layerWork struct {
	xh   []float32 // [T][bs][K]: input x_t (cols 0..In-1) then h_{t-1} (cols In..K-1)
	act  []float32 // [T][bs][Gp]: gate activations i, f, g, o after their nonlinearity (Gp-G pad columns unused)
	c    []float32 // [T][bs][U]: cell state c_t
	tc   []float32 // [T][bs][U]: tanh(c_t)
	mask []float32 // [T][bs][U]: dropout multipliers (0 or 1/(1-rate)) of this layer's output
	dz   []float32 // [T][bs][Gp]: gradient of the gate pre-activations
	dhin []float32 // [T][bs][U]: gradient reaching h_t from the layer above (already masked)
	dh   []float32 // [bs][U]: gradient reaching h_t through the recurrence
	dc   []float32 // [bs][U]: gradient reaching c_t from step t+1
}

// workspace is the scratch memory of one goroutine's forward/backward pass
// over up to bsCap windows of up to tCap steps. It is reused across batches
// so that steady-state training and inference do not allocate.
type workspace struct {
	bsCap, tCap int
	layers      []layerWork
	hd          []float32 // [bs][U_last]: Dense input, h_{T-1} of the top layer after dropout
	topMask     []float32 // [bs][U_last]: dropout multipliers of the Dense input
	yhat        []float32 // [bs][Outputs]
	dy          []float32 // [bs][Outputs]: dLoss/dyhat
	dhd         []float32 // [bs][U_last]
	idx         []int     // window index of each row
	zeros       []float32 // [maxU] zeros: c_{-1}, and no gradient from above
	hlast       []float32 // [bs][maxU]: h_{T-1} of the layer being computed
	grad        []float32 // parameter gradient accumulated by backward (len NumParams)
}

func newWorkspace(n *Network, bsCap, tCap int) *workspace {
	ws := &workspace{bsCap: bsCap, tCap: tCap}
	rows := bsCap * tCap
	for _, L := range n.layers {
		ws.layers = append(ws.layers, layerWork{
			xh:   make([]float32, rows*L.K),
			act:  alignedFloats(rows * L.Gp),
			c:    make([]float32, rows*L.U),
			tc:   make([]float32, rows*L.U),
			mask: make([]float32, rows*L.U),
			dh:   make([]float32, bsCap*L.U),
			dc:   make([]float32, bsCap*L.U),
		})
	}
	u := n.layers[len(n.layers)-1].U
	ws.hd = make([]float32, bsCap*u)
	ws.topMask = make([]float32, bsCap*u)
	ws.dhd = make([]float32, bsCap*u)
	ws.yhat = make([]float32, bsCap*n.cfg.Outputs)
	ws.dy = make([]float32, bsCap*n.cfg.Outputs)
	ws.idx = make([]int, bsCap)
	maxU := slices.Max(n.cfg.Units)
	ws.zeros = make([]float32, maxU)
	ws.hlast = make([]float32, bsCap*maxU)
	return ws
}

// enableTraining allocates the gradient buffers (inference never needs them).
func (ws *workspace) enableTraining(n *Network) {
	if ws.grad != nil {
		return
	}
	rows := ws.bsCap * ws.tCap
	for i, L := range n.layers {
		ws.layers[i].dz = alignedFloats(rows * L.Gp)
		ws.layers[i].dhin = make([]float32, rows*L.U)
	}
	ws.grad = make([]float32, len(n.params))
}

// load copies windows ws.idx[0:bs] of x ([n][T][F] row-major) into the first
// layer's input columns, time-major, and zeroes h_{-1}.
func (ws *workspace) load(n *Network, x []float32, bs, T int) {
	L := n.layers[0]
	F := L.In
	xh := ws.layers[0].xh
	for s := 0; s < bs; s++ {
		src := x[ws.idx[s]*T*F : (ws.idx[s]+1)*T*F]
		for t := 0; t < T; t++ {
			copy(xh[(t*bs+s)*L.K:(t*bs+s)*L.K+F], src[t*F:(t+1)*F])
		}
	}
	for l, L := range n.layers {
		xh := ws.layers[l].xh
		for s := 0; s < bs; s++ {
			clear(xh[s*L.K+L.In : (s+1)*L.K])
		}
	}
}

// dropoutMasks fills every layer's output multipliers for a batch. A mask
// element depends only on (seed, step, layer, row of the batch, t, unit), not
// on how the batch is split over goroutines, so the thread count does not
// change which units are dropped. rowOff is this sub-batch's first row.
func (ws *workspace) dropoutMasks(n *Network, bs, T int, rate float32, seed, step uint64, rowOff int) {
	scale := 1 / (1 - rate)
	// keep iff u >= rate, u uniform on a 2^-32 grid; one 64-bit hash gives
	// two elements' uniforms.
	thresh := uint32(min(float64(rate)*(1<<32), math.MaxUint32))
	last := len(n.layers) - 1
	fill := func(row []float32, rk uint64, e0 int) {
		var h uint64
		for u := range row {
			e := e0 + u
			if e&1 == 0 || u == 0 {
				h = mix64(rk + uint64(e>>1))
			}
			v := uint32(h)
			if e&1 == 1 {
				v = uint32(h >> 32)
			}
			if v >= thresh {
				row[u] = scale
			} else {
				row[u] = 0
			}
		}
	}
	for l, L := range n.layers {
		key := mix64(seed ^ mix64(step*0x9e3779b97f4a7c15+uint64(l)+1))
		for s := 0; s < bs; s++ {
			rk := mix64(key + uint64(rowOff+s)*0xd1b54a32d192ed03)
			if l < last {
				m := ws.layers[l].mask
				for t := 0; t < T; t++ {
					fill(m[(t*bs+s)*L.U:(t*bs+s+1)*L.U], rk, t*L.U)
				}
			} else {
				fill(ws.topMask[s*L.U:(s+1)*L.U], rk, 0)
			}
		}
	}
}

// forward runs the network over the bs loaded windows of T steps and leaves
// the predictions in ws.yhat. With drop, the dropout masks already in ws are
// applied to every layer output.
func (n *Network) forward(ws *workspace, bs, T int, drop bool) {
	last := len(n.layers) - 1
	for l, L := range n.layers {
		lw := &ws.layers[l]
		w := n.wp[l]
		b := n.params[L.bOff : L.bOff+L.G]
		var next *layerWork
		var nextK int
		if l < last {
			next = &ws.layers[l+1]
			nextK = n.layers[l+1].K
		}
		U, G, Gp, K := L.U, L.G, L.Gp, L.K
		// The input projection of all steps is one large product (the inputs
		// are all known now); only the recurrent part h_{t-1}·W_h has to be
		// done step by step, and its 4U×U block stays in L1.
		all := lw.act[:T*bs*Gp]
		for r := 0; r < T*bs; r++ {
			copy(all[r*Gp:r*Gp+G], b)
		}
		gemm(T*bs, G, L.In, lw.xh, K, 1, w, Gp, all, Gp)
		wh := w[L.In*Gp:]
		for t := 0; t < T; t++ {
			z := lw.act[t*bs*Gp : (t+1)*bs*Gp]
			if t > 0 {
				gemm(bs, G, U, lw.xh[t*bs*K+L.In:], K, 1, wh, Gp, z, Gp)
			}
			c := lw.c[t*bs*U : (t+1)*bs*U]
			tc := lw.tc[t*bs*U : (t+1)*bs*U]
			for s := 0; s < bs; s++ {
				cp := ws.zeros[:U]
				if t > 0 {
					cp = lw.c[((t-1)*bs+s)*U : ((t-1)*bs+s+1)*U]
				}
				// h_t goes where step t+1 reads it; the last one to scratch.
				h := ws.hlast[s*U : (s+1)*U]
				if t+1 < T {
					h = lw.xh[((t+1)*bs+s)*K+L.In : ((t+1)*bs+s+1)*K]
				}
				cellForward(z[s*Gp:s*Gp+G], cp, c[s*U:(s+1)*U], tc[s*U:(s+1)*U], h)
				var dst []float32
				switch {
				case next != nil:
					dst = next.xh[(t*bs+s)*nextK : (t*bs+s)*nextK+U]
				case t == T-1:
					dst = ws.hd[s*U : (s+1)*U]
				default:
					continue
				}
				switch {
				case !drop:
					copy(dst, h)
				case next != nil:
					m := lw.mask[(t*bs+s)*U : (t*bs+s+1)*U]
					for u := range dst {
						dst[u] = h[u] * m[u]
					}
				default:
					m := ws.topMask[s*U : (s+1)*U]
					for u := range dst {
						dst[u] = h[u] * m[u]
					}
				}
			}
		}
	}
	// Dense head: yhat = hd·Wd + bd.
	O := n.cfg.Outputs
	U := n.layers[last].U
	bd := n.params[n.dbOff : n.dbOff+O]
	for s := 0; s < bs; s++ {
		copy(ws.yhat[s*O:(s+1)*O], bd)
	}
	gemm(bs, O, U, ws.hd, U, 1, n.params[n.dwOff:n.dwOff+U*O], O, ws.yhat, O)
}

// backward adds the gradient of the loss to ws.grad, given ws.dy = dLoss/dyhat
// and the state left by forward (same bs, T, drop).
func (n *Network) backward(ws *workspace, bs, T int, drop bool) {
	last := len(n.layers) - 1
	O := n.cfg.Outputs
	Ut := n.layers[last].U
	g := ws.grad
	wd := n.params[n.dwOff : n.dwOff+Ut*O]
	// Dense: dWd += hdᵀ·dy, dbd += Σ_s dy, dhd = dy·Wdᵀ.
	gemm(Ut, O, bs, ws.hd, 1, Ut, ws.dy, O, g[n.dwOff:n.dwOff+Ut*O], O)
	gemm(1, O, bs, one[:], 0, 0, ws.dy, O, g[n.dbOff:n.dbOff+O], O)
	dhd := ws.dhd[:bs*Ut]
	for s := 0; s < bs; s++ {
		dys := ws.dy[s*O : (s+1)*O]
		row := dhd[s*Ut : (s+1)*Ut]
		for u := range row {
			var v float32
			for o, d := range dys {
				v += wd[u*O+o] * d
			}
			if drop {
				v *= ws.topMask[s*Ut+u]
			}
			row[u] = v
		}
	}
	for l := last; l >= 0; l-- {
		L := n.layers[l]
		U, G, Gp, K, In := L.U, L.G, L.Gp, L.K, L.In
		lw := &ws.layers[l]
		dh := lw.dh[:bs*U]
		dc := lw.dc[:bs*U]
		clear(dc)
		if l == last {
			copy(dh, dhd)
		} else {
			clear(dh)
		}
		var below *layerWork
		if l > 0 {
			below = &ws.layers[l-1]
		}
		for t := T - 1; t >= 0; t-- {
			act := lw.act[t*bs*Gp : (t+1)*bs*Gp]
			dz := lw.dz[t*bs*Gp : (t+1)*bs*Gp]
			for s := 0; s < bs; s++ {
				cp, dhin := ws.zeros[:U], ws.zeros[:U]
				if t > 0 {
					cp = lw.c[((t-1)*bs+s)*U : ((t-1)*bs+s+1)*U]
				}
				if l < last {
					dhin = lw.dhin[(t*bs+s)*U : (t*bs+s+1)*U]
				}
				cellBackward(act[s*Gp:s*Gp+G], dz[s*Gp:s*Gp+G], lw.tc[(t*bs+s)*U:(t*bs+s+1)*U], cp,
					dh[s*U:(s+1)*U], dhin, dc[s*U:(s+1)*U])
			}
			// [dx_t, dh_{t-1}] = dz_t·Wᵀ, split so each part lands where it is used.
			// dh_{t-1} = dz_t·W_hᵀ; the input gradients wait for one large
			// product after the loop.
			clear(dh)
			if t > 0 {
				gemm(bs, U, G, dz, Gp, 1, n.wth[l], L.Up, dh, U)
			}
		}
		if below != nil {
			// dx_t = dz_t·W_xᵀ for all t, times the lower layer's dropout mask.
			dx := below.dhin[:T*bs*In]
			clear(dx)
			gemm(T*bs, In, G, lw.dz, Gp, 1, n.wtx[l], L.Inp, dx, In)
			if drop {
				m := below.mask[:T*bs*In]
				for i := range dx {
					dx[i] *= m[i]
				}
			}
		}
		// dW += Σ_t xh_tᵀ·dz_t and db += Σ rows of dz, as two large products.
		rows := T * bs
		gemm(K, G, rows, lw.xh, 1, K, lw.dz, Gp, g[L.wOff:L.wOff+K*G], G)
		gemm(1, G, rows, one[:], 0, 0, lw.dz, Gp, g[L.bOff:L.bOff+G], G)
	}
}

// one is the all-ones "matrix" (stride 0) that turns a column sum into a gemm.
var one = [1]float32{1}

// alignedFloats returns n zeroed float32s starting on a 64-byte boundary, so
// that rows whose stride is a multiple of 16 floats never split a zmm load
// across cache lines.
func alignedFloats(n int) []float32 {
	buf := make([]float32, n+15)
	off := int((64 - uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%64) % 64 / 4)
	return buf[off : off+n : off+n]
}
