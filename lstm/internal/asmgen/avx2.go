package main

import "fmt"

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

func mY(load bool, mem string, reg int) {
	if load {
		p("VMASKMOVPS %s, Y15, Y%d", mem, reg)
	} else {
		p("VMASKMOVPS Y%d, Y15, %s", reg, mem)
	}
}

func activationAVX2(name string, tanh bool) {
	if tanh {
		fmt.Fprintf(&out, "\n// func %s(dst, src *float32, n int, consts *float32, masks *int32)\n", name)
		fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-40\n", name)
		p("MOVQ dst+0(FP), DI")
		p("MOVQ src+8(FP), SI")
		p("MOVQ n+16(FP), DX")
		p("MOVQ consts+24(FP), R12")
	} else {
		fmt.Fprintf(&out, "\n// func %s(x *float32, n int, consts *float32, masks *int32)\n", name)
		fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
		p("MOVQ x+0(FP), DI")
		p("MOVQ DI, SI")
		p("MOVQ n+8(FP), DX")
		p("MOVQ consts+16(FP), R12")
	}
	masksArg := "masks+24(FP)"
	if tanh {
		masksArg = "masks+32(FP)"
	}
	p("VPCMPEQD Y15, Y15, Y15")
	label(name + "_loop")
	tailMaskY(name, masksArg)
	mY(true, "(SI)", 8)
	if tanh {
		tanhY(8, 9, 10)
	} else {
		sigmY(8, 9)
	}
	mY(false, "(DI)", 9)
	p("ADDQ $32, SI")
	p("ADDQ $32, DI")
	p("SUBQ $8, DX")
	p("JMP %s_loop", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
}

func cellForwardAVX2() {
	name := "cellFwdAVX2"
	fmt.Fprintf(&out, "\n// func %s(z, cprev, c, tc, h *float32, u int, consts *float32, masks *int32)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-64\n", name)
	p("MOVQ z+0(FP), AX")
	p("MOVQ cprev+8(FP), SI")
	p("MOVQ c+16(FP), DI")
	p("MOVQ tc+24(FP), R8")
	p("MOVQ h+32(FP), R9")
	p("MOVQ u+40(FP), DX")
	p("MOVQ consts+48(FP), R12")
	p("LEAQ 0(DX*4), BX")
	p("LEAQ (BX)(BX*2), R10")
	p("ADDQ AX, R10")
	p("VPCMPEQD Y15, Y15, Y15")
	label(name + "_loop")
	tailMaskY(name, "masks+56(FP)")
	mY(true, "(AX)", 8)
	mY(true, "(AX)(BX*1)", 9)
	mY(true, "(AX)(BX*2)", 10)
	mY(true, "(R10)", 11)
	sigmY(8, 4)
	sigmY(9, 5)
	tanhY(10, 6, 14)
	sigmY(11, 7)
	mY(false, "(AX)", 4)
	mY(false, "(AX)(BX*1)", 5)
	mY(false, "(AX)(BX*2)", 6)
	mY(false, "(R10)", 7)
	mY(true, "(SI)", 12)
	p("VMULPS Y12, Y5, Y13")
	p("VFMADD231PS Y6, Y4, Y13")
	mY(false, "(DI)", 13)
	tanhY(13, 14, 12)
	mY(false, "(R8)", 14)
	p("VMULPS Y14, Y7, Y14")
	mY(false, "(R9)", 14)
	for _, r := range []string{"AX", "R10", "SI", "DI", "R8", "R9"} {
		p("ADDQ $32, %s", r)
	}
	p("SUBQ $8, DX")
	p("JMP %s_loop", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
}

func cellBackwardAVX2() {
	name := "cellBwdAVX2"
	fmt.Fprintf(&out, "\n// func %s(act, dz, tc, cprev, dh, dhin, dc *float32, u int, consts *float32, masks *int32)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-80\n", name)
	p("MOVQ act+0(FP), AX")
	p("MOVQ dz+8(FP), R8")
	p("MOVQ tc+16(FP), SI")
	p("MOVQ cprev+24(FP), DI")
	p("MOVQ dh+32(FP), R10")
	p("MOVQ dhin+40(FP), R12")
	p("MOVQ dc+48(FP), R13")
	p("MOVQ u+56(FP), DX")
	p("MOVQ consts+64(FP), R11")
	p("VMOVUPS %d(R11), Y0", kOne)
	p("LEAQ 0(DX*4), BX")
	p("LEAQ (BX)(BX*2), R14")
	p("MOVQ R14, R9")
	p("ADDQ AX, R14")
	p("ADDQ R8, R9")
	p("VPCMPEQD Y15, Y15, Y15")
	label(name + "_loop")
	tailMaskY(name, "masks+72(FP)")
	mY(true, "(AX)", 4)
	mY(true, "(AX)(BX*1)", 5)
	mY(true, "(AX)(BX*2)", 6)
	mY(true, "(R14)", 7)
	mY(true, "(SI)", 8)
	mY(true, "(DI)", 9)
	mY(true, "(R10)", 10)
	mY(true, "(R12)", 12)
	p("VADDPS Y12, Y10, Y10")
	mY(true, "(R13)", 11)
	p("VMULPS Y8, Y8, Y12")
	p("VSUBPS Y12, Y0, Y12")
	p("VMULPS Y10, Y7, Y13")
	p("VFMADD231PS Y13, Y12, Y11")
	p("VSUBPS Y4, Y0, Y14")
	p("VMULPS Y11, Y6, Y1")
	p("VMULPS Y1, Y4, Y1")
	p("VMULPS Y1, Y14, Y1")
	mY(false, "(R8)", 1)
	p("VMULPS Y11, Y9, Y1")
	p("VMULPS Y1, Y5, Y1")
	p("VSUBPS Y5, Y0, Y14")
	p("VMULPS Y1, Y14, Y1")
	mY(false, "(R8)(BX*1)", 1)
	p("VMULPS Y11, Y4, Y1")
	p("VMULPS Y6, Y6, Y14")
	p("VSUBPS Y14, Y0, Y14")
	p("VMULPS Y1, Y14, Y1")
	mY(false, "(R8)(BX*2)", 1)
	p("VMULPS Y10, Y8, Y1")
	p("VMULPS Y1, Y7, Y1")
	p("VSUBPS Y7, Y0, Y14")
	p("VMULPS Y1, Y14, Y1")
	mY(false, "(R9)", 1)
	p("VMULPS Y11, Y5, Y11")
	mY(false, "(R13)", 11)
	for _, r := range []string{"AX", "R14", "R8", "R9", "SI", "DI", "R10", "R12", "R13"} {
		p("ADDQ $32, %s", r)
	}
	p("SUBQ $8, DX")
	p("JMP %s_loop", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
}

func genAVX2() {
	inAVX2 = true
	defer func() { inAVX2 = false }()
	for mr := 1; mr <= 4; mr++ {
		gemm(avx2, mr, nvFullAVX2[mr])
	}
	activationAVX2("sigmoidAVX2", false)
	activationAVX2("tanhAVX2", true)
	cellForwardAVX2()
	cellBackwardAVX2()
}
