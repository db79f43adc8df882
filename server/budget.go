package server

import (
	"context"
	"runtime"
	"time"
)

// defaultForecastWait is how long a request waits for a forecast slot when
// Config.ForecastWait is 0. A slot frees in milliseconds under normal load
// (a plain forecast costs ~0.1 ms, a 30-day Monte-Carlo one up to a few
// hundred), so a second of waiting means the server is saturated: better a
// quick 503 the client can retry than a queue that grows memory and latency.
const defaultForecastWait = time.Second

// ForecastWaitLimit is the longest Config.ForecastWait that makes sense: the
// wait counts against the forecast's own deadline (predictTimeout).
const ForecastWaitLimit = predictTimeout / 2

// budget bounds the model work of the whole server: at most cap(slots)
// forecasts run at once, and a request waits at most wait for one to free.
// Cache hits, probes, metrics and everything else never take a slot.
type budget struct {
	slots chan struct{}
	wait  time.Duration
}

// DefaultMaxForecasts is the default of Config.MaxForecasts: one forecast
// per core but one, at least one. The network pass is CPU-bound, so more in
// flight only queue on the cores, and the core left over keeps the probes,
// cached answers and I/O prompt: on 2 cores under issue 11's attack, one
// slot gave /healthz a p90 of 16 ms (and more forecasts done) where two gave
// 75 ms.
func DefaultMaxForecasts() int { return max(1, runtime.GOMAXPROCS(0)-1) }

// newBudget returns a budget of n slots (DefaultMaxForecasts when n ≤ 0)
// and the given wait (defaultForecastWait when ≤ 0).
func newBudget(n int, wait time.Duration) *budget {
	if n <= 0 {
		n = DefaultMaxForecasts()
	}
	if wait <= 0 {
		wait = defaultForecastWait
	}
	return &budget{slots: make(chan struct{}, n), wait: wait}
}

// acquire takes a slot, waiting at most b.wait and never past ctx. It
// returns the function that gives the slot back (idempotent: call it as
// soon as the model is done, and defer it against a panic), or a 503 with
// Retry-After when none freed in time (or ctx's error, mapped, when ctx
// ended first).
func (b *budget) acquire(ctx context.Context) (release func(), e *apiError) {
	select {
	case b.slots <- struct{}{}:
		return b.releaser(), nil
	default:
	}
	t := time.NewTimer(b.wait)
	defer t.Stop()
	select {
	case b.slots <- struct{}{}:
		return b.releaser(), nil
	case <-t.C:
		return nil, unavailable("the server is busy with other forecasts; try again shortly", retrySeconds(b.wait), nil)
	case <-ctx.Done():
		return nil, fromDomain(ctx.Err())
	}
}

// releaser returns the function that gives a taken slot back once.
func (b *budget) releaser() func() {
	done := false
	return func() {
		if !done {
			done = true
			<-b.slots
		}
	}
}
