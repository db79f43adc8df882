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
