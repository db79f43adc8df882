package lstm

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestReferenceParamsAndInit(t *testing.T) {
	net, err := New(ReferenceConfig(), 42)
	if err != nil {
		t.Fatal(err)
	}
	if got := net.NumParams(); got != 30651 {
		t.Errorf("NumParams = %d, Keras reports 30651", got)
	}
	for li, L := range net.layers {
		w := net.params[L.wOff : L.wOff+L.K*L.G]
		// Recurrent kernel rows (U of them, 4U long) must be orthonormal.
		for a := 0; a < L.U; a++ {
			for b := a; b < L.U; b++ {
				var d float64
				for g := 0; g < L.G; g++ {
					d += float64(w[(L.In+a)*L.G+g]) * float64(w[(L.In+b)*L.G+g])
				}
				want := 0.0
				if a == b {
					want = 1
				}
				if math.Abs(d-want) > 1e-5 {
					t.Fatalf("layer %d: recurrent rows %d·%d = %g, want %g", li, a, b, d, want)
				}
			}
		}
		lim := math.Sqrt(6 / float64(L.In+L.G))
		var maxAbs float64
		for _, v := range w[:L.In*L.G] {
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
		}
		if maxAbs > lim || maxAbs < 0.8*lim {
			t.Errorf("layer %d: kernel max |w| = %g, glorot limit %g", li, maxAbs, lim)
		}
		for g, v := range net.params[L.bOff : L.bOff+L.G] {
			want := float32(0)
			if g >= L.U && g < 2*L.U {
				want = 1
			}
			if v != want {
				t.Fatalf("layer %d: bias[%d] = %g, want %g (forget gate 1, others 0)", li, g, v, want)
			}
		}
	}
	other, _ := New(ReferenceConfig(), 43)
	if other.params[0] == net.params[0] && other.params[100] == net.params[100] {
		t.Error("different seeds gave the same initial weights")
	}
	same, _ := New(ReferenceConfig(), 42)
	if !equalF32(same.params, net.params) {
		t.Error("the same seed gave different initial weights")
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Features: 0, Units: []int{5}, Outputs: 1}, "Features"},
		{Config{Features: 1, Outputs: 1}, "Units"},
		{Config{Features: 1, Units: []int{5, 0}, Outputs: 1}, "Units[1]"},
		{Config{Features: 1, Units: []int{5}, Outputs: 1, Dropout: 1}, "Dropout"},
		{Config{Features: 1, Units: []int{5}, Outputs: 0}, "Outputs"},
	} {
		if _, err := New(c.cfg, 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) error = %v, want mention of %s", c.cfg, err, c.want)
		}
	}
}

func TestParseLoss(t *testing.T) {
	for s, want := range map[string]Loss{"mae": MAE, "mean_absolute_error": MAE, "MSE": MSE,
		"mean_squared_error": MSE, "huber": Huber, "pinball": Pinball, "Quantile": Pinball} {
		if got, err := ParseLoss(s); err != nil || got != want {
			t.Errorf("ParseLoss(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseLoss("hinge"); err == nil {
		t.Error("ParseLoss(hinge) accepted")
	}
}

// TestTrainingReducesLoss trains the reference architecture (smaller) on
// random-walk windows and requires a real drop of the held-out loss.
func TestTrainingReducesLoss(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		x, y := SyntheticWindows(400, 20, 5)
		xt, yt := x[:300*20], y[:300]
		xv, yv := x[300*20:], y[300:]
		net, err := New(Config{Features: 1, Units: []int{16, 16}, Dropout: 0.1, Outputs: 1}, 9)
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultTrainConfig()
		cfg.Loss = MSE
		cfg.LearningRate = 3e-3
		tr, err := NewTrainer(net, cfg)
		if err != nil {
			t.Fatal(err)
		}
		before := tr.Evaluate(xv, yv, 100, 20)
		first := tr.Epoch(xt, yt, 300, 20)
		var last float64
		for range 25 {
			last = tr.Epoch(xt, yt, 300, 20)
		}
		after := tr.Evaluate(xv, yv, 100, 20)
		t.Logf("held-out MSE %.5f → %.5f, train %.5f → %.5f", before, after, first, last)
		if !(after < 0.1*before) || !(last < 0.5*first) {
			t.Errorf("training did not learn: held-out MSE %.5f → %.5f, train loss %.5f → %.5f", before, after, first, last)
		}
	})
}

