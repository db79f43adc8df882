package main

import "fmt"

// vecISA is what the kernels' two instruction sets differ in; each
// kernel's loop structure, registers by role and addressing are shared
// (gemm here, the element-wise kernels in elementwise.go).
type vecISA struct {
	prefix              string // kernel name prefix: gemmK<mr>, gemmA2K<mr>
	suffix              string // element-wise kernel name suffix: sigmoidAVX512, cellFwdAVX2
	reg                 string // vector register letter: "Z" (zmm) or "Y" (ymm)
	bytes               int    // bytes per vector
	maskParam, maskType string // the Go signature's last parameter
	// setMask loads the tail mask from R13 (the last argument).
	setMask string
	// maskedLoad and maskedStore move the masked last vector of a tail.
	maskedLoad  func(mem string, reg int) string
	maskedStore func(reg int, mem string) string
	// oneBroadcast: one broadcast register, each row's FMAs right after its
	// broadcast (AVX2 has 16 registers); else mr broadcast registers, all
	// broadcasts first.
	oneBroadcast bool

	// Element-wise kernels. tables: the constants and tail masks are read
	// from tables passed as two extra arguments (consts, masks) rather than
	// set up from immediates.
	tables bool
	// setup makes the constants and the all-lanes mask ready; consts is
	// the consts argument, gpr a free general register (the constant table's
	// address with tables, else scratch).
	setup func(consts, gpr string)
	// tailMask: if DX < lanes, mask the low DX lanes and set DX to lanes,
	// so the round after it is the last; jump to <name>_done when DX is 0.
	// masks is the masks argument.
	tailMask func(name, masks string)
	// sigmoid sets vector out to sigmoid(in), tanh out to tanh(in) (using
	// scr too); both keep in and clobber vectors 0..3.
	sigmoid func(in, out int)
	tanh    func(in, out, scr int)
	// one returns the operand holding 1.0 in every lane after setup (gpr
	// as given to it), loading it first where the ISA needs to.
	one func(gpr string) string
}

var (
	avx512 = &vecISA{
		prefix: "gemmK", reg: "Z", bytes: 64, maskParam: "mask", maskType: "int",
		setMask:     "KMOVW R13, K1",
		maskedLoad:  func(mem string, reg int) string { return fmt.Sprintf("VMOVUPS.Z %s, K1, Z%d", mem, reg) },
		maskedStore: func(reg int, mem string) string { return fmt.Sprintf("VMOVUPS Z%d, K1, %s", reg, mem) },
		suffix:      "AVX512",
		setup:       func(_, _ string) { loadConsts() },
		tailMask:    func(name, _ string) { tailMask(name) },
		sigmoid:     sigm,
		tanh:        tanhZ,
		one:         func(string) string { return "Z20" },
	}
	avx2 = &vecISA{
		prefix: "gemmA2K", reg: "Y", bytes: 32, maskParam: "maskp", maskType: "*int32",
		setMask:      "VMOVDQU (R13), Y15",
		maskedLoad:   func(mem string, reg int) string { return fmt.Sprintf("VMASKMOVPS %s, Y15, Y%d", mem, reg) },
		maskedStore:  func(reg int, mem string) string { return fmt.Sprintf("VMASKMOVPS Y%d, Y15, %s", reg, mem) },
		oneBroadcast: true,
		suffix:       "AVX2",
		tables:       true,
		setup: func(consts, gpr string) {
			p("MOVQ %s, %s", consts, gpr)
			p("VPCMPEQD Y15, Y15, Y15")
		},
		tailMask: tailMaskY,
		sigmoid:  sigmY,
		tanh:     tanhY,
		one: func(gpr string) string {
			p("VMOVUPS %d(%s), Y0", kOne, gpr)
			return "Y0"
		},
	}
)

