package lstm

import "math"

// rng is a small seeded generator (SplitMix64). It is not cryptographic; it
// only has to be reproducible across platforms and Go versions, which
// math/rand/v2's unexported algorithms do not promise for every method.
type rng struct{ s uint64 }

func newRNG(seed uint64) *rng { return &rng{s: seed} }

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// float64 returns a uniform value in [0, 1).
func (r *rng) float64() float64 { return float64(r.next()>>11) / (1 << 53) }

// intn returns a uniform value in [0, n) (n > 0) by rejection, so that
// shuffles are unbiased.
func (r *rng) intn(n int) int {
	un := uint64(n)
	limit := math.MaxUint64 - math.MaxUint64%un
	for {
		v := r.next()
		if v < limit {
			return int(v % un)
		}
	}
}

// normal returns a standard normal variate (Box–Muller).
func (r *rng) normal() float64 {
	u1 := r.float64()
	for u1 == 0 {
		u1 = r.float64()
	}
	u2 := r.float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// glorotUniform fills w (a fanIn×fanOut kernel) from U(-l, l),
// l = sqrt(6/(fanIn+fanOut)), as Keras' glorot_uniform.
func glorotUniform(r *rng, w []float32, fanIn, fanOut int) {
	l := math.Sqrt(6 / float64(fanIn+fanOut))
	for i := range w {
		w[i] = float32((2*r.float64() - 1) * l)
	}
}

// orthogonal fills w, a rows×cols row-major matrix with rows <= cols (the
// recurrent kernel, U×4U), as Keras' Orthogonal initializer: QR of a
// cols×rows standard-normal matrix with the signs of R's diagonal folded
// into Q, transposed. Modified Gram–Schmidt yields R with a positive
// diagonal, which is exactly that sign convention. The rows of w come out
// orthonormal.
func orthogonal(r *rng, w []float32, rows, cols int) {
	// a is cols×rows, column-major by column j: a[j] is column j (length cols).
	a := make([][]float64, rows)
	for j := range a {
		a[j] = make([]float64, cols)
	}
	for i := 0; i < cols; i++ {
		for j := 0; j < rows; j++ {
			a[j][i] = r.normal()
		}
	}
	for j := 0; j < rows; j++ {
		for pass := 0; pass < 2; pass++ { // re-orthogonalise once for accuracy
			for k := 0; k < j; k++ {
				var d float64
				for i := range a[j] {
					d += a[k][i] * a[j][i]
				}
				for i := range a[j] {
					a[j][i] -= d * a[k][i]
				}
			}
		}
		var nrm float64
		for _, v := range a[j] {
			nrm += v * v
		}
		nrm = math.Sqrt(nrm)
		for i := range a[j] {
			a[j][i] /= nrm
		}
	}
	// Q is cols×rows with column j = a[j]; w = Qᵀ, so w[j][i] = a[j][i].
	for j := 0; j < rows; j++ {
		for i := 0; i < cols; i++ {
			w[j*cols+i] = float32(a[j][i])
		}
	}
}
