package lstm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pipeNets are networks of 2..4 layers whose one-window path is fused
// (every layer at most 52 units): the reference shape, masked chunks,
// packed tails, several inputs and outputs.
var pipeNets = []Config{
	{Features: 1, Units: []int{50, 50}, Outputs: 1},
	{Features: 3, Units: []int{20, 33}, Outputs: 2},
	{Features: 2, Units: []int{49, 5}, Outputs: 1},
	{Features: 1, Units: []int{16, 50, 36}, Outputs: 3},
	{Features: 4, Units: []int{8, 52, 17, 50}, Outputs: 1},
}

// predictBoth returns one window's outputs on the single path and on the
// pipelined one (whichever of its paths the scheduler lets it take: helper
// or not, abandoned or not; each must give the single path's bits).
func predictBoth(net *Network, x []float32, T int) (single, piped []float32) {
	O := net.Config().Outputs
	single, piped = make([]float32, O), make([]float32, O)
	net.SetOneWindowThreads(1)
	net.Predict(x, 1, T, single)
	net.SetOneWindowThreads(2)
	// A slow window before (a busy machine) would turn the pipeline off
	// for pipeBackoff: each window tries it.
	pipeHelper.backoffUntil.Store(0)
	net.Predict(x, 1, T, piped)
	return single, piped
}

// pipeHangGuard bounds every wait of these tests on the helper goroutine:
// far longer than the OS ever keeps a runnable thread off a core, so it
// only ends a test that would otherwise hang.
const pipeHangGuard = 20 * time.Second

// waitFor spins (yielding) until cond holds, or gives up after
// pipeHangGuard and reports false.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(pipeHangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		runtime.Gosched()
	}
	return true
}

// forceHelper makes every pipelined window wait, once its job is in the
// mailbox, until the helper has taken it, so that the two-goroutine path
// runs whatever the scheduler does (left alone, a window whose helper is
// late runs the upper layers itself). It returns the function that undoes
// it, and reports a helper that never came as a test error.
func forceHelper(t *testing.T) (undo func()) {
	t.Helper()
	var lost atomic.Int64
	wait := func() {
		if !waitFor(func() bool { return pipeHelper.slot.Load() == nil }) {
			lost.Add(1)
		}
	}
	pipeHelper.posted.Store(&wait)
	jobs := pipeHelper.jobs.Load()
	return func() {
		pipeHelper.posted.Store(nil)
		t.Logf("helper forced: it took %d jobs", pipeHelper.jobs.Load()-jobs)
		if n := lost.Load(); n > 0 {
			t.Errorf("the helper goroutine took no job for %v, %d times", pipeHangGuard, n)
		}
	}
}

