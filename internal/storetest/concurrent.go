package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/closecast/closecast"
)

// Shape of the concurrent-writer tests: writer w upserts days
// [w·writerStride, w·writerStride+writerSpan), so neighbours overlap by half,
// first with values at level 100 and then, after all have written, with the
// whole span at level 1000.
const (
	writers      = 6
	writerStride = 40
	writerSpan   = 80
	writerDays   = (writers-1)*writerStride + writerSpan
)

// counts is what one writer reports: bars added and updated in one phase.
type counts struct {
	Added, Updated int
}

// phaseBars returns writer w's bars of phase (1: its span at level 100,
// equal to the other writers' bars on the days they share, so the result
// does not depend on who wrote last; 2: the whole range at level 1000).
func phaseBars(w, phase int) []closecast.Bar {
	if phase == 1 {
		return mkBars(day0, writerDays, 100)[w*writerStride : w*writerStride+writerSpan]
	}
	return mkBars(day0, writerDays, 1000)
}

// checkWriters asserts that the writers' counts of both phases add up (every
// day added once in phase 1 and updated once in phase 2: no duplicate, no
// lost update) and that the store holds exactly phase 2's bars.
func checkWriters(t *testing.T, s Store, phase1, phase2 []counts) {
	t.Helper()
	var sum1, sum2 counts
	for i := range phase1 {
		sum1.Added += phase1[i].Added
		sum1.Updated += phase1[i].Updated
		sum2.Added += phase2[i].Added
		sum2.Updated += phase2[i].Updated
	}
	if sum1 != (counts{Added: writerDays}) || sum2 != (counts{Updated: writerDays}) {
		t.Errorf("writers' counts add up to %+v in phase 1 and %+v in phase 2; want %d added, then %d updated",
			sum1, sum2, writerDays, writerDays)
	}
	got := mustBars(t, s, "BTC-USD", day0.AddDays(-10), day0.AddDays(writerDays+10))
	if want := phaseBars(0, 2); !slices.Equal(got, want) {
		t.Fatalf("the store holds %d bars; want the %d bars of phase 2", len(got), len(want))
	}
}

// upsertPhase runs writer w's phase on s.
func upsertPhase(ctx context.Context, s Store, w, phase int) (counts, error) {
	a, u, err := s.Upsert(ctx, "BTC-USD", phaseBars(w, phase))
	if err != nil {
		return counts{}, fmt.Errorf("writer %d, phase %d: %w", w, phase, err)
	}
	return counts{a, u}, nil
}

func testConcurrentGoroutines(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // hang guard
	defer cancel()
	phases := [2][]counts{make([]counts, writers), make([]counts, writers)}
	for phase := 1; phase <= 2; phase++ {
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() { phases[phase-1][w], errs[w] = upsertPhase(ctx, s, w, phase) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	checkWriters(t, s, phases[0], phases[1])
}

// Environment of a writer process: the backend, the store's address, the
// writer's number and the file whose appearance starts phase 2.
const (
	envBackend = "CLOSECAST_STORETEST_BACKEND"
	envAddr    = "CLOSECAST_STORETEST_ADDR"
	envWriter  = "CLOSECAST_STORETEST_WRITER"
	envGo      = "CLOSECAST_STORETEST_GO"
)

// Child runs this process as a writer of the concurrent-process test when
// the environment says so, and exits; otherwise it returns. Call it first
// in the TestMain of every test binary that runs the suite.
func Child(backends ...Backend) {
	name := os.Getenv(envBackend)
	if name == "" {
		return
	}
	i := slices.IndexFunc(backends, func(b Backend) bool { return b.Name == name })
	if i < 0 {
		fmt.Fprintf(os.Stderr, "storetest child: unknown backend %q\n", name)
		os.Exit(2)
	}
	w, _ := strconv.Atoi(os.Getenv(envWriter))
	if err := child(backends[i], os.Getenv(envAddr), w, os.Getenv(envGo)); err != nil {
		fmt.Fprintln(os.Stderr, "storetest child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// child is writer w: it opens the store (all writers at once, so their
// migrations race too), runs phase 1 and prints its counts as a JSON line,
// waits for goFile to appear, runs phase 2 and prints its counts.
func child(b Backend, addr string, w int, goFile string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // hang guard
	defer cancel()
	s, err := b.Open(addr)
	if err != nil {
		return err
	}
	defer s.Close()
	enc := json.NewEncoder(os.Stdout)
	c, err := upsertPhase(ctx, s, w, 1)
	if err != nil {
		return err
	}
	enc.Encode(c)
	for {
		if _, err := os.Stat(goFile); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	if c, err = upsertPhase(ctx, s, w, 2); err != nil {
		return err
	}
	return enc.Encode(c)
}

func testConcurrentProcesses(t *testing.T, b Backend) {
	addr := b.New(t)
	goFile := filepath.Join(t.TempDir(), "go")
	type line struct {
		w   int
		c   counts
		err error
	}
	lines := make(chan line, 2*writers)
	var wg sync.WaitGroup
	for w := range writers {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envBackend+"="+b.Name, envAddr+"="+addr,
			envWriter+"="+strconv.Itoa(w), envGo+"="+goFile)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			dec := json.NewDecoder(out)
			n := 0
			for ; n < 2; n++ {
				var c counts
				if err := dec.Decode(&c); err != nil {
					break
				}
				lines <- line{w: w, c: c}
			}
			if err := cmd.Wait(); err != nil || n < 2 {
				lines <- line{w: w, err: fmt.Errorf("writer %d: %v after %d phases: %s", w, err, n, stderr.Bytes())}
			}
		})
	}
	defer wg.Wait()
	phases := [2][]counts{make([]counts, writers), make([]counts, writers)}
	timeout := time.After(3 * time.Minute) // hang guard
	for phase := 1; phase <= 2; phase++ {
		// Phase 2 starts once every writer has finished phase 1, so each
		// day is added in phase 1 and updated in phase 2.
		for range writers {
			select {
			case l := <-lines:
				if l.err != nil {
					os.WriteFile(goFile, nil, 0o600) // release the others
					t.Fatal(l.err)
				}
				phases[phase-1][l.w] = l.c
			case <-timeout:
				t.Fatal("the writer processes hang")
			}
		}
		if phase == 1 {
			if err := os.WriteFile(goFile, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	s, err := b.Open(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkWriters(t, s, phases[0], phases[1])
}

// testOpenConcurrently opens one new store from several goroutines at once:
// each must succeed, and the schema must be migrated once (a second run of a
// migration would fail on its CREATE TABLE).
func testOpenConcurrently(t *testing.T, b Backend) {
	addr := b.New(t)
	const n = 8
	stores := make([]Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = b.Open(addr)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	// Every handle works on the one schema.
	if _, _, err := stores[0].Upsert(context.Background(), "BTC-USD", mkBars(day0, 3, 100)); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if _, last, ok, err := s.Range(context.Background(), "BTC-USD"); err != nil || !ok || last != day0.AddDays(2) {
			t.Errorf("store %d: range ..%s ok=%v %v", i, last, ok, err)
		}
	}
}
