//go:build !amd64 || purego

package lstm

// No assembly on this platform or with the purego tag: the pure-Go kernels
// in kernels.go always run.
const asmAvailable = false

var asmName = "go"

func forceAVX2(on bool) bool { return !on }

func gemmAsm(m, n, k int, a []float32, sam, sak int, b []float32, ldb int, c []float32, ldc int) {
	panic("lstm: no assembly kernels in this build")
}
func sigmoidAsm(x []float32)                      { panic("lstm: no assembly kernels in this build") }
func tanhAsm(dst, src []float32)                  { panic("lstm: no assembly kernels in this build") }
func cellForwardAsm(z, cprev, c, tc, h []float32) { panic("lstm: no assembly kernels in this build") }
func cellBackwardAsm(act, dz, tc, cprev, dh, dhin, dc []float32) {
	panic("lstm: no assembly kernels in this build")
}

func fusedAvailable() bool { return false }

func lstmSeqAsm(fl *fusedLayer, steps, rows int, pre, h, c []float32) {
	panic("lstm: no assembly kernels in this build")
}
