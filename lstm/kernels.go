package lstm

import (
	"fmt"
	"math"
)

// The engine's inner loops go through three kernels: gemm (all matrix
// products), and the element-wise sigmoid and tanh. Each has a pure-Go
// version here and, on amd64 with AVX-512, an assembly version
// (kernels_amd64.go) selected at start-up. useAsm says which one runs.
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

// KernelName names the kernels in use ("avx512" or "go"), for reports.
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
