package lstm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Layer pipelining of one-window inference over two cores.
//
// Layer l's step t needs only h_t of layer l-1, not the whole sequence, so
// the layers of one window can run at the same time, layer l a few steps
// behind layer l-1. Each layer is two tasks, cut into chunks of steps:
// task 2l, the input projections (oneProj: bias + gemm of the layer below's
// h rows into pre[l]), and task 2l+1, the recurrence (oneRec, lstmSeq*
// calls). A task's chunks run in step order, one at a time, and a chunk
// waits for the task before it in the chain proj(0), rec(0), proj(1),
// rec(1), ... to have finished its steps. Every chunk sums each value in
// the same order as the single path, so the result is bit-identical
// whoever ran which chunk.
//
// Protocol (pipeJob): done[k] is how many steps of task k are finished,
// published with an atomic store after the chunk's rows are written;
// owner[k] is a flag taken with a compare-and-swap before running a chunk
// of task k and cleared after publishing done[k]; whoever holds it reads
// done[k] again. The atomics order every write of a chunk before any read
// of it by another goroutine.
//
// Two goroutines take part: the caller, and one helper goroutine shared by
// all networks of the process (pipeHelper), to which the caller hands the
// job through a one-slot mailbox (a window that finds the mailbox full
// runs the single path). The layers are split in two halves of about
// equal work (pipeSplit): the caller runs the lower half, top layer first
// so that rows flow up early, in chunks of pipeChunk steps; the helper
// runs the upper half, top layer first, each call on up to pipeHelperRun
// rows that are ready (its half is the longer one, so fewer and larger
// calls shorten the window). When the lower half is done the caller takes
// its job back from the mailbox if the helper never took it, and then runs
// the upper half alone, layer after layer, at about the single path's
// cost; otherwise it helps with the projections of the first upper layer
// and waits for the top layer.
//
// The caller never waits long for the helper, whose thread the OS may have
// descheduled (a busy machine): if the helper's tasks make no progress for
// pipeStall, the caller abandons the job, recomputes the upper half on a
// workspace of its own from the lower half's final h rows, and leaves the
// job's workspace to the helper (the only case where a window may allocate:
// a second workspace), which puts it back in the pool when it
// leaves the job (job.state: the first of caller and helper to leave sets
// it, the second recycles the workspace). A normal window ends with the
// caller waiting a moment for the helper to leave, so the workspace goes
// back to the caller's pool and the next window reuses it without
// allocating.
//
// On a machine whose cores other processes want, two busy threads get
// preempted for whole OS time slices (milliseconds) far more often than
// one: a pipelined window then averages worse than the single path. So
// after a window that took longer than pipeSlow (ten times its normal
// cost: it lost its core), windows skip the pipeline for pipeBackoff and
// run the single path. An abandoned window that was not that slow (a
// helper thread descheduled for a moment: a few times per thousand windows
// even on the idle VM) sets no backoff: the stall already cost at most
// pipeStall, and while the helper stays away the next windows lose nothing,
// since a job the helper never takes is taken back unrun (runCaller). A
// 1 ms backoff there kept 5-25 % of an idle VM's windows on the single
// path; dropping it measured 1-6 µs off the mean and up to 7 µs off the
// median (12000 windows per arm, interleaved in blocks of 1000 in one
// process), for a somewhat higher abandon rate (99-125 against 63-116 per
// 12000 windows); with one core taken by another process the slow-window
// backoff decides and nothing changed.
//
// Measured on the 2-vCPU AVX-512 development VM, idle, reference network
// (BenchmarkPredictOne vs BenchmarkPredictOneSingle, 60 steps): about
// 35-40 µs per window against 50-54 µs single, for about 75 µs of CPU
// (the helper spins between windows). With both cores already busy with
// windows (BenchmarkPredictOneLoaded*) throughput is the same either way:
// the helper rarely gets a core and callers run alone. Hence the default
// of 2; SetOneWindowThreads(1) is for a process that would rather not
// spend the second core's idle time on one window's latency.
//
// Why the helper, not the caller, runs the projections of its first
// layer (tried and measured, reference network): per step the recurrence
// costs ~0.31 µs, but the next layer's projection gemm ~0.21-0.3 µs, not
// the ~0.15 µs of a gemm whose 41.6 KB of weights stay in L1: whichever
// core runs it alternates that matrix with its own recurrence weights
// (another 41.6 KB) in a 48 KB L1. Letting the caller project each chunk
// right after its recurrence chunk made the caller the critical path
// (p50 ~40 against ~33.5 µs, interleaved in one process), and a balancing
// rule (the caller projects a chunk when the helper's estimated remaining
// work exceeds its own by a margin) lost 2.5-5 µs at every margin tried.
// Chunk sizes 6..12, a first chunk of 2 steps and helper runs of 16..40
// measured alike. What remains is the kernels' cost: ~52 µs of work over
// two cores plus a ~3 µs fill and a chunk of drain.
//
// Windows far apart (BenchmarkPredictOneSparse: a sleep before each)
// cost 120-160 µs on the development VM either way, against ~46 µs hot
// single: the idle cores start cold. Not waking a parked helper (run such
// a window alone) measured even on the mean and p99 (~150 vs 131-283 µs,
// p99 ~280 vs 440-1700 µs) but lost the median (~145 vs 85-110 µs): a
// helper woken by one window spins through the next sleep, so the timer
// wakes the caller on a busy, warm core. Left as is; not settled.
//
// Spinning: a goroutine with nothing to run spins on the atomics and calls
// runtime.Gosched every pipeYieldSpins rounds, so a partner waiting on the
// same P gets it. The helper, once idle, spins (yielding) for
// pipeIdleSpin looking for the next job, so back-to-back windows reach it
// without a wake-up, then parks on a channel that the next caller signals.