// TestPipelinedOneWindow checks that the layer pipeline over two
// goroutines gives exactly the single path's bits, for random networks and
// windows of several lengths (chunks that divide T or not, a T just long
// enough to pipeline), several chunk sizes and caps: each window once as
// the scheduler has it, and once with the helper made to take the job.
func TestPipelinedOneWindow(t *testing.T) {
	if KernelName() != "avx512" {
		t.Log("no AVX-512: one window runs the batched path, the pipeline is not used")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	chunk, minRun, helperRun := pipeChunk, pipeMinRun, pipeHelperRun
	defer func() { pipeChunk, pipeMinRun, pipeHelperRun = chunk, minRun, helperRun }()
	for _, force := range []bool{false, true} {
		undo := func() {}
		if force {
			undo = forceHelper(t)
		}
		for i, cfg := range pipeNets {
			net, err := New(cfg, uint64(100+i))
			if err != nil {
				t.Fatal(err)
			}
			for _, T := range []int{16, 17, 37, 60} {
				for _, c := range [][3]int{{8, 4, 1 << 30}, {3, 1, 1 << 30}, {5, 5, 5}, {4, 2, 3}} {
					pipeChunk, pipeMinRun, pipeHelperRun = c[0], c[1], c[2]
					for w := 0; w < 4; w++ {
						x, _ := randData(uint64(1000*i+10*T+w), 1, T, cfg.Features, cfg.Outputs)
						single, piped := predictBoth(net, x, T)
						if !equalF32(single, piped) {
							t.Errorf("%v T=%d chunk %v window %d helper forced %v: pipelined %v, single %v", cfg.Units, T, c, w, force, piped, single)
						}
					}
				}
			}
		}
		undo()
	}
}

// TestPipelinedHelperLate holds the helper after it took each job until
// the caller has given up on it, so the caller must recompute the upper
// half on a workspace of its own (after pipeStall) while the helper, let
// go, runs into the job the caller left; then checks windows that must
// wake a parked helper, and that a busy mailbox sends a window down the
// single path. Results must stay bit-identical throughout.
func TestPipelinedHelperLate(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	net, err := New(ReferenceConfig(), 5)
	if err != nil {
		t.Fatal(err)
	}
	const T = 60
	fused := KernelName() == "avx512" // else the pipeline is never used
	if fused {
		undo := forceHelper(t)
		abandoned0 := pipeHelper.abandoned.Load()
		var lost atomic.Int64
		for w := 0; w < 20; w++ {
			abandoned := pipeHelper.abandoned.Load()
			stall := func() {
				// Taken, so the caller cannot take the job back: it waits
				// pipeStall for progress, then abandons the helper.
				if !waitFor(func() bool { return pipeHelper.abandoned.Load() != abandoned }) {
					lost.Add(1)
				}
			}
			pipeHelper.hook.Store(&stall)
			x, _ := randData(uint64(w), 1, T, 1, 1)
			single, piped := predictBoth(net, x, T)
			if !equalF32(single, piped) {
				t.Errorf("stalled helper, window %d: pipelined %v, single %v", w, piped, single)
			}
		}
		pipeHelper.hook.Store(nil)
		undo()
		if n := lost.Load(); n > 0 {
			t.Errorf("%d windows never abandoned the stalled helper", n)
		}
		t.Logf("abandoned the stalled helper %d times", pipeHelper.abandoned.Load()-abandoned0)
	}
	// Windows far apart: the helper has parked each time and must be woken.
	for w := 0; w < 5; w++ {
		time.Sleep(2 * pipeIdleSpin)
		x, _ := randData(uint64(50+w), 1, T, 1, 1)
		single, piped := predictBoth(net, x, T)
		if !equalF32(single, piped) {
			t.Errorf("parked helper, window %d: pipelined %v, single %v", w, piped, single)
		}
	}
	if !fused {
		return // no fused path: the helper is never started
	}
	// A job waiting in the mailbox (as another window's would while the
	// helper is busy): the window must not wait for it. The helper is held
	// inside an empty job (T = 0) so it cannot empty the mailbox.
	held, release := make(chan struct{}), make(chan struct{})
	hold := func() { close(held); <-release }
	pipeHelper.hook.Store(&hold)
	busy, queued := &pipeJob{}, &pipeJob{}
	busy.init(2)
	queued.init(2)
	if !postJob(busy) {
		t.Fatal("mailbox busy with no window running")
	}
	select {
	case <-held: // the helper holds busy, and counted it
	case <-time.After(pipeHangGuard):
		t.Fatal("the helper never took a job")
	}
	pipeHelper.slot.Store(queued)
	x, _ := randData(77, 1, T, 1, 1)
	jobs := pipeHelper.jobs.Load()
	single, piped := predictBoth(net, x, T)
	if !pipeHelper.slot.CompareAndSwap(queued, nil) || pipeHelper.jobs.Load() != jobs {
		t.Error("a window took the busy helper's mailbox")
	}
	pipeHelper.hook.Store(nil)
	close(release)
	if !equalF32(single, piped) {
		t.Errorf("busy mailbox: pipelined %v, single %v", piped, single)
	}
}

// TestPipelinedConcurrent runs one-window Predicts from several goroutines
// at once on shared networks (run it with -race): only one window at a
// time gets the helper, the others must run alone, all bit-identical to a
// result computed beforehand.
func TestPipelinedConcurrent(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	const T, windows = 40, 8
	type tc struct {
		net  *Network
		x    []float32
		want []float32
	}
	var cases []tc
	for i, cfg := range pipeNets[:3] {
		net, err := New(cfg, uint64(200+i))
		if err != nil {
			t.Fatal(err)
		}
		for w := 0; w < windows; w++ {
			x, _ := randData(uint64(300+10*i+w), 1, T, cfg.Features, cfg.Outputs)
			want, _ := predictBoth(net, x, T)
			cases = append(cases, tc{net, x, want})
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for r := 0; r < 20; r++ {
				c := cases[(g*7+r)%len(cases)]
				got := make([]float32, len(c.want))
				c.net.Predict(c.x, 1, T, got)
				if !equalF32(got, c.want) {
					t.Errorf("goroutine %d round %d: %v, want %v", g, r, got, c.want)
				}
			}
		})
	}
	wg.Wait()
}

