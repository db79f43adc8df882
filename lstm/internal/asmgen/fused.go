package main

import "fmt"

// lstmSeq writes lstmSeq<nc>T<tail>, the fused one-window (batch 1) LSTM
// layer of the AVX-512 set: for each of T steps, the recurrent mat-vec
// z = pre_t + h_{t-1}·W_h, the gate activations, the cell update and h_t, in
// one pass with z never leaving registers.
//
// Column layout ("fused", built by lstm's fusedLayout): the 4U gate columns
// are regrouped by chunks of 16 units, each chunk being 4 consecutive zmm
// vectors [i f g o]; nc chunks, the last one masked by K2 when U is not a
// multiple of 16. With tail = 1 a last vector packs the gates of 1..4
// leftover units at lanes 0, 4, 8, 12 (i, f, g, o), so U = 50 needs 13
// vectors instead of 16. Rows (W_h and pre) are NV = 4·nc+tail vectors.
//
// Every arithmetic step is the same instruction sequence, per lane, as
// gemmK1 followed by cellFwdAVX512, so a window gives bit-identical results
// on this path and in a batch.
//
// Registers: Z0..Z3 activation scratch, Z4.. accumulators (vector v in
// Z(4+v)), Z17 the broadcast h_{t-1}[k], Z18 and Z19 cell temporaries,
// Z20..Z31 activation constants. AX pre row, BX W_h rows base, SI W_h walk,
// DI h_{t-1} row, R8 h_{t-1} walk, R9 k counter, R10 c, R11 T counter,
// R12 row stride of pre and W_h (bytes), R13 ldh (bytes), R14 rows.
func lstmSeq(nc, tail int) {
	nv := 4*nc + tail
	name := fmt.Sprintf("lstmSeq%dT%d", nc, tail)
	fmt.Fprintf(&out, "\n// func %s(steps, rows int, w, pre, h *float32, ldw, ldh int, c *float32, mask int)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-72\n", name)
	loadConsts() // clobbers R11: first
	p("MOVQ steps+0(FP), R11")
	p("MOVQ rows+8(FP), R14")
	p("MOVQ w+16(FP), BX")
	p("MOVQ pre+24(FP), AX")
	p("MOVQ h+32(FP), DI")
	p("MOVQ ldw+40(FP), R12")
	p("SHLQ $2, R12")
	p("MOVQ ldh+48(FP), R13")
	p("SHLQ $2, R13")
	p("MOVQ c+56(FP), R10")
	p("MOVQ mask+64(FP), R9")
	p("KMOVW R9, K2")
	p("TESTQ R11, R11")
	p("JZ %s_done", name)
	label(name + "_step")
	for v := 0; v < nv; v++ {
		p("VMOVUPS %d(AX), Z%d", 64*v, 4+v)
	}
	p("MOVQ R14, R9")
	p("TESTQ R9, R9")
	p("JZ %s_cell", name)
	p("MOVQ BX, SI")
	p("MOVQ DI, R8")
	label(name + "_k")
	p("VBROADCASTSS (R8), Z17")
	for v := 0; v < nv; v++ {
		p("VFMADD231PS %d(SI), Z17, Z%d", 64*v, 4+v)
	}
	p("ADDQ $4, R8")
	p("ADDQ R12, SI")
	p("DECQ R9")
	p("JNZ %s_k", name)
	label(name + "_cell")
	// h_t goes to the next row of h.
	p("ADDQ R13, DI")
	for j := 0; j < nc; j++ {
		i, f, g, o := 4+4*j, 5+4*j, 6+4*j, 7+4*j
		last := j == nc-1 && tail == 0
		sigm(i, i)
		sigm(f, f)
		tanhZ(g, g, 19)
		sigm(o, o)
		if last {
			p("VMOVUPS.Z %d(R10), K2, Z18", 64*j)
		} else {
			p("VMOVUPS %d(R10), Z18", 64*j)
		}
		p("VMULPS Z18, Z%d, Z18", f)         // f·cprev
		p("VFMADD231PS Z%d, Z%d, Z18", g, i) // + i·g
		if last {
			p("VMOVUPS Z18, K2, %d(R10)", 64*j)
		} else {
			p("VMOVUPS Z18, %d(R10)", 64*j)
		}
		tanhZ(18, i, 19)
		p("VMULPS Z%d, Z%d, Z%d", i, o, i)
		if last {
			p("VMOVUPS Z%d, K2, %d(DI)", i, 64*j)
		} else {
			p("VMOVUPS Z%d, %d(DI)", i, 64*j)
		}
	}
	if tail == 1 {
		a := 4 + 4*nc
		// Both activations of the packed vector, then the f, g, o lane
		// groups rotated down to lanes 0..3 beside i.
		sigm(a, 18)
		tanhZ(a, 19, 5)
		p("VALIGND $4, Z18, Z18, Z6")  // f
		p("VALIGND $8, Z19, Z19, Z7")  // g
		p("VALIGND $12, Z18, Z18, Z8") // o
		p("VMOVUPS.Z %d(R10), K2, Z9", 64*nc)
		p("VMULPS Z9, Z6, Z9")
		p("VFMADD231PS Z7, Z18, Z9")
		p("VMOVUPS Z9, K2, %d(R10)", 64*nc)
		tanhZ(9, 10, 11)
		p("VMULPS Z10, Z8, Z10")
		p("VMOVUPS Z10, K2, %d(DI)", 64*nc)
	}
	p("ADDQ R12, AX")
	p("DECQ R11")
	p("JNZ %s_step", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
}