// pipeChunk is the steps per chunk: small enough that the upper layer
// starts soon after the lower (the first chunk is on the critical path),
// large enough that per-chunk costs (a gemm call, lstmSeqPipe50's
// prologue, the hand-off) stay small. pipeMinRun is the fewest steps a
// chunk runs unless its input is complete: a task that caught up with the
// one before waits for a few rows rather than running one step at a time.
var pipeChunk, pipeMinRun = 8, 4

// pipeHelperRun caps the helper's chunks: it runs up to this many rows
// that are ready in one call (fewer, larger calls), since its half is the
// longer one and its pace, not the chunk size, sets when the window ends;
// but not all of them, so that its progress shows often enough for the
// caller's stall detection (uncapped, one 60-step call on a slowed core
// can look like a stall). 16..32 measured alike, and better than
// uncapped.
var pipeHelperRun = 24

const (
	pipeYieldSpins = 256                    // spin rounds between runtime.Gosched calls while waiting
	pipeIdleSpin   = 500 * time.Microsecond // the helper's spin before parking, after its last job
	pipeStall      = 50 * time.Microsecond  // no progress of the helper for this long: abandon it (a chunk takes ~5 µs)
	pipeSlow       = 500 * time.Microsecond // a window slower than this lost a core (normal: ~40 µs)
	pipeBackoff    = 20 * time.Millisecond  // then no pipelining for this long
	pipeLeaveSpins = 4096                   // spin rounds the caller waits for the helper to leave a finished job
)

// Job states: the helper is (or may still be) in the job; the helper left
// first; the caller left first (the helper recycles the workspace).
const (
	jobShared int32 = iota
	jobHelperLeft
	jobCallerLeft
)

// paddedInt32 keeps each counter on its own cache line, so the goroutine
// publishing one task's progress does not invalidate another's flag.
type paddedInt32 struct {
	atomic.Int32
	_ [60]byte
}

