package main

import (
	"bytes"
	"fmt"
	"strings"
)

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

// capture returns the lines that gen writes, instead of writing them.
func capture(gen func()) []string {
	saved := out
	out = bytes.Buffer{}
	gen()
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	out = saved
	return lines
}

// cellChunk is the cell of full chunk j (accumulators Z(4+4j)..Z(7+4j)):
// h_{t} to hOff+64j(DI), c at 64j(R10). Uses Z0..Z3, Z18, Z19.
func cellChunk(j, hOff int) {
	i, f, g, o := 4+4*j, 5+4*j, 6+4*j, 7+4*j
	sigm(i, i)
	sigm(f, f)
	tanhZ(g, g, 19)
	sigm(o, o)
	p("VMOVUPS %d(R10), Z18", 64*j)
	p("VMULPS Z18, Z%d, Z18", f)
	p("VFMADD231PS Z%d, Z%d, Z18", g, i)
	p("VMOVUPS Z18, %d(R10)", 64*j)
	tanhZ(18, i, 19)
	p("VMULPS Z%d, Z%d, Z%d", i, o, i)
	p("VMOVUPS Z%d, %d(DI)", i, hOff+64*j)
}

// cellTailNarrow is the packed tail vector Z(4+4nc) (lanes i 0..3, f 4..7,
// g 8..11, o 12..15) in registers Z(4+4nc-4)..Z(4+4nc), Z18, Z19 only (the
// last full chunk's registers are free by then). c and h are stored
// unmasked: lanes past the tail's units land in the padding of the h row
// and of c (U rounded up to 16), which nothing reads, and a full store
// forwards to the next step's loads where a masked one would not.
func cellTailNarrow(nc, hOff int) {
	a := 4 + 4*nc
	s0, s1, s2, s3 := a-4, a-3, a-2, a-1
	sigm(a, 18)
	tanhZ(a, 19, s0)
	p("VALIGND $4, Z18, Z18, Z%d", s1)  // f
	p("VALIGND $8, Z19, Z19, Z%d", s2)  // g
	p("VALIGND $12, Z18, Z18, Z%d", s3) // o
	p("VMOVUPS.Z %d(R10), K2, Z%d", 64*nc, a)
	p("VMULPS Z%d, Z%d, Z%d", a, s1, a)
	p("VFMADD231PS Z%d, Z18, Z%d", s2, a)
	p("VMOVUPS Z%d, %d(R10)", a, 64*nc)
	tanhZ(a, s1, s2)
	p("VMULPS Z%d, Z%d, Z%d", s1, s3, s1)
	p("VMOVUPS Z%d, %d(DI)", s1, hOff+64*nc)
}

// kRows are rows r0..r1-1 of the mat-vec for accumulator vectors v0..v1-1,
// h read at hOff(DI), W rows of ldw bytes from BX.
func kRows(r0, r1, v0, v1, hOff, ldw int) [][]string {
	var rows [][]string
	for r := r0; r < r1; r++ {
		rows = append(rows, capture(func() {
			p("VBROADCASTSS %d(DI), Z17", hOff+4*r)
			for v := v0; v < v1; v++ {
				p("VFMADD231PS %d(BX), Z17, Z%d", r*ldw+64*v, 4+v)
			}
		}))
	}
	return rows
}

// interleave writes the k rows with the cell lines spread evenly between
// them, so that both independent streams are in the out-of-order window.
func interleave(rows [][]string, cell []string) {
	per := (len(cell) + len(rows) - 1) / len(rows)
	for _, r := range rows {
		for _, l := range r {
			out.WriteString(l + "\n")
		}
		n := min(per, len(cell))
		for _, l := range cell[:n] {
			out.WriteString(l + "\n")
		}
		cell = cell[n:]
	}
	for _, l := range cell {
		out.WriteString(l + "\n")
	}
}

// lstmSeqPipe50 is lstmSeq3T1 for exactly U = 50 (the reference layer),
// software-pipelined: the 13 gate vectors are split into A (chunks 0 and 1,
// units 0..31) and B (chunk 2 and the tail, units 32..49), and
//
//	P1: A += rows 32..49 of h_{t-1}                     (A is then complete)
//	P2: B = pre_t + h_{t-1}·W_h[B]   ‖ cell of A → h_t[0..31]
//	P3: A = pre_{t+1} + rows 0..31 of h_t·W_h[A] ‖ cell of B → h_t[32..49]
//
// so the cell's long dependency chains run beside the mat-vec's loads and
// FMAs instead of after them. Every accumulator still sums its rows in
// order 0..49, so results are bit-identical to lstmSeq3T1. P3 of the last
// step reads one row of pre past the last step (the caller provides it)
// and its result is dropped.
func lstmSeqPipe50() {
	const name, nc, U, ldw, ldh = "lstmSeqPipe50", 3, 50, 13 * 64, 64 * 4
	fmt.Fprintf(&out, "\n// func %s(steps int, w, pre, h, c *float32)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-40\n", name)
	loadConsts()
	p("MOVQ steps+0(FP), R11")
	p("MOVQ w+8(FP), BX")
	p("MOVQ pre+16(FP), AX")
	p("MOVQ h+24(FP), DI")
	p("MOVQ c+32(FP), R10")
	p("MOVL $0x3, R9") // the tail's units: 48, 49
	p("KMOVW R9, K2")
	p("TESTQ R11, R11")
	p("JZ %s_done", name)
	// Prologue: A = pre_t + rows 0..31 of h_{t-1}.
	for v := 0; v < 8; v++ {
		p("VMOVUPS %d(AX), Z%d", 64*v, 4+v)
	}
	interleave(kRows(0, 32, 0, 8, 0, ldw), nil)
	label(name + "_step")
	interleave(kRows(32, U, 0, 8, 0, ldw), nil)
	for v := 8; v < 13; v++ {
		p("VMOVUPS %d(AX), Z%d", 64*v, 4+v)
	}
	cellA := capture(func() { cellChunk(0, ldh); cellChunk(1, ldh) })
	interleave(kRows(0, U, 8, 13, 0, ldw), cellA)
	for v := 0; v < 8; v++ {
		p("VMOVUPS %d(AX), Z%d", ldw+64*v, 4+v)
	}
	cellB := capture(func() { cellChunk(2, ldh); cellTailNarrow(nc, ldh) })
	interleave(kRows(0, 32, 0, 8, ldh, ldw), cellB)
	p("ADDQ $%d, AX", ldw)
	p("ADDQ $%d, DI", ldh)
	p("DECQ R11")
	p("JNZ %s_step", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
}
