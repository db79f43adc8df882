package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/yahoo/yahootest"
)

// buildBinary builds the closecast binary once for the tests that need a
// real process (signals reach a process, not a function).
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "closecast-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "closecast")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

// smallConfig is a config that trains in a fraction of a second per fold,
// so that a backtest has many folds to interrupt.
const smallConfig = `name: small
symbol: BTC-USD
data: {from: 2023-01-01, to: 2025-04-30}
features: [close]
target: close
window_size: 20
layers: 1
neuronios: 8
epochs: 2
batch_size: 64
seed: 1
`

// TestLongCommandsStopOnTheFirstSignal runs each long command as a real
// process, waits until it is working (a line on stderr, or its request at
// the fake Yahoo), sends SIGINT or SIGTERM once, and checks that it exits
// with 130 or 143. The timeout is only a hang guard.
func TestLongCommandsStopOnTheFirstSignal(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatalf("building closecast: %v", err)
	}
	home := t.TempDir()
	cfg := filepath.Join(home, "small.yaml")
	if err := os.WriteFile(cfg, []byte(smallConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	hanging := yahootest.New()
	t.Cleanup(hanging.Close)
	for range 10 {
		hanging.Inject(yahootest.Hang(10 * time.Minute))
	}
	trainOut := filepath.Join(home, "trained")

	cases := []struct {
		name string
		args []string
		wait string // a stderr line containing this; "" waits for a request at the fake Yahoo
		sig  syscall.Signal
	}{
		{"train", []string{"train", "--config", "reference", "--epochs", "100000", "--out", trainOut}, "epoch ", syscall.SIGINT},
		{"evaluate", []string{"evaluate", "--samples", "500", "--horizon", "30"}, "evaluating ", syscall.SIGTERM},
		{"backtest", []string{"backtest", "--config", cfg, "--from", "2024-06-01", "--to", "2025-04-30", "--retrain-every", "3", "--threads", "1"}, "fold ", syscall.SIGINT},
		{"bench", []string{"bench", "--epochs", "100000", "--threads", "1"}, "benchmarking ", syscall.SIGTERM},
		{"fetch", []string{"fetch", "--symbol", "BTC-USD"}, "", syscall.SIGINT},
		{"retrain", []string{"retrain", "--config", cfg, "--out", filepath.Join(home, "re")}, "", syscall.SIGTERM},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, c.args...)
			cmd.Env = append(os.Environ(), "CLOSECAST_HOME="+home, "CLOSECAST_YAHOO_URL="+hanging.URL)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout = io.Discard
			before := hanging.Requests()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string, 64)
			var tail strings.Builder
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					select {
					case lines <- sc.Text():
					default:
					}
				}
				close(lines)
			}()
			guard := time.After(5 * time.Minute) // hang guard only
			started := false
			for !started {
				if c.wait == "" {
					started = hanging.Requests() > before
					if !started {
						select {
						case <-guard:
							cmd.Process.Kill()
							t.Fatal("the command never reached Yahoo")
						case <-time.After(5 * time.Millisecond):
						}
					}
					continue
				}
				select {
				case l, ok := <-lines:
					if !ok {
						cmd.Wait()
						t.Fatalf("the command ended before working: %s", tail.String())
					}
					tail.WriteString(l + "\n")
					started = strings.Contains(l, c.wait)
				case <-guard:
					cmd.Process.Kill()
					t.Fatal("the command never started working")
				}
			}
			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			go func() {
				for l := range lines {
					_ = l
				}
			}()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(2 * time.Minute): // hang guard only
				cmd.Process.Kill()
				t.Fatalf("%s did not stop after %v", c.name, c.sig)
			}
			want := 128 + int(c.sig)
			if got := cmd.ProcessState.ExitCode(); got != want {
				t.Fatalf("%s after %v: exit %d, want %d", c.name, c.sig, got, want)
			}
		})
	}
	// train kept the best weights it had: a loadable artifact.
	if _, err := artifact.Read(trainOut); err != nil {
		t.Fatalf("the interrupted train left no model: %v", err)
	}
}

// A panic anywhere in a command is one line on stderr and a non-zero exit,
// never a Go stack trace.
func TestPanicIsOneLineNotAStackTrace(t *testing.T) {
	boom := &command{name: "boom", run: func(ctx context.Context, c *command, e *env, args []string) error {
		var xs []int
		xs[len(args)] = 1 // an index out of range: a runtime panic
		return nil
	}}
	commands = append(commands, boom)
	defer func() { commands = commands[:len(commands)-1] }()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"boom"}, &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
	msg := errb.String()
	if code != 70 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "closecast boom: internal error: runtime error: index out of range [0] with length 0") ||
		strings.Contains(msg, "goroutine") {
		t.Fatalf("exit %d, stderr %q; want 70 and one line", code, msg)
	}
}

// Absurd config values are a one-line error naming the field, before
// anything is allocated: no out-of-memory crash, no truncated epochs.
func TestTrainRefusesOutOfBoundsConfig(t *testing.T) {
	dir := t.TempDir()
	for extra, field := range map[string]string{"batch_size: 1000000000\n": "batch_size", "epochs: 2.9\n": "epochs"} {
		cfg := filepath.Join(dir, field+".yaml")
		if err := os.WriteFile(cfg, []byte(strings.Replace(smallConfig, "epochs: 2\nbatch_size: 64\n", "", 1)+extra), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"train", "--config", cfg, "--out", filepath.Join(dir, "out")},
			&env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
		if code != 1 || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), "config field "+field) {
			t.Errorf("%q: exit %d, stderr %q; want 1 and one line naming %s", extra, code, errb.String(), field)
		}
	}
}