// pipeJob is the shared state of one pipelined window (it lives in the
// pooled oneWork, so a pass allocates nothing): the inputs, the split,
// per-task done and owner counters, and state (jobShared, ...).
type pipeJob struct {
	n         *Network
	f         *fusedNet
	ws        *oneWork
	x         []float32
	T         int
	split     int // layers [0, split) are the caller's, [split, L) the helper's
	chunk     int // pipeChunk, pipeMinRun and pipeHelperRun when the job started
	minRun    int
	helperRun int
	done      []paddedInt32
	owner     []paddedInt32
	state     paddedInt32
}

func (j *pipeJob) init(layers int) {
	j.done = make([]paddedInt32, 2*layers)
	j.owner = make([]paddedInt32, 2*layers)
}

// pipeHelper is the process-wide helper goroutine and its mailbox: slot
// holds a job nobody took yet; parked is set while the helper sleeps on
// wake, so a caller knows it must signal it; backoffUntil (UnixNano) turns
// pipelining off for a while after a window that could not use the helper.
var pipeHelper struct {
	once         sync.Once
	slot         atomic.Pointer[pipeJob]
	parked       atomic.Bool
	wake         chan struct{}
	backoffUntil atomic.Int64
	jobs         atomic.Uint64          // jobs the helper took (benchmarks report it per window)
	abandoned    atomic.Uint64          // jobs the caller abandoned to a stalled helper (benchmarks report it)
	hook         atomic.Pointer[func()] // tests: runs when the helper has taken a job, before it starts on it
	posted       atomic.Pointer[func()] // tests: runs on the caller once its job is in the mailbox
}

// SetOneWindowThreads sets how many goroutines one-window Predict uses on
// the fused AVX-512 path: 1 runs the layers one after the other on the
// caller's goroutine; 2 (the default) pipelines the layers over the caller
// and a shared helper goroutine (see pipe.go), which needs GOMAXPROCS >= 2
// and at least 2 layers and gives bit-identical results. Values below 1
// count as 1, above 2 as 2. Safe to call concurrently with Predict.
func (n *Network) SetOneWindowThreads(k int) {
	n.oneThreads.Store(int32(min(max(k, 1), 2)))
}

// OneWindowThreads is the value SetOneWindowThreads set (2 by default).
func (n *Network) OneWindowThreads() int {
	if k := n.oneThreads.Load(); k != 0 {
		return int(k)
	}
	return 2
}

// pipeSplit is the first layer of the helper's half: the split that best
// balances the estimated work (per step, U·(U + In/2) for a layer:
// recurrence plus projections, the gemm running about twice as fast per
// multiply-add as the recurrence).
func (n *Network) pipeSplit() int {
	total := 0.0
	for _, L := range n.layers {
		total += float64(L.U) * (float64(L.U) + float64(L.In)/2)
	}
	best, bestGap, low := 1, total, 0.0
	for s := 1; s < len(n.layers); s++ {
		L := n.layers[s-1]
		low += float64(L.U) * (float64(L.U) + float64(L.In)/2)
		if gap := max(low, total-low); gap < bestGap {
			best, bestGap = s, gap
		}
	}
	return best
}

