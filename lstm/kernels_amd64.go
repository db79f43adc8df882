//go:build amd64 && !purego

package lstm

//go:generate go run ./internal/asmgen -out kernels_amd64.s

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The assembly kernels (kernels_amd64.s, generated) come in two sets: AVX-512
// (needs only AVX512F) and AVX2+FMA. cpu reports each only when the OS also
// saves the wider registers. asmLevel picks the set: the best available,
// or AVX2 when a test forces it.
var (
	hasAVX512    = cpu.X86.HasAVX512F
	hasAVX2      = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	asmAvailable = hasAVX512 || hasAVX2
	useAVX512    = hasAVX512
	asmName      = map[bool]string{true: "avx512", false: "avx2"}[hasAVX512]
)

// forceAVX2 makes the AVX2 kernels run even on an AVX-512 CPU (tests); it
// returns false when the CPU lacks AVX2+FMA. off restores the best set.
func forceAVX2(on bool) bool {
	if on && !hasAVX2 {
		return false
	}
	useAVX512 = hasAVX512 && !on
	asmName = map[bool]string{true: "avx512", false: "avx2"}[useAVX512]
	return true
}

// avx2Consts holds the AVX2 activation constants, 8 copies each (one ymm
// row), in the order of internal/asmgen's kOne..kC2. The exp clamp is ±87 so
// that 2^n stays a normal number when built in the exponent bits.
var avx2Consts = func() (t [12 * 8]float32) {
	for i, v := range []float32{1, 87, -87, 1.44269504088896341, 0.693359375, -2.12194440e-4,
		1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5} {
		for j := 0; j < 8; j++ {
			t[i*8+j] = v
		}
	}
	return t
}()

// avx2Masks: &avx2Masks[8-l] is a ymm mask of the first l lanes.
var avx2Masks = [16]int32{-1, -1, -1, -1, -1, -1, -1, -1}

//go:noescape
func gemmK1(k int, a *float32, sam, sak int, b *float32, ldb int, c *float32, ldc int, nfull, nvt, mask int)

//go:noescape
func gemmK2(k int, a *float32, sam, sak int, b *float32, ldb int, c *float32, ldc int, nfull, nvt, mask int)

//go:noescape
func gemmK3(k int, a *float32, sam, sak int, b *float32, ldb int, c *float32, ldc int, nfull, nvt, mask int)

//go:noescape
func gemmK4(k int, a *float32, sam, sak int, b *float32, ldb int, c *float32, ldc int, nfull, nvt, mask int)

//go:noescape
func gemmA2K1(k int, a *float32, sam, sak int, b *float32, ldb int, c *float32, ldc int, nfull, nvt int, maskp *int32)

//go:noescape
func gemmA2K2(k int, a *float32, sam, sak int, b *float32, ldb int, c *float32, ldc int, nfull, nvt int, maskp *int32)

//go:noescape
func gemmA2K3(k int, a *float32, sam, sak int, b *float32, ldb int, c *float32, ldc int, nfull, nvt int, maskp *int32)

//go:noescape
func gemmA2K4(k int, a *float32, sam, sak int, b *float32, ldb int, c *float32, ldc int, nfull, nvt int, maskp *int32)

//go:noescape
func sigmoidAVX2(x *float32, n int, consts *float32, masks *int32)

//go:noescape
func tanhAVX2(dst, src *float32, n int, consts *float32, masks *int32)

//go:noescape
func cellFwdAVX2(z, cprev, c, tc, h *float32, u int, consts *float32, masks *int32)

//go:noescape
func cellBwdAVX2(act, dz, tc, cprev, dh, dhin, dc *float32, u int, consts *float32, masks *int32)

//go:noescape
func sigmoidAVX512(x *float32, n int)

//go:noescape
func tanhAVX512(dst, src *float32, n int)

// gemmAsm is gemm on the AVX-512 kernels; gemm has checked the bounds.
func gemmAsm(m, n, k int, a []float32, sam, sak int, b []float32, ldb int, c []float32, ldc int) {
	// Long sums (the weight gradients sum over all T·bs rows) would stream
	// all of B from L2 once per 4-row block of C; splitting k into blocks
	// keeps a block of B in L1 while every row block uses it. Each C element
	// still sums its terms in the same order, so results do not change.
	const kBlock = 48
	if k > 2*kBlock && m > 4 {
		for p0 := 0; p0 < k; p0 += kBlock {
			gemmBlock(m, n, min(kBlock, k-p0), a[p0*sak:], sam, sak, b[p0*ldb:], ldb, c, ldc)
		}
		return
	}
	gemmBlock(m, n, k, a, sam, sak, b, ldb, c, ldc)
}

