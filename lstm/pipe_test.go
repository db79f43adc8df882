package lstm

import (
	"runtime"
	"sync"
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
// pipelined one.
func predictBoth(net *Network, x []float32, T int) (single, piped []float32) {
	O := net.Config().Outputs
	single, piped = make([]float32, O), make([]float32, O)
	net.SetOneWindowThreads(1)
	net.Predict(x, 1, T, single)
	net.SetOneWindowThreads(2)
	net.Predict(x, 1, T, piped)
	return single, piped
}

// TestPipelinedOneWindow checks that the layer pipeline over two
// goroutines gives exactly the single path's bits, for random networks and
// windows of several lengths (chunks that divide T or not, a T just long
// enough to pipeline), several chunk sizes and caps, and that the helper really
// took part.
func TestPipelinedOneWindow(t *testing.T) {
	if KernelName() != "avx512" {
		t.Log("no AVX-512: one window runs the batched path, the pipeline is not used")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	chunk, minRun, helperRun := pipeChunk, pipeMinRun, pipeHelperRun
	defer func() { pipeChunk, pipeMinRun, pipeHelperRun = chunk, minRun, helperRun }()
	pipeHelper.backoffUntil.Store(0) // an earlier test's slow window must not turn the pipeline off
	jobs0 := pipeHelper.jobs.Load()
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
						t.Errorf("%v T=%d chunk %v window %d: pipelined %v, single %v", cfg.Units, T, c, w, piped, single)
					}
				}
			}
		}
	}
	if KernelName() == "avx512" && pipeHelper.jobs.Load() == jobs0 {
		t.Error("the helper goroutine never took a job")
	}
}

// TestPipelinedHelperLate makes the helper stall after taking each job, so
// the caller must run the helper's half itself (after pipeStealSpins) and
// then wait for the helper to let go of the job before the workspace is
// reused; and checks that a busy mailbox sends a window down the single
// path. Results must stay bit-identical throughout.
func TestPipelinedHelperLate(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	net, err := New(ReferenceConfig(), 5)
	if err != nil {
		t.Fatal(err)
	}
	const T = 60
	stall := func() { time.Sleep(200 * time.Microsecond) }
	pipeHelper.hook.Store(&stall)
	abandoned := pipeHelper.abandoned.Load()
	// The helper may be parked and come after the caller has run alone:
	// try windows until a few found it stalled.
	for w := 0; w < 300 && pipeHelper.abandoned.Load() < abandoned+3; w++ {
		pipeHelper.backoffUntil.Store(0) // each window tries the helper
		x, _ := randData(uint64(w), 1, T, 1, 1)
		single, piped := predictBoth(net, x, T)
		if !equalF32(single, piped) {
			t.Errorf("stalled helper, window %d: pipelined %v, single %v", w, piped, single)
		}
	}
	pipeHelper.hook.Store(nil)
	if KernelName() == "avx512" && pipeHelper.abandoned.Load() == abandoned {
		t.Error("no window abandoned the stalled helper")
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
	if KernelName() != "avx512" {
		return // no fused path: the helper is never started
	}
	// A job waiting in the mailbox (as another window's would while the
	// helper is busy): the window must not wait for it. The helper is held
	// inside an empty job (T = 0) so it cannot empty the mailbox.
	release := make(chan struct{})
	hold := func() { <-release }
	pipeHelper.hook.Store(&hold)
	busy, queued := &pipeJob{}, &pipeJob{}
	busy.init(2)
	queued.init(2)
	if !postJob(busy) {
		t.Fatal("mailbox busy with no window running")
	}
	for pipeHelper.slot.Load() != nil {
		runtime.Gosched() // until the helper holds busy
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

// TestPipelinedNoAlloc: the pipelined window allocates nothing once its
// workspace exists, unless it had to abandon a stalled helper.
func TestPipelinedNoAlloc(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	net, err := New(ReferenceConfig(), 9)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := randData(3, 1, 60, 1, 1)
	out := make([]float32, 1)
	net.Predict(x, 1, 60, out)
	if raceEnabled {
		return // sync.Pool drops items at random under -race
	}
	// Not testing.AllocsPerRun: it sets GOMAXPROCS to 1, which turns the
	// pipeline off. Mallocs counts the helper goroutine's too.
	const windows = 200
	jobs, abandoned := pipeHelper.jobs.Load(), pipeHelper.abandoned.Load()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range windows {
		// A slow window (a stop-the-world, a descheduled thread) would turn
		// the pipeline off for pipeBackoff, longer than this whole loop.
		pipeHelper.backoffUntil.Store(0)
		net.Predict(x, 1, 60, out)
	}
	runtime.ReadMemStats(&m1)
	// A window that abandons a stalled helper (rare: the OS took its
	// thread) may allocate a second workspace, and so may the next window
	// of this goroutine until the first comes back: allow that, and the
	// odd allocation of sync.Pool's own bookkeeping (per-P structures,
	// when the helper's P puts a workspace back), but none per window.
	const poolSlack = 2
	allocs, ab := m1.Mallocs-m0.Mallocs, pipeHelper.abandoned.Load()-abandoned
	t.Logf("%d windows: %d allocations, %d taken by the helper, %d abandoned", windows, allocs, pipeHelper.jobs.Load()-jobs, ab)
	if allocs > ab*40+poolSlack {
		t.Errorf("%d pipelined one-window Predicts: %d allocations with %d abandoned windows, want at most %d without", windows, allocs, ab, poolSlack)
	}
	if KernelName() == "avx512" && pipeHelper.jobs.Load() == jobs {
		t.Errorf("the helper took none of the %d windows", windows)
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
