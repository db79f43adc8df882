package evaluate

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// GARCHParams are the parameters of a zero-mean GARCH(1,1) with
// standardised (unit-variance) Student-t innovations:
//
//	r_t = σ_t z_t,  σ²_{t+1} = Omega + Alpha·r_t² + Beta·σ²_t,  z_t ~ t_Nu·sqrt((Nu−2)/Nu)
//
// with Omega > 0, Alpha, Beta ≥ 0, Alpha + Beta < 1 and Nu > 2.
type GARCHParams struct {
	Omega float64 `json:"omega"`
	Alpha float64 `json:"alpha"`
	Beta  float64 `json:"beta"`
	Nu    float64 `json:"nu"`
}

// Variances sets dst[t], t = 0..len(returns), to σ²_t, the variance
// forecast of returns[t] from returns[:t]; σ²_0 = seed (FitGARCH uses the
// mean square of the returns it is fitted on). dst[len(returns)] is the
// forecast for the next day. It returns dst grown to len(returns)+1.
func (p GARCHParams) Variances(returns []float64, seed float64, dst []float64) []float64 {
	dst = append(dst[:0], seed)
	v := seed
	for _, x := range returns {
		v = p.Omega + p.Alpha*x*x + p.Beta*v
		dst = append(dst, v)
	}
	return dst
}

// AheadVariance returns the variance of the h-day log return given the
// next day's variance next = σ²_{T+1}: Σ_{i=1}^{h} E[σ²_{T+i}], with
// E[σ²_{T+i+1}] = ω + (α+β)·E[σ²_{T+i}] (returns are uncorrelated, so
// their variances add). The recursion, rather than the closed form through
// the unconditional variance ω/(1−α−β), stays exact when α+β is within
// rounding of 1, as BTC's fits are.
func (p GARCHParams) AheadVariance(next float64, h int) float64 {
	sum, e := 0.0, next
	for range h {
		sum += e
		e = p.Omega + (p.Alpha+p.Beta)*e
	}
	return sum
}

// tConst is the log normalising constant of the standardised Student-t:
// ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(π(ν−2)).
func tConst(nu float64) float64 {
	a, _ := math.Lgamma((nu + 1) / 2)
	b, _ := math.Lgamma(nu / 2)
	return a - b - 0.5*math.Log(math.Pi*(nu-2))
}

// tLogDensity returns the log density of x under a standardised Student-t
// scaled to variance v, given c = tConst(nu).
func tLogDensity(x, v, nu, c float64) float64 {
	return c - 0.5*math.Log(v) - (nu+1)/2*math.Log1p(x*x/(v*(nu-2)))
}

// meanSquare returns Σx²/n.
func meanSquare(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x * x
	}
	return s / float64(len(xs))
}

// logistic maps ℝ onto (0, 1).
func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// garchFromTheta maps the unconstrained θ ∈ ℝ⁴ the optimiser searches onto
// parameters that satisfy the constraints by construction: persistence
// P = α+β = logistic(θ1) ∈ (0, 1), α = P·logistic(θ2), β = P − α,
// ω = s²·exp(θ0)·(1 − P) > 0 (θ0 = 0 puts the unconditional variance at the
// sample's mean square s², which keeps θ0 of order one), ν = 2 + exp(θ3) > 2.
func garchFromTheta(theta []float64, s2 float64) GARCHParams {
	pers := logistic(theta[1])
	alpha := pers * logistic(theta[2])
	return GARCHParams{
		Omega: s2 * math.Exp(theta[0]) * (1 - pers),
		Alpha: alpha,
		Beta:  pers - alpha,
		Nu:    2 + math.Exp(theta[3]),
	}
}

// LogLikelihood returns the log-likelihood of returns under p, the variance
// recursion seeded with seed.
func (p GARCHParams) LogLikelihood(returns []float64, seed float64) float64 {
	c := tConst(p.Nu)
	v, ll := seed, 0.0
	for _, x := range returns {
		ll += tLogDensity(x, v, p.Nu, c)
		v = p.Omega + p.Alpha*x*x + p.Beta*v
	}
	return ll
}

// ErrFit is wrapped when a maximum-likelihood fit fails.
var ErrFit = errors.New("maximum-likelihood fit failed")