// gemm writes <prefix><mr>: C[mr][n] += A[mr][k]·B[k][n] over nfull chunks
// of nvf vectors, then one tail of nvt vectors whose last is masked.
//
// Register use: AX a walk, BX sam, CX 3·sam, DX sak, SI b walk, DI ldb, R8
// p counter, R9 C chunk, R10 ldc, R11 chunk counter, R12 B chunk, R13 the
// mask argument, then the address of C row 3. Strides are converted from
// elements to bytes. Vector registers: accumulators from 0 (row r, vector
// v → r·nvf+v), then nvf B vectors, then the broadcast A values (mr of
// them on AVX-512, at most 26 registers; one on AVX2, with Y15 the mask).
func gemm(isa *vecISA, mr, nvf int) {
	name := fmt.Sprintf("%s%d", isa.prefix, mr)
	fmt.Fprintf(&out, "\n// func %s(k int, a *float32, sam, sak int, b *float32, ldb int, c *float32, ldc int, nfull, nvt int, %s %s)\n", name, isa.maskParam, isa.maskType)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-88\n", name)
	p("MOVQ sam+16(FP), BX")
	p("SHLQ $2, BX")
	p("LEAQ (BX)(BX*2), CX")
	p("MOVQ sak+24(FP), DX")
	p("SHLQ $2, DX")
	p("MOVQ ldb+40(FP), DI")
	p("SHLQ $2, DI")
	p("MOVQ ldc+56(FP), R10")
	p("SHLQ $2, R10")
	p("MOVQ b+32(FP), R12")
	p("MOVQ c+48(FP), R9")
	p("MOVQ %s+80(FP), R13", isa.maskParam)
	p("%s", isa.setMask)
	p("MOVQ nfull+64(FP), R11")
	p("TESTQ R11, R11")
	p("JZ %s_tail", name)
	label(name + "_full")
	gemmBody(isa, name+"_f", mr, nvf, nvf, false)
	p("ADDQ $%d, R12", isa.bytes*nvf)
	p("ADDQ $%d, R9", isa.bytes*nvf)
	p("DECQ R11")
	p("JNZ %s_full", name)
	label(name + "_tail")
	p("MOVQ nvt+72(FP), R11")
	for nv := 1; nv <= nvf; nv++ {
		p("CMPQ R11, $%d", nv)
		p("JEQ %s_t%d", name, nv)
	}
	p("VZEROUPPER")
	p("RET")
	for nv := 1; nv <= nvf; nv++ {
		label(fmt.Sprintf("%s_t%d", name, nv))
		gemmBody(isa, fmt.Sprintf("%s_t%d", name, nv), mr, nv, nvf, true)
		p("VZEROUPPER")
		p("RET")
	}
}

// gemmBody is one chunk of nv vectors (the last masked when masked): load
// the C accumulators, run the k loop, store them back.
func gemmBody(isa *vecISA, id string, mr, nv, nvf int, masked bool) {
	acc := func(r, v int) int { return r*nvf + v }
	breg := mr * nvf
	areg := breg + nvf
	w := isa.bytes
	if mr == 4 {
		p("LEAQ (R10)(R10*2), R13")
		p("ADDQ R9, R13")
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			if masked && v == nv-1 {
				p("%s", isa.maskedLoad(cAddr(r, w*v), acc(r, v)))
			} else {
				p("VMOVUPS %s, %s%d", cAddr(r, w*v), isa.reg, acc(r, v))
			}
		}
	}
	p("MOVQ a+8(FP), AX")
	p("MOVQ R12, SI")
	p("MOVQ k+0(FP), R8")
	label(id + "_loop")
	for v := 0; v < nv; v++ {
		if masked && v == nv-1 {
			p("%s", isa.maskedLoad(fmt.Sprintf("%d(SI)", w*v), breg+v))
		} else {
			p("VMOVUPS %d(SI), %s%d", w*v, isa.reg, breg+v)
		}
	}
	fma := func(r int, a int) {
		for v := 0; v < nv; v++ {
			p("VFMADD231PS %s%d, %s%d, %s%d", isa.reg, breg+v, isa.reg, a, isa.reg, acc(r, v))
		}
	}
	if isa.oneBroadcast {
		for r := 0; r < mr; r++ {
			p("VBROADCASTSS %s, %s%d", aAddr(r), isa.reg, areg)
			fma(r, areg)
		}
	} else {
		for r := 0; r < mr; r++ {
			p("VBROADCASTSS %s, %s%d", aAddr(r), isa.reg, areg+r)
		}
		for r := 0; r < mr; r++ {
			fma(r, areg+r)
		}
	}
	p("ADDQ DX, AX")
	p("ADDQ DI, SI")
	p("DECQ R8")
	p("JNZ %s_loop", id)
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			if masked && v == nv-1 {
				p("%s", isa.maskedStore(acc(r, v), cAddr(r, w*v)))
			} else {
				p("VMOVUPS %s%d, %s", isa.reg, acc(r, v), cAddr(r, w*v))
			}
		}
	}
}
