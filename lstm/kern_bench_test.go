package lstm

import "testing"

func benchGemm(b *testing.B, m, n, k int) {
	a := make([]float32, m*k)
	bb := make([]float32, k*n)
	c := make([]float32, m*n)
	for i := range a {
		a[i] = 0.01
	}
	b.ResetTimer()
	for b.Loop() {
		gemm(m, n, k, a, k, 1, bb, n, c, n)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkGemm1x200x100(b *testing.B)   { benchGemm(b, 1, 200, 100) }
func BenchmarkGemm16x200x100(b *testing.B)  { benchGemm(b, 16, 200, 100) }
func BenchmarkGemm16x50x200(b *testing.B)   { benchGemm(b, 16, 50, 200) }
func BenchmarkGemm100x200x960(b *testing.B) { benchGemm(b, 100, 200, 960) }

func BenchmarkGemmTN100x200x960(b *testing.B) {
	m, n, k := 100, 200, 960
	a := make([]float32, m*k)
	bb := make([]float32, k*n)
	c := make([]float32, m*n)
	b.ResetTimer()
	for b.Loop() {
		gemm(m, n, k, a, 1, m, bb, n, c, n)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkGemm1x200x50(b *testing.B) { benchGemm(b, 1, 200, 50) }

func BenchmarkCellForward50(b *testing.B) {
	z := make([]float32, 200)
	c, cp, tc, h := make([]float32, 50), make([]float32, 50), make([]float32, 50), make([]float32, 50)
	for b.Loop() {
		for i := range z {
			z[i] = float32(i%7) * 0.1
		}
		cellForward(z, cp, c, tc, h)
	}
}

func BenchmarkSigmoid1024(b *testing.B) {
	x := make([]float32, 1024)
	for b.Loop() {
		sigmoidInPlace(x)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1024, "ns/elem")
}

func BenchmarkGemm1x200x50ld208(b *testing.B) {
	m, n, k, ldb := 1, 200, 50, 208
	a := make([]float32, m*k)
	bb := make([]float32, k*ldb)
	c := make([]float32, m*n)
	for b.Loop() {
		gemm(m, n, k, a, k, 1, bb, ldb, c, n)
	}
}

func BenchmarkGemm1x192x50(b *testing.B) { benchGemm(b, 1, 192, 50) }
func BenchmarkGemm1x256x50(b *testing.B) { benchGemm(b, 1, 256, 50) }

func BenchmarkCellForward50NoWrite(b *testing.B) {
	z := make([]float32, 200)
	c, cp, tc, h := make([]float32, 50), make([]float32, 50), make([]float32, 50), make([]float32, 50)
	for b.Loop() {
		cellForward(z, cp, c, tc, h)
	}
}

func BenchmarkSigmoid200(b *testing.B) {
	x := make([]float32, 200)
	for b.Loop() {
		sigmoidInPlace(x)
	}
}
