package main

import (
	"fmt"
	"strings"
)

// The element-wise kernels (activations and the LSTM cell), written once
// for both instruction sets: what differs (constants, masks, the
// activations' arithmetic) is in vecISA. Vector registers are the same
// numbers on both, chosen within AVX2's 16 (Y15 is its mask; the
// activations clobber 0..3).

// elementwise writes a kernel's header: its name, Go signature (params,
// then consts and masks where the ISA reads tables) and frame size
// (8 bytes per parameter). It returns the kernel's name and the consts and
// masks arguments.
func elementwise(isa *vecISA, base, comment, params string) (name, consts, masks string) {
	name = base + isa.suffix
	frame := 8 * (strings.Count(params, ",") + 1)
	consts = fmt.Sprintf("consts+%d(FP)", frame)
	masks = fmt.Sprintf("masks+%d(FP)", frame+8)
	if isa.tables {
		params += ", consts *float32, masks *int32"
		frame += 16
	}
	fmt.Fprintf(&out, "\n// func %s(%s)%s\n", name, params, comment)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-%d\n", name, frame)
	return name, consts, masks
}

// loop ends a kernel's loop over DX elements: every pointer register
// advances one vector, and the tail round exits through <name>_done.
func loop(isa *vecISA, name string, ptrs ...string) {
	for _, r := range ptrs {
		p("ADDQ $%d, %s", isa.bytes, r)
	}
	p("SUBQ $%d, DX", isa.bytes/4)
	p("JMP %s_loop", name)
	label(name + "_done")
	p("VZEROUPPER")
	p("RET")
}

// args loads the kernel's arguments, each "name REG", in the order of the
// Go signature (8 bytes each).
func args(regs ...string) {
	for i, a := range regs {
		name, reg, _ := strings.Cut(a, " ")
		p("MOVQ %s+%d(FP), %s", name, 8*i, reg)
	}
}

// load and store move one vector, masked in the tail round (all lanes
// before it).
func load(isa *vecISA, mem string, reg int)  { p("%s", isa.maskedLoad(mem, reg)) }
func store(isa *vecISA, reg int, mem string) { p("%s", isa.maskedStore(reg, mem)) }

// activation writes sigmoid<ISA> (in place) or tanh<ISA> (dst from src).
func activation(isa *vecISA, tanh bool) {
	base, comment, params := "sigmoid", ": x = 1/(1+exp(-x)) in place", "x *float32, n int"
	if tanh {
		base, comment, params = "tanh", ": dst = tanh(src) = (1-e)/(1+e), e = exp(-2x)", "dst, src *float32, n int"
	}
	name, consts, masks := elementwise(isa, base, comment, params)
	if tanh {
		args("dst DI", "src SI", "n DX")
	} else {
		args("x DI", "n DX")
		p("MOVQ DI, SI")
	}
	isa.setup(consts, "R12")
	label(name + "_loop")
	isa.tailMask(name, masks)
	load(isa, "(SI)", 8)
	if tanh {
		isa.tanh(8, 9, 10)
	} else {
		isa.sigmoid(8, 9)
	}
	store(isa, 9, "(DI)")
	loop(isa, name, "SI", "DI")
}

// cellForward writes cellFwd<ISA>, one row of the LSTM cell: z holds the
// pre-activations [i f g o] (u each) and receives the activations;
// c = f·cprev + i·g, tc = tanh(c), h = o·tc.
func cellForward(isa *vecISA) {
	name, consts, masks := elementwise(isa, "cellFwd", "", "z, cprev, c, tc, h *float32, u int")
	args("z AX", "cprev SI", "c DI", "tc R8", "h R9", "u DX")
	isa.setup(consts, "R12")
	p("LEAQ 0(DX*4), BX")
	p("LEAQ (BX)(BX*2), R10")
	p("ADDQ AX, R10")
	label(name + "_loop")
	isa.tailMask(name, masks)
	gates := []string{"(AX)", "(AX)(BX*1)", "(AX)(BX*2)", "(R10)"}
	for k, mem := range gates {
		load(isa, mem, 8+k)
	}
	isa.sigmoid(8, 4)
	isa.sigmoid(9, 5)
	isa.tanh(10, 6, 14)
	isa.sigmoid(11, 7)
	for k, mem := range gates {
		store(isa, 4+k, mem)
	}
	r := isa.reg
	load(isa, "(SI)", 12)
	p("VMULPS %s12, %s5, %s13", r, r, r)     // f·cprev
	p("VFMADD231PS %s6, %s4, %s13", r, r, r) // + i·g
	store(isa, 13, "(DI)")
	isa.tanh(13, 14, 12)
	store(isa, 14, "(R8)")
	p("VMULPS %s14, %s7, %s14", r, r, r)
	store(isa, 14, "(R9)")
	loop(isa, name, "AX", "R10", "SI", "DI", "R8", "R9")
}