// TestDeterminism: the same seed, data and Threads give bit-identical
// weights; a different thread count agrees to rounding.
func TestDeterminism(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		x, y := SyntheticWindows(150, 15, 3)
		run := func(threads int) []float32 {
			net, _ := New(Config{Features: 1, Units: []int{12, 9}, Dropout: 0.2, Outputs: 1}, 4)
			cfg := DefaultTrainConfig()
			cfg.Threads = threads
			cfg.BatchSize = 16
			cfg.ClipNorm = 1
			tr, err := NewTrainer(net, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				tr.Epoch(x, y, 150, 15)
			}
			return net.Params()
		}
		a, b := run(2), run(2)
		if !equalF32(a, b) {
			t.Fatal("two runs with the same seed and threads differ")
		}
		c := run(1)
		var dm float64
		for i := range a {
			dm = math.Max(dm, math.Abs(float64(a[i]-c[i])))
		}
		if dm > 1e-3 {
			t.Errorf("threads 1 vs 2: max weight difference %g (dropout masks must not depend on threads)", dm)
		}
	})
}

func TestPredictConcurrentAndDropout(t *testing.T) {
	net, _ := New(Config{Features: 2, Units: []int{10, 6}, Dropout: 0.3, Outputs: 2}, 5)
	x, _ := randData(1, 70, 8, 2, 2) // 70 windows: crosses the 32-window chunking
	want := make([]float32, 140)
	net.Predict(x, 70, 8, want)
	one := make([]float32, 2)
	net.Predict(x[5*16:6*16], 1, 8, one)
	if !equalF32(one, want[10:12]) {
		t.Errorf("one-window Predict %v differs from batched %v", one, want[10:12])
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]float32, 140)
			for range 20 {
				net.Predict(x, 70, 8, out)
				if !equalF32(out, want) {
					t.Error("concurrent Predict gave a different result")
					return
				}
			}
		}()
	}
	wg.Wait()
	d1, d2, d3 := make([]float32, 140), make([]float32, 140), make([]float32, 140)
	net.PredictDropout(x, 70, 8, d1, 1)
	net.PredictDropout(x, 70, 8, d2, 1)
	net.PredictDropout(x, 70, 8, d3, 2)
	if !equalF32(d1, d2) {
		t.Error("PredictDropout with the same seed differs")
	}
	if equalF32(d1, d3) || equalF32(d1, want) {
		t.Error("PredictDropout ignores its seed or applies no dropout")
	}
}

func TestClone(t *testing.T) {
	net, _ := New(Config{Features: 1, Units: []int{4}, Outputs: 1}, 1)
	c := net.Clone()
	c.params[0] += 1
	c.syncDerived()
	if net.params[0] == c.params[0] || net.wtx[0][0] == c.wtx[0][0] || net.wp[0][0] == c.wp[0][0] {
		t.Error("Clone shares parameters with the original")
	}
}

