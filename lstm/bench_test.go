package lstm

import (
	"testing"
	"time"
)

// Reference shape: 2093 training windows of 60 steps = 66 batches of 32.
const benchWindows, benchSteps = 2093, 60

func BenchmarkEpochReference(b *testing.B) { benchEpoch(b, 0) }

// BenchmarkEpochReference1Thread is the same on one goroutine, for a
// like-for-like comparison with single-threaded PyTorch.
func BenchmarkEpochReference1Thread(b *testing.B) { benchEpoch(b, 1) }

func benchEpoch(b *testing.B, threads int) {
	x, y := SyntheticWindows(benchWindows, benchSteps, 2018)
	net, err := New(ReferenceConfig(), 42)
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultTrainConfig()
	cfg.Threads = threads
	tr, err := NewTrainer(net, cfg)
	if err != nil {
		b.Fatal(err)
	}
	tr.Epoch(x, y, benchWindows, benchSteps) // warm-up: workspaces
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		tr.Epoch(x, y, benchWindows, benchSteps)
	}
	s := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/epoch")
	b.ReportMetric(s, "s/epoch")
	b.ReportMetric(net.FLOPs(benchSteps, true)*benchWindows/s/1e9, "GFLOP/s")
	b.ReportMetric(float64(tr.threads), "threads")
}

// BenchmarkPredictOne is one-window inference (the server's call) with the
// default SetOneWindowThreads.
func BenchmarkPredictOne(b *testing.B) { benchPredictOne(b, 0) }

// benchOneWindow returns the reference network, warmed by one Predict of
// the window it also returns, with SetOneWindowThreads(threads) unless
// threads is 0 (the default).
func benchOneWindow(b *testing.B, threads int) (*Network, []float32) {
	x, _ := SyntheticWindows(1, benchSteps, 7)
	net, err := New(ReferenceConfig(), 42)
	if err != nil {
		b.Fatal(err)
	}
	if threads > 0 {
		net.SetOneWindowThreads(threads)
	}
	net.Predict(x, 1, benchSteps, make([]float32, 1))
	return net, x
}

// helperShare returns a function that reports, per window since the call,
// the jobs the pipeline's helper took and the windows that abandoned it
// (stalled): how often the scheduler let the two-goroutine path run, which
// the tests do not assert since it depends on how busy the machine is.
func helperShare(b *testing.B) (report func()) {
	jobs, abandoned := pipeHelper.jobs.Load(), pipeHelper.abandoned.Load()
	return func() {
		n := float64(b.N)
		b.ReportMetric(float64(pipeHelper.jobs.Load()-jobs)/n, "helper-jobs/window")
		b.ReportMetric(float64(pipeHelper.abandoned.Load()-abandoned)/n, "abandoned/window")
	}
}

func benchPredictOne(b *testing.B, threads int) {
	net, x := benchOneWindow(b, threads)
	out := make([]float32, 1)
	b.ReportAllocs()
	b.ResetTimer()
	defer helperShare(b)()
	c0 := cpuTime()
	for b.Loop() {
		net.Predict(x, 1, benchSteps, out)
	}
	s := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N)*1e6, "cpu-µs/window")
	b.ReportMetric(s*1e6, "µs/window")
	b.ReportMetric(net.FLOPs(benchSteps, false)/s/1e9, "GFLOP/s")
}

// BenchmarkEpochReferenceAVX2 forces the AVX2+FMA kernels (what a CPU
// without AVX-512 runs); skipped where AVX2+FMA is missing.
func BenchmarkEpochReferenceAVX2(b *testing.B) {
	if asmName != "avx512" || !forceAVX2(true) {
		b.Skip("needs an AVX-512 CPU with AVX2+FMA to compare")
	}
	defer forceAVX2(false)
	benchEpoch(b, 0)
}

func BenchmarkPredictOneAVX2(b *testing.B) {
	if asmName != "avx512" || !forceAVX2(true) {
		b.Skip("needs an AVX-512 CPU with AVX2+FMA to compare")
	}
	defer forceAVX2(false)
	BenchmarkPredictOne(b)
}

// BenchmarkPredictOneSingle is BenchmarkPredictOne on the caller's
// goroutine alone (SetOneWindowThreads(1)), the path before pipelining.
func BenchmarkPredictOneSingle(b *testing.B) { benchPredictOne(b, 1) }

// BenchmarkPredictOneSparse is a lightly used server: each window comes
// after the process slept (time.Sleep(200 µs): 0.2 to 1.1 ms on the
// development VM, shorter while the pipeline's helper still spins), so
// caches, the CPU and the helper may have gone idle; µs/window times only
// the Predict calls, so unlike BenchmarkPredictOne it includes the cost of
// starting cold. Expect a wide spread between runs.
func BenchmarkPredictOneSparse(b *testing.B) { benchPredictOneSparse(b, 0) }

// BenchmarkPredictOneSparseSingle is BenchmarkPredictOneSparse with
// SetOneWindowThreads(1).
func BenchmarkPredictOneSparseSingle(b *testing.B) { benchPredictOneSparse(b, 1) }

func benchPredictOneSparse(b *testing.B, threads int) {
	net, x := benchOneWindow(b, threads)
	out := make([]float32, 1)
	net.Predict(x, 1, benchSteps, out)
	defer helperShare(b)()
	var busy time.Duration
	for b.Loop() {
		time.Sleep(200 * time.Microsecond)
		start := time.Now()
		net.Predict(x, 1, benchSteps, out)
		busy += time.Since(start)
	}
	b.ReportMetric(float64(busy.Nanoseconds())/float64(b.N)/1e3, "µs/window")
}

// BenchmarkPredictOneLoaded is a loaded server: one-window Predicts from
// GOMAXPROCS goroutines at once (b.RunParallel) with the default
// SetOneWindowThreads; µs/window is wall time per window over all of them,
// so 1/it is the throughput with every core busy.
func BenchmarkPredictOneLoaded(b *testing.B) { benchPredictOneLoaded(b, 0) }

// BenchmarkPredictOneLoadedSingle is BenchmarkPredictOneLoaded with
// SetOneWindowThreads(1).
func BenchmarkPredictOneLoadedSingle(b *testing.B) { benchPredictOneLoaded(b, 1) }

func benchPredictOneLoaded(b *testing.B, threads int) {
	net, x := benchOneWindow(b, threads)
	b.ReportAllocs()
	b.ResetTimer()
	defer helperShare(b)()
	b.RunParallel(func(pb *testing.PB) {
		out := make([]float32, 1)
		for pb.Next() {
			net.Predict(x, 1, benchSteps, out)
		}
	})
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e6, "µs/window")
}