// pipelined runs one window as a pipeline over the caller and the helper
// goroutine, writes its outputs and recycles ws; or returns false (nothing
// done) when that cannot pay: one layer, a short window, one window thread
// asked, GOMAXPROCS = 1 (the two goroutines would take turns on one core),
// the helper busy with another window, or a recent window that could not
// get it.
func (n *Network) pipelined(ws *oneWork, f *fusedNet, x []float32, T int, out []float32) bool {
	if len(f.layers) < 2 || T < 2*pipeChunk || n.OneWindowThreads() < 2 || runtime.GOMAXPROCS(0) < 2 {
		return false
	}
	if until := pipeHelper.backoffUntil.Load(); until != 0 {
		if time.Now().UnixNano() < until {
			return false
		}
		pipeHelper.backoffUntil.Store(0)
	}
	pipeHelper.once.Do(func() {
		pipeHelper.wake = make(chan struct{}, 1)
		go pipeHelperLoop()
	})
	j := &ws.job
	j.n, j.f, j.ws, j.x, j.T = n, f, ws, x, T
	j.chunk, j.minRun, j.helperRun = pipeChunk, pipeMinRun, pipeHelperRun
	j.split = 1
	if len(f.layers) > 2 {
		j.split = n.pipeSplit()
	}
	for k := range j.done {
		j.done[k].Store(0)
		j.owner[k].Store(0)
	}
	j.state.Store(jobShared)
	if !postJob(j) {
		return false
	}
	if hook := pipeHelper.posted.Load(); hook != nil {
		(*hook)() // a test waiting for the helper to take the job
	}
	start := time.Now()
	alone, ok := j.runCaller()
	if ok {
		n.oneOutput(f, ws, T, out)
	} else {
		// The helper stalled: redo its half on another workspace, from the
		// lower half's h rows (final, and only read by the helper).
		pipeHelper.abandoned.Add(1)
		ws2 := n.oneWorkspace(f, T)
		s := j.split
		rows := (T + 1) * f.layers[s-1].ldh
		copy(ws2.h[s-1][:rows], ws.h[s-1][:rows])
		for l := s; l < len(f.layers); l++ {
			n.oneProj(f, ws2, x, l, 0, T, T)
			n.oneRec(f, ws2, l, 0, T, T)
		}
		n.oneOutput(f, ws2, T, out)
		n.poolFused.Put(ws2)
	}
	if now := time.Now(); now.Sub(start) > pipeSlow {
		pipeHelper.backoffUntil.Store(now.Add(pipeBackoff).UnixNano())
	}
	if !alone {
		// Wait a moment for the helper to leave (it does right after its
		// last chunk), so that ws returns to this goroutine's pool.
		for spins := 0; ok && spins < pipeLeaveSpins && j.state.Load() == jobShared; spins++ {
		}
		if j.state.CompareAndSwap(jobShared, jobCallerLeft) {
			return true // the helper recycles ws when it leaves
		}
	}
	j.n, j.f, j.ws, j.x = nil, nil, nil, nil
	n.poolFused.Put(ws)
	return true
}

// postJob puts j in the helper's mailbox, waking the helper if it sleeps,
// or returns false if the mailbox holds another job.
func postJob(j *pipeJob) bool {
	if !pipeHelper.slot.CompareAndSwap(nil, j) {
		return false
	}
	if pipeHelper.parked.Load() {
		select {
		case pipeHelper.wake <- struct{}{}:
		default: // a signal is already pending
		}
	}
	return true
}

// pipeHelperLoop is the helper goroutine: it takes jobs from the mailbox,
// spinning for pipeIdleSpin after the last one, then parks until a caller
// signals.
func pipeHelperLoop() {
	for {
		idleSince := time.Now()
		for spins := 1; ; spins++ {
			if j := pipeHelper.slot.Load(); j != nil && pipeHelper.slot.CompareAndSwap(j, nil) {
				pipeHelper.jobs.Add(1)
				if hook := pipeHelper.hook.Load(); hook != nil {
					(*hook)()
				}
				j.runHelper()
				idleSince, spins = time.Now(), 0
				continue
			}
			if spins%pipeYieldSpins == 0 {
				if time.Since(idleSince) > pipeIdleSpin {
					break
				}
				runtime.Gosched()
			}
		}
		pipeHelper.parked.Store(true)
		// A job posted before parked was visible is seen here; one posted
		// after it finds parked set and signals.
		if pipeHelper.slot.Load() == nil {
			<-pipeHelper.wake
		}
		pipeHelper.parked.Store(false)
	}
}