// TestPipelinedNoAlloc: one-window Predicts with the default two threads
// allocate nothing once their workspaces exist, whichever path each
// window takes. Workspaces are pooled: a window allocates one only when
// none is free, and at most maxLive exist at once (the caller's, a second
// one when it abandons a stalled helper, the one such a helper still
// holds, one parked in the other P's private pool slot), so the windows
// together allocate at most maxLive workspaces (again after each garbage
// collection, which empties pools), plus sync.Pool's own bookkeeping; a
// single allocation per window would exceed that many times over.
func TestPipelinedNoAlloc(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	net, err := New(ReferenceConfig(), 9)
	if err != nil {
		t.Fatal(err)
	}
	const T = 60
	x, _ := randData(3, 1, T, 1, 1)
	out := make([]float32, 1)
	net.Predict(x, 1, T, out)
	if raceEnabled {
		return // sync.Pool drops items at random under -race
	}
	perWS := 0.0 // allocations of one workspace (none on the batched path's pool)
	if f := net.fusedWeights(); f != nil {
		perWS = testing.AllocsPerRun(3, func() { newOneWork(f, T) })
	}
	const maxLive, poolSlack, windows = 4, 4, 1000
	runtime.GC() // room on the heap: no collection should come during the loop
	net.Predict(x, 1, T, out)
	// Not testing.AllocsPerRun: it sets GOMAXPROCS to 1, which turns the
	// pipeline off. Mallocs counts the helper goroutine's too.
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range windows {
		pipeHelper.backoffUntil.Store(0) // each window tries the pipeline
		net.Predict(x, 1, T, out)
	}
	runtime.ReadMemStats(&m1)
	allocs, gcs := m1.Mallocs-m0.Mallocs, uint64(m1.NumGC-m0.NumGC)
	limit := uint64(float64((1+gcs)*maxLive)*perWS) + poolSlack
	t.Logf("%d windows: %d allocations (%d collections; a workspace is %.0f)", windows, allocs, gcs, perWS)
	if allocs > limit {
		t.Errorf("%d one-window Predicts: %d allocations, want at most %d (%d workspaces of %.0f, %d collections)", windows, allocs, limit, maxLive, perWS, gcs)
	}
}

// TestOneWindowThreads checks the setting's clamping and default, and that
// Clone keeps it.
func TestOneWindowThreads(t *testing.T) {
	net, err := New(ReferenceConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]int{{0, 2}, {-3, 1}, {1, 1}, {2, 2}, {7, 2}} {
		if c[0] != 0 {
			net.SetOneWindowThreads(c[0])
		}
		if got := net.OneWindowThreads(); got != c[1] {
			t.Errorf("after SetOneWindowThreads(%d): %d, want %d", c[0], got, c[1])
		}
		if got := net.Clone().OneWindowThreads(); got != c[1] {
			t.Errorf("clone after SetOneWindowThreads(%d): %d, want %d", c[0], got, c[1])
		}
	}
}

// TestPipeSplit checks that the split balances the estimated work.
func TestPipeSplit(t *testing.T) {
	for _, c := range []struct {
		units []int
		want  int
	}{{[]int{50, 50}, 1}, {[]int{50, 50, 50}, 2}, {[]int{50, 50, 50, 50}, 2}, {[]int{10, 10, 50}, 2}, {[]int{50, 10, 10}, 1}} {
		net, err := New(Config{Features: 1, Units: c.units, Outputs: 1}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := net.pipeSplit(); got != c.want {
			t.Errorf("%v: split %d, want %d", c.units, got, c.want)
		}
	}
}
