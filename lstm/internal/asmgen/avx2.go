package main

// AVX2+FMA versions of every kernel, for x86-64 CPUs without AVX-512.
// Differences from the AVX-512 ones: 8-lane ymm vectors; only 16 registers,
// so smaller register blocks and constants read from a table in memory
// (avx2Consts in kernels_amd64.go, one 32-byte row per constant); tails are
// masked with VMASKMOVPS and a mask vector read from a 16-int32 table
// (8 × -1 then 8 × 0; &tab[8-l] masks the first l lanes); 2^n is built in
// the exponent bits since there is no VSCALEFPS; and division is VDIVPS.

// nvFullAVX2[mr] is the full-chunk width in 8-float vectors; must match
// gemmNVFAVX2 in kernels_amd64.go. Registers: mr·nv accumulators, nv B
// vectors, one broadcast, Y15 the mask.
var nvFullAVX2 = [5]int{0, 7, 4, 3, 2}

// Offsets of the constants in the table (32 bytes each).
const (
	kOne = 32 * iota
	kMax
	kMin
	kLog2e
	kLn2hi
	kLn2lo
	kC7
	kC6
	kC5
	kC4
	kC3
	kC2
)

// expY sets Y(dst) = exp(Y(src)); constants at R12; clobbers Y(src), Y2, Y3.
func expY(src, dst int) {
	p("VMINPS %d(R12), Y%d, Y%d", kMax, src, src)
	p("VMAXPS %d(R12), Y%d, Y%d", kMin, src, src)
	p("VMULPS %d(R12), Y%d, Y2", kLog2e, src)
	p("VROUNDPS $0, Y2, Y2")
	p("VFNMADD231PS %d(R12), Y2, Y%d", kLn2hi, src)
	p("VFNMADD231PS %d(R12), Y2, Y%d", kLn2lo, src)
	p("VMOVUPS %d(R12), Y3", kC7)
	for _, c := range []int{kC6, kC5, kC4, kC3, kC2, kOne, kOne} {
		p("VFMADD213PS %d(R12), Y%d, Y3", c, src)
	}
	// 2^n: n (|n| <= 126 after the ±87 clamp) added to the exponent bits.
	p("VCVTPS2DQ Y2, Y2")
	p("VPSLLD $23, Y2, Y2")
	p("VPADDD Y2, Y3, Y%d", dst)
}

// sigmY: Y(out) = sigmoid(Y(in)); keeps Y(in); clobbers Y0..Y3.
func sigmY(in, out int) {
	p("VXORPS Y1, Y1, Y1")
	p("VSUBPS Y%d, Y1, Y0", in)
	expY(0, out)
	p("VADDPS %d(R12), Y%d, Y%d", kOne, out, out)
	p("VMOVUPS %d(R12), Y1", kOne)
	p("VDIVPS Y%d, Y1, Y%d", out, out)
}

// tanhY: Y(out) = tanh(Y(in)) = (1-e)/(1+e), e = exp(-2x); keeps Y(in);
// clobbers Y0..Y3 and Y(scr).
func tanhY(in, out, scr int) {
	p("VADDPS Y%d, Y%d, Y0", in, in)
	p("VXORPS Y1, Y1, Y1")
	p("VSUBPS Y0, Y1, Y0")
	expY(0, scr)
	p("VMOVUPS %d(R12), Y%d", kOne, out)
	p("VSUBPS Y%d, Y%d, Y%d", scr, out, out)
	p("VADDPS %d(R12), Y%d, Y%d", kOne, scr, scr)
	p("VDIVPS Y%d, Y%d, Y%d", scr, out, out)
}

// tailMaskY: if DX < 8, Y15 = mask of the low DX lanes (table at
// masks+off(FP)) and DX = 8. Jumps to done when DX is 0. Uses CX.
func tailMaskY(name string, masksArg string) {
	p("CMPQ DX, $8")
	p("JGE %s_body", name)
	p("TESTQ DX, DX")
	p("JZ %s_done", name)
	p("MOVQ $8, CX")
	p("SUBQ DX, CX")
	p("SHLQ $2, CX")
	p("ADDQ %s, CX", masksArg)
	p("VMOVDQU (CX), Y15")
	p("MOVQ $8, DX")
	label(name + "_body")
}

func genAVX2() {
	inAVX2 = true
	defer func() { inAVX2 = false }()
	for mr := 1; mr <= 4; mr++ {
		gemm(avx2, mr, nvFullAVX2[mr])
	}
	activation(avx2, false)
	activation(avx2, true)
	cellForward(avx2)
	cellBackward(avx2)
}