func gemmBlock(m, n, k int, a []float32, sam, sak int, b []float32, ldb int, c []float32, ldc int) {
	if !useAVX512 {
		gemmBlockAVX2(m, n, k, a, sam, sak, b, ldb, c, ldc)
		return
	}
	ap := unsafe.Pointer(unsafe.SliceData(a))
	cp := unsafe.Pointer(unsafe.SliceData(c))
	bp := unsafe.SliceData(b)
	i := 0
	if m >= 4 {
		nfull, nvt, mask := chunks(n, gemmNVF[4])
		for ; i+4 <= m; i += 4 {
			gemmK4(k, (*float32)(unsafe.Add(ap, 4*i*sam)), sam, sak, bp, ldb, (*float32)(unsafe.Add(cp, 4*i*ldc)), ldc, nfull, nvt, mask)
		}
	}
	if i == m {
		return
	}
	nfull, nvt, mask := chunks(n, gemmNVF[m-i])
	ai, ci := (*float32)(unsafe.Add(ap, 4*i*sam)), (*float32)(unsafe.Add(cp, 4*i*ldc))
	switch m - i {
	case 3:
		gemmK3(k, ai, sam, sak, bp, ldb, ci, ldc, nfull, nvt, mask)
	case 2:
		gemmK2(k, ai, sam, sak, bp, ldb, ci, ldc, nfull, nvt, mask)
	case 1:
		gemmK1(k, ai, sam, sak, bp, ldb, ci, ldc, nfull, nvt, mask)
	}
}

func gemmBlockAVX2(m, n, k int, a []float32, sam, sak int, b []float32, ldb int, c []float32, ldc int) {
	ap := unsafe.Pointer(unsafe.SliceData(a))
	cp := unsafe.Pointer(unsafe.SliceData(c))
	bp := unsafe.SliceData(b)
	i := 0
	if m >= 4 {
		nfull, nvt, mp := chunksAVX2(n, gemmNVFAVX2[4])
		for ; i+4 <= m; i += 4 {
			gemmA2K4(k, (*float32)(unsafe.Add(ap, 4*i*sam)), sam, sak, bp, ldb, (*float32)(unsafe.Add(cp, 4*i*ldc)), ldc, nfull, nvt, mp)
		}
	}
	if i == m {
		return
	}
	nfull, nvt, mp := chunksAVX2(n, gemmNVFAVX2[m-i])
	ai, ci := (*float32)(unsafe.Add(ap, 4*i*sam)), (*float32)(unsafe.Add(cp, 4*i*ldc))
	switch m - i {
	case 3:
		gemmA2K3(k, ai, sam, sak, bp, ldb, ci, ldc, nfull, nvt, mp)
	case 2:
		gemmA2K2(k, ai, sam, sak, bp, ldb, ci, ldc, nfull, nvt, mp)
	case 1:
		gemmA2K1(k, ai, sam, sak, bp, ldb, ci, ldc, nfull, nvt, mp)
	}
}

// gemmNVFAVX2[mr] is the full-chunk width (in 8-float vectors) of
// gemmA2K<mr>; it must match nvFullAVX2 in internal/asmgen.
var gemmNVFAVX2 = [5]int{0, 7, 4, 3, 2}

// chunksAVX2 is chunks for 8-lane vectors; the mask selects the valid
// lanes of the tail's last vector.
func chunksAVX2(n, nvf int) (nfull, nvt int, mask *int32) {
	w := 8 * nvf
	nfull = n / w
	r := n % w
	nvt = (r + 7) / 8
	mask = &avx2Masks[0]
	if nvt > 0 {
		mask = &avx2Masks[8-(r-8*(nvt-1))]
	}
	return nfull, nvt, mask
}

// gemmNVF[mr] is the full-chunk width (in 16-float vectors) of gemmK<mr>;
// it must match nvFull in internal/asmgen.
var gemmNVF = [5]int{0, 14, 8, 4, 4}

// chunks splits n columns into nfull chunks of nvf vectors and a tail of
// nvt vectors whose last one is masked by mask.
func chunks(n, nvf int) (nfull, nvt, mask int) {
	w := 16 * nvf
	nfull = n / w
	r := n % w
	nvt = (r + 15) / 16
	if nvt > 0 {
		mask = 1<<(r-16*(nvt-1)) - 1
	}
	return nfull, nvt, mask
}

func sigmoidAsm(x []float32) {
	if len(x) == 0 {
		return
	}
	if useAVX512 {
		sigmoidAVX512(unsafe.SliceData(x), len(x))
	} else {
		sigmoidAVX2(unsafe.SliceData(x), len(x), &avx2Consts[0], &avx2Masks[0])
	}
}

