package lstm

import (
	"fmt"
	"math"
)

// The engine's inner loops go through a few kernels: gemm (all matrix
// products), the element-wise sigmoid and tanh, and the fused LSTM cell
// steps. Each has a pure-Go version here and, on amd64 with AVX-512 or
// AVX2+FMA, assembly versions (kernels_amd64.go) selected at start-up.
// useAsm says whether assembly runs.
var useAsm = asmAvailable

// ForcePureGo switches between the pure-Go kernels (on = true) and the
// fastest kernels this CPU supports (on = false), and returns the previous
// setting. It exists for tests and benchmarks; it must not be called while
// any network is computing. Building with the `purego` tag removes the
// assembly entirely.
func ForcePureGo(on bool) (was bool) {
	was = !useAsm
	useAsm = !on && asmAvailable
	return was
}

// KernelName names the kernels in use ("avx512", "avx2" or "go"), for reports.
func KernelName() string {
	if useAsm {
		return asmName
	}
	return "go"
}

// gemm computes C[i][j] += Σ_p A(i,p)·B[p][j] for i < m, j < n, p < k, where
// A(i,p) = a[i*sam + p*sak] (so one routine serves A and Aᵀ), B is row-major
// with leading dimension ldb and C row-major with leading dimension ldc.
func gemm(m, n, k int, a []float32, sam, sak int, b []float32, ldb int, c []float32, ldc int) {
	if m <= 0 || n <= 0 || k <= 0 {
		return
	}
	// One bounds check up front, so the kernels can index freely.
	if (m-1)*sam+(k-1)*sak >= len(a) || (k-1)*ldb+n > len(b) || (m-1)*ldc+n > len(c) ||
		sam < 0 || sak < 0 || ldb < n || ldc < n {
		panic(fmt.Sprintf("lstm: gemm out of range: m=%d n=%d k=%d len(a)=%d sam=%d sak=%d len(b)=%d ldb=%d len(c)=%d ldc=%d",
			m, n, k, len(a), sam, sak, len(b), ldb, len(c), ldc))
	}
	if useAsm {
		gemmAsm(m, n, k, a, sam, sak, b, ldb, c, ldc)
		return
	}
	gemmGo(m, n, k, a, sam, sak, b, ldb, c, ldc)
}

func gemmGo(m, n, k int, a []float32, sam, sak int, b []float32, ldb int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		crow := c[i*ldc : i*ldc+n]
		ai := i * sam
		for p := 0; p < k; p++ {
			av := a[ai+p*sak]
			brow := b[p*ldb : p*ldb+n]
			for j := range crow {
				crow[j] += av * brow[j]
			}
		}
	}
}

// sigmoidInPlace sets x[i] = 1/(1+exp(-x[i])).
func sigmoidInPlace(x []float32) {
	if useAsm {
		sigmoidAsm(x)
		return
	}
	for i, v := range x {
		x[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}

// tanhTo sets dst[i] = tanh(src[i]); len(dst) must be >= len(src).
func tanhTo(dst, src []float32) {
	dst = dst[:len(src)]
	if useAsm {
		tanhAsm(dst, src)
		return
	}
	for i, v := range src {
		dst[i] = float32(math.Tanh(float64(v)))
	}
}

// cellForward is one row of the LSTM cell: z holds the gate pre-activations
// [i f g o] (U each) and receives their activations; c = f·cprev + i·g,
// tc = tanh(c), h = o·tc. All of c, tc, h, cprev have length U, 4U for z.
func cellForward(z, cprev, c, tc, h []float32) {
	U := len(c)
	if len(z) != 4*U || len(cprev) != U || len(tc) != U || len(h) != U {
		panic("lstm: cellForward length mismatch")
	}
	if useAsm {
		cellForwardAsm(z, cprev, c, tc, h)
		return
	}
	sigmoidInPlace(z[:2*U])
	tanhTo(z[2*U:3*U], z[2*U:3*U])
	sigmoidInPlace(z[3*U:])
	ig, fg, gg, og := z[:U], z[U:2*U], z[2*U:3*U], z[3*U:]
	for u := range c {
		c[u] = fg[u]*cprev[u] + ig[u]*gg[u]
	}
	tanhTo(tc, c)
	for u := range h {
		h[u] = og[u] * tc[u]
	}
}

// cellBackward is one row of the cell's backward step: with h = dh + dhin
// the gradient reaching h_t and dc the gradient reaching c_t from step t+1,
// c = dc + h·o·(1-tc²); it writes the gate pre-activation gradients
// dz = [c·g·i(1-i), c·cprev·f(1-f), c·i·(1-g²), h·tc·o(1-o)] and dc = c·f.
func cellBackward(act, dz, tc, cprev, dh, dhin, dc []float32) {
	U := len(tc)
	if len(act) != 4*U || len(dz) != 4*U || len(cprev) != U || len(dh) != U || len(dhin) != U || len(dc) != U {
		panic("lstm: cellBackward length mismatch")
	}
	if useAsm {
		cellBackwardAsm(act, dz, tc, cprev, dh, dhin, dc)
		return
	}
	ig, fg, gg, og := act[:U], act[U:2*U], act[2*U:3*U], act[3*U:]
	di, df, dg, do := dz[:U], dz[U:2*U], dz[2*U:3*U], dz[3*U:]
	for u := 0; u < U; u++ {
		h := dh[u] + dhin[u]
		tcv, o := tc[u], og[u]
		c := dc[u] + h*o*(1-tcv*tcv)
		i, f, gv := ig[u], fg[u], gg[u]
		di[u] = c * gv * i * (1 - i)
		df[u] = c * cprev[u] * f * (1 - f)
		dg[u] = c * i * (1 - gv*gv)
		do[u] = h * tcv * o * (1 - o)
		dc[u] = c * f
	}
}