// runCaller is the caller's part of the job. alone reports that it took
// the job back from the mailbox (the helper never touched it) and ran
// everything; ok = false that it abandoned a stalled helper, leaving the
// upper half unfinished.
func (j *pipeJob) runCaller() (alone, ok bool) {
	nt, s, T := len(j.done), j.split, int32(j.T)
	taken := false
	var progress int32 = -1
	var since time.Time
	for spins := 0; j.done[nt-1].Load() < T; {
		ran := false
		for k := 2*s - 1; k >= 0 && !ran; k-- {
			ran = j.tryTask(k, j.chunk) // top layer first, its recurrence before its projections
		}
		if !ran && j.done[2*s-1].Load() == T {
			if !taken && pipeHelper.slot.CompareAndSwap(j, nil) {
				for l := s; l < len(j.f.layers); l++ {
					j.n.oneProj(j.f, j.ws, j.x, l, 0, j.T, j.T)
					j.n.oneRec(j.f, j.ws, l, 0, j.T, j.T)
				}
				return true, true
			}
			taken = true
			ran = j.tryTask(2*s, j.chunk) // help the helper with projections
		}
		if ran {
			spins = 0
			continue
		}
		spins++
		if spins%64 == 0 && taken {
			p := int32(0)
			for k := 2 * s; k < nt; k++ {
				p += j.done[k].Load()
			}
			if now := time.Now(); p != progress {
				progress, since = p, now
			} else if now.Sub(since) > pipeStall {
				return false, false
			}
		}
		if spins%pipeYieldSpins == 0 {
			runtime.Gosched()
		}
	}
	return false, true
}

// runHelper is the helper's part of the job: the upper half's tasks, top
// layer first and a layer's recurrence before its projections, until the
// top layer is done or the caller left; then it leaves the job, recycling
// the workspace if the caller left first.
func (j *pipeJob) runHelper() {
	n, ws := j.n, j.ws // j may be reused as soon as the helper has left
	nt, s := len(j.done), j.split
	for spins := 1; j.done[nt-1].Load() < int32(j.T) && j.state.Load() == jobShared; spins++ {
		ran := false
		for k := nt - 1; k >= 2*s && !ran; k-- {
			ran = j.tryTask(k, j.helperRun)
		}
		if ran {
			spins = 0
		} else if spins%pipeYieldSpins == 0 {
			runtime.Gosched()
		}
	}
	if !j.state.CompareAndSwap(jobShared, jobHelperLeft) {
		n.poolFused.Put(ws)
	}
}

// tryTask runs task k's next chunk if it is free and its input is far
// enough, and reports whether it did.
func (j *pipeJob) tryTask(k, most int) bool {
	if _, m := j.next(k, most); m == 0 || j.owner[k].Load() != 0 || !j.owner[k].CompareAndSwap(0, 1) {
		return false
	}
	// Holding owner[k]: done[k] cannot move, and is read again since
	// another goroutine may have run a chunk since the look above.
	d, m := j.next(k, most)
	if m > 0 {
		if k&1 == 0 {
			j.n.oneProj(j.f, j.ws, j.x, k/2, d, m, j.T)
		} else {
			j.n.oneRec(j.f, j.ws, k/2, d, m, j.T)
		}
		j.done[k].Store(int32(d + m))
	}
	j.owner[k].Store(0)
	return m > 0
}

// next is task k's next chunk: steps d..d+m-1, m = 0 when it must wait.
// Task k waits on task k-1 (layer l's projections on the recurrence below,
// its recurrence on its projections). The caller's first chunks are half
// size: the helper waits for them.
func (j *pipeJob) next(k, most int) (d, m int) {
	d, avail := int(j.done[k].Load()), j.T
	if k > 0 {
		avail = int(j.done[k-1].Load())
	}
	if d == 0 && k < 2*j.split {
		most = max(j.minRun, most/2) // the helper's half starts sooner
	}
	m = min(most, avail-d)
	if m < j.minRun && avail < j.T {
		m = 0
	}
	return d, max(m, 0)
}