// cellBackward writes cellBwd<ISA>, one row of the LSTM cell's backward
// step. With h = dh + dhin (gradient reaching h_t) and dc the gradient
// reaching c_t from step t+1: c = dc + h·o·(1-tc²); writes
// dz = [c·g·i(1-i), c·cprev·f(1-f), c·i(1-g²), h·tc·o(1-o)] and dc = c·f.
func cellBackward(isa *vecISA) {
	name, consts, masks := elementwise(isa, "cellBwd", "", "act, dz, tc, cprev, dh, dhin, dc *float32, u int")
	args("act AX", "dz R8", "tc SI", "cprev DI", "dh R10", "dhin R12", "dc R13", "u DX")
	isa.setup(consts, "R11")
	one := isa.one("R11")
	p("LEAQ 0(DX*4), BX")
	p("LEAQ (BX)(BX*2), R14")
	p("MOVQ R14, R9")
	p("ADDQ AX, R14") // o of act
	p("ADDQ R8, R9")  // do of dz
	label(name + "_loop")
	isa.tailMask(name, masks)
	for k, mem := range []string{"(AX)", "(AX)(BX*1)", "(AX)(BX*2)", "(R14)", "(SI)", "(DI)", "(R10)"} {
		load(isa, mem, 4+k) // i f g o, tc, cprev, dh
	}
	r := func(k int) string { return fmt.Sprintf("%s%d", isa.reg, k) }
	op := func(ins string, a, b string, dst int) { p("%s %s, %s, %s", ins, a, b, r(dst)) }
	load(isa, "(R12)", 12)
	op("VADDPS", r(12), r(10), 10) // h
	load(isa, "(R13)", 11)
	op("VMULPS", r(8), r(8), 12)
	op("VSUBPS", r(12), one, 12)        // 1-tc²
	op("VMULPS", r(10), r(7), 13)       // h·o
	op("VFMADD231PS", r(13), r(12), 11) // c
	// dz, one gate at a time in vector 1: the product of the gate's
	// factors, times its derivative 1-x (1-x² for g) in vector 14.
	for _, g := range []struct {
		factors []int
		x       int
		square  bool
		mem     string
	}{
		{[]int{11, 6, 4}, 4, false, "(R8)"},       // c·g·i(1-i)
		{[]int{11, 9, 5}, 5, false, "(R8)(BX*1)"}, // c·cprev·f(1-f)
		{[]int{11, 4}, 6, true, "(R8)(BX*2)"},     // c·i(1-g²)
		{[]int{10, 8, 7}, 7, false, "(R9)"},       // h·tc·o(1-o)
	} {
		op("VMULPS", r(g.factors[0]), r(g.factors[1]), 1)
		for _, f := range g.factors[2:] {
			op("VMULPS", r(1), r(f), 1)
		}
		if g.square {
			op("VMULPS", r(g.x), r(g.x), 14)
			op("VSUBPS", r(14), one, 14)
		} else {
			op("VSUBPS", r(g.x), one, 14)
		}
		op("VMULPS", r(1), r(14), 1)
		store(isa, 1, g.mem)
	}
	op("VMULPS", r(11), r(5), 11)
	store(isa, 11, "(R13)")
	loop(isa, name, "AX", "R14", "R8", "R9", "SI", "DI", "R10", "R12", "R13")
}
