//go:build amd64 && !purego

package lstm

//go:generate go run ./internal/asmgen -out kernels_amd64.s

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The AVX-512 kernels (kernels_amd64.s, generated) need only AVX512F; cpu
// reports it only when the OS also saves the zmm state.
var asmAvailable = cpu.X86.HasAVX512F

const asmName = "avx512"

//go:noescape
func gemmK1(k int, a *float32, sam, sak int, b *float32, ldb int, c *float32, ldc int, nfull, nvt, mask int)

//go:noescape
func gemmK2(k int, a *float32, sam, sak int, b *float32, ldb int, c *float32, ldc int, nfull, nvt, mask int)

//go:noescape
func gemmK3(k int, a *float32, sam, sak int, b *float32, ldb int, c *float32, ldc int, nfull, nvt, mask int)

//go:noescape
func gemmK4(k int, a *float32, sam, sak int, b *float32, ldb int, c *float32, ldc int, nfull, nvt, mask int)

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
	if len(x) > 0 {
		sigmoidAVX512(unsafe.SliceData(x), len(x))
	}
}

func tanhAsm(dst, src []float32) {
	if len(src) > 0 {
		tanhAVX512(unsafe.SliceData(dst), unsafe.SliceData(src), len(src))
	}
}

//go:noescape
func cellFwdAVX512(z, cprev, c, tc, h *float32, u int)

//go:noescape
func cellBwdAVX512(act, dz, tc, cprev, dh, dhin, dc *float32, u int)

func cellForwardAsm(z, cprev, c, tc, h []float32) {
	cellFwdAVX512(&z[0], &cprev[0], &c[0], &tc[0], &h[0], len(c))
}

func cellBackwardAsm(act, dz, tc, cprev, dh, dhin, dc []float32) {
	cellBwdAVX512(&act[0], &dz[0], &tc[0], &cprev[0], &dh[0], &dhin[0], &dc[0], len(tc))
}