func tanhAsm(dst, src []float32) {
	if len(src) == 0 {
		return
	}
	if useAVX512 {
		tanhAVX512(unsafe.SliceData(dst), unsafe.SliceData(src), len(src))
	} else {
		tanhAVX2(unsafe.SliceData(dst), unsafe.SliceData(src), len(src), &avx2Consts[0], &avx2Masks[0])
	}
}

//go:noescape
func cellFwdAVX512(z, cprev, c, tc, h *float32, u int)

//go:noescape
func cellBwdAVX512(act, dz, tc, cprev, dh, dhin, dc *float32, u int)

func cellForwardAsm(z, cprev, c, tc, h []float32) {
	if useAVX512 {
		cellFwdAVX512(&z[0], &cprev[0], &c[0], &tc[0], &h[0], len(c))
	} else {
		cellFwdAVX2(&z[0], &cprev[0], &c[0], &tc[0], &h[0], len(c), &avx2Consts[0], &avx2Masks[0])
	}
}

func cellBackwardAsm(act, dz, tc, cprev, dh, dhin, dc []float32) {
	if useAVX512 {
		cellBwdAVX512(&act[0], &dz[0], &tc[0], &cprev[0], &dh[0], &dhin[0], &dc[0], len(tc))
	} else {
		cellBwdAVX2(&act[0], &dz[0], &tc[0], &cprev[0], &dh[0], &dhin[0], &dc[0], len(tc), &avx2Consts[0], &avx2Masks[0])
	}
}

// The fused one-window layer kernels (internal/asmgen/fused.go), one per
// shape: nc chunks of 16 units, plus a packed tail vector when T1.

//go:noescape
func lstmSeq0T1(steps, rows int, w, pre, h *float32, ldw, ldh int, c *float32, mask int)

//go:noescape
func lstmSeq1T0(steps, rows int, w, pre, h *float32, ldw, ldh int, c *float32, mask int)

//go:noescape
func lstmSeq1T1(steps, rows int, w, pre, h *float32, ldw, ldh int, c *float32, mask int)

//go:noescape
func lstmSeq2T0(steps, rows int, w, pre, h *float32, ldw, ldh int, c *float32, mask int)

//go:noescape
func lstmSeq2T1(steps, rows int, w, pre, h *float32, ldw, ldh int, c *float32, mask int)

//go:noescape
func lstmSeq3T0(steps, rows int, w, pre, h *float32, ldw, ldh int, c *float32, mask int)

//go:noescape
func lstmSeq3T1(steps, rows int, w, pre, h *float32, ldw, ldh int, c *float32, mask int)

//go:noescape
func lstmSeqPipe50(steps int, w, pre, h, c *float32)

// fusedAvailable reports whether the fused one-window kernels can run now
// (they exist only in the AVX-512 set).
func fusedAvailable() bool { return useAsm && useAVX512 }

// lstmSeqAsm runs steps steps of one fused layer; fusedSeq has checked
// every length.
func lstmSeqAsm(fl *fusedLayer, steps, rows int, pre, h, c []float32) {
	w, pp, hp, cp := unsafe.SliceData(fl.wh), unsafe.SliceData(pre), unsafe.SliceData(h), unsafe.SliceData(c)
	if fl.pipe50 && rows == 50 {
		lstmSeqPipe50(steps, w, pp, hp, cp)
		return
	}
	switch fl.nc<<1 | fl.tail {
	case 1:
		lstmSeq0T1(steps, rows, w, pp, hp, fl.ldw, fl.ldh, cp, fl.mask)
	case 2:
		lstmSeq1T0(steps, rows, w, pp, hp, fl.ldw, fl.ldh, cp, fl.mask)
	case 3:
		lstmSeq1T1(steps, rows, w, pp, hp, fl.ldw, fl.ldh, cp, fl.mask)
	case 4:
		lstmSeq2T0(steps, rows, w, pp, hp, fl.ldw, fl.ldh, cp, fl.mask)
	case 5:
		lstmSeq2T1(steps, rows, w, pp, hp, fl.ldw, fl.ldh, cp, fl.mask)
	case 6:
		lstmSeq3T0(steps, rows, w, pp, hp, fl.ldw, fl.ldh, cp, fl.mask)
	case 7:
		lstmSeq3T1(steps, rows, w, pp, hp, fl.ldw, fl.ldh, cp, fl.mask)
	default:
		panic("lstm: no fused kernel for this layer shape")
	}
}