func TestSafetensorsRoundTripAndErrors(t *testing.T) {
	net, _ := New(Config{Features: 3, Units: []int{5, 4}, Dropout: 0.25, Outputs: 2}, 11)
	var buf bytes.Buffer
	if err := net.WriteSafetensors(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	back, err := ReadSafetensors(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if !equalF32(back.params, net.params) || back.cfg.Dropout != 0.25 || back.cfg.Outputs != 2 || back.cfg.Features != 3 {
		t.Fatalf("round trip changed the network: %+v", back.cfg)
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := net.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	if fromFile, err := LoadFile(path); err != nil || !equalF32(fromFile.params, net.params) {
		t.Fatalf("SaveFile/LoadFile: %v", err)
	}
	// Corruptions, each with the word the error must contain.
	hlen := binary.LittleEndian.Uint64(good[:8])
	header := string(good[8 : 8+hlen])
	withHeader := func(h string) []byte {
		h += strings.Repeat(" ", (8-len(h)%8)%8)
		out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
		return append(append(out, h...), good[8+hlen:]...)
	}
	cases := map[string][]byte{
		"header length":   good[:5],
		"not a JSON":      withHeader("[1,2]"),
		"dtype":           withHeader(strings.Replace(header, `"F32"`, `"F16"`, 1)),
		"unexpected":      withHeader(strings.Replace(header, "dense.bias", "dense.biaz", 1)),
		"truncated":       good[:len(good)-4],
		"missing tensor":  withHeader(strings.Replace(header, "lstm1.bias_hh_l0", "lstm7.bias_hh_l0", 1)),
		"dropout":         withHeader(strings.Replace(header, `"dropout":"0.25"`, `"dropout":"lots"`, 1)),
		"data_offsets":    withHeader(strings.Replace(header, `"data_offsets":[0,`, `"data_offsets":[4,`, 1)),
		"lstm1.weight_ih": withHeader(strings.Replace(header, `"lstm1.weight_ih_l0":{"dtype":"F32","shape":[16,5]`, `"lstm1.weight_ih_l0":{"dtype":"F32","shape":[16,5,1]`, 1)),
	}
	for want, data := range cases {
		_, err := ReadSafetensors(bytes.NewReader(data))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("corruption %q: error = %v", want, err)
		}
	}
	nan := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(nan[len(nan)-4:], math.Float32bits(float32(math.NaN())))
	if _, err := ReadSafetensors(bytes.NewReader(nan)); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN weight: error = %v", err)
	}
}

func FuzzReadSafetensors(f *testing.F) {
	// Small seeds: the fuzzer's mutator stalls on multi-kilobyte inputs.
	for _, cfg := range []Config{{Features: 1, Units: []int{1}, Outputs: 1}, {Features: 2, Units: []int{1, 2}, Outputs: 1, Dropout: 0.5}} {
		net, err := New(cfg, 1)
		if err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		if err := net.WriteSafetensors(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		net, err := ReadSafetensors(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Anything accepted must be usable and survive a round trip.
		var buf bytes.Buffer
		if err := net.WriteSafetensors(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := ReadSafetensors(&buf)
		if err != nil || !equalF32(back.params, net.params) {
			t.Fatalf("accepted file does not round-trip: %v", err)
		}
		out := make([]float32, net.cfg.Outputs)
		net.Predict(make([]float32, 2*net.cfg.Features), 1, 2, out)
	})
}

func TestEpochContextStops(t *testing.T) {
	x, y := SyntheticWindows(64, 10, 1)
	net, _ := New(Config{Features: 1, Units: []int{4}, Outputs: 1}, 1)
	cfg := DefaultTrainConfig()
	cfg.BatchSize = 8
	tr, _ := NewTrainer(net, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := net.Params()
	if _, err := tr.EpochContext(ctx, x, y, 64, 10); err != context.Canceled {
		t.Fatalf("EpochContext on a cancelled context: err = %v", err)
	}
	if !equalF32(before, net.Params()) || tr.Steps() != 0 {
		t.Error("a cancelled epoch still changed the weights")
	}
	if loss, err := tr.EpochContext(context.Background(), x, y, 64, 10); err != nil || tr.Steps() != 8 || !(loss > 0) {
		t.Errorf("EpochContext: loss %v err %v steps %d, want 8 steps", loss, err, tr.Steps())
	}
}

func TestBench(t *testing.T) {
	x, y := SyntheticWindows(96, 12, 3)
	r, err := Bench(x, y, 96, 12, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !(r.EpochSeconds > 0 && r.GFLOPs > 0 && r.InferMicros > 0) || r.Threads != 2 || r.Epochs != 2 || r.Kernel != KernelName() ||
		math.IsNaN(r.Loss) || r.Loss <= 0 {
		t.Errorf("implausible bench result %+v", r)
	}
	if _, err := Bench(x, y[:5], 96, 12, 1, 1); err == nil {
		t.Error("Bench accepted mismatched data")
	}
}