// minimize runs Nelder–Mead on f from x0, then once more from its optimum
// (a restart escapes the simplex collapses Nelder–Mead is prone to). It is
// deterministic: one evaluation at a time, no randomness.
func minimize(f func([]float64) float64, x0 []float64) ([]float64, error) {
	settings := &optimize.Settings{
		Converger:       &optimize.FunctionConverge{Absolute: 1e-9, Iterations: 200},
		FuncEvaluations: 20000,
		Concurrent:      1,
	}
	x := x0
	for range 2 {
		res, err := optimize.Minimize(optimize.Problem{Func: f}, x, settings, &optimize.NelderMead{SimplexSize: 0.5})
		if res == nil || math.IsNaN(res.F) || math.IsInf(res.F, 0) {
			return nil, fmt.Errorf("%w: %v", ErrFit, err)
		}
		x = res.X
	}
	return x, nil
}

// FitGARCH fits GARCHParams to returns (daily log returns, oldest first) by
// maximum likelihood, the variance recursion seeded with their mean square.
// It needs at least 100 returns with a positive mean square.
func FitGARCH(returns []float64) (GARCHParams, error) {
	if len(returns) < 100 {
		return GARCHParams{}, fmt.Errorf("%w: GARCH on %d returns, need 100", ErrFit, len(returns))
	}
	s2 := meanSquare(returns)
	if !(s2 > 0) || math.IsInf(s2, 0) {
		return GARCHParams{}, fmt.Errorf("%w: returns with mean square %v", ErrFit, s2)
	}
	negLL := func(theta []float64) float64 {
		ll := garchFromTheta(theta, s2).LogLikelihood(returns, s2)
		if math.IsNaN(ll) {
			return math.Inf(1)
		}
		return -ll
	}
	// Start at α = 0.08, β = 0.90, ν = 5, unconditional variance s².
	theta0 := []float64{0, math.Log(0.98 / 0.02), math.Log(0.08 / 0.90), math.Log(3)}
	theta, err := minimize(negLL, theta0)
	if err != nil {
		return GARCHParams{}, err
	}
	return garchFromTheta(theta, s2), nil
}

// FitStudentT returns the maximum-likelihood ν of a standardised
// (unit-variance) Student-t for z, searched as ν = 2 + exp(θ).
func FitStudentT(z []float64) (float64, error) {
	if len(z) < 30 {
		return 0, fmt.Errorf("%w: Student-t on %d values, need 30", ErrFit, len(z))
	}
	negLL := func(theta []float64) float64 {
		nu := 2 + math.Exp(theta[0])
		c, ll := tConst(nu), 0.0
		for _, x := range z {
			ll += tLogDensity(x, 1, nu, c)
		}
		if math.IsNaN(ll) {
			return math.Inf(1)
		}
		return -ll
	}
	theta, err := minimize(negLL, []float64{math.Log(3)})
	if err != nil {
		return 0, err
	}
	return 2 + math.Exp(theta[0]), nil
}

// GARCHT is baseline 3: GARCH(1,1) with Student-t innovations, fitted by
// maximum likelihood on all returns before the origin and refitted every
// RefitDays; between refits the variance recursion runs on with the fitted
// parameters up to the origin. For h > 1 the variance is AheadVariance's
// and the shape the one-day t's (an approximation: the h-day sum is not t).
type GARCHT struct {
	fittedOn int
	Params   GARCHParams // the last fit
	seed     float64     // the last fit's variance seed
	z        Quantiles   // tScores(Params.Nu)
	v        []float64
}

// Name implements Baseline.
func (*GARCHT) Name() string { return NameGARCHT }

// MinReturns implements Baseline.
func (*GARCHT) MinReturns() int { return EmpiricalDays }

// Forecast implements Baseline.
func (b *GARCHT) Forecast(returns []float64, h int, r *Quantiles) error {
	if err := checkReturns(b, returns, h); err != nil {
		return err
	}
	if m := refitLen(len(returns), b.MinReturns()); m != b.fittedOn {
		p, err := FitGARCH(returns[:m])
		if err != nil {
			return fmt.Errorf("%s: %w", b.Name(), err)
		}
		b.fittedOn, b.Params, b.seed, b.z = m, p, meanSquare(returns[:m]), tScores(p.Nu)
	}
	b.v = b.Params.Variances(returns, b.seed, b.v)
	scale(r, math.Sqrt(b.Params.AheadVariance(b.v[len(returns)], h)), &b.z)
	return nil
}
