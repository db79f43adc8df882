package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/internal/pgtest"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/postgres"
)

// recordedRE reads closecast_ledger_recorded_total from /metrics.
var recordedRE = regexp.MustCompile(`(?m)^closecast_ledger_recorded_total (\d+)$`)

// TestServeDBSIGKILLLosesNothingRecorded runs the real `closecast serve
// --db postgres://…` binary, asks /predict for live forecasts (each embedded
// symbol's next day: distinct ledger rows), waits until /metrics counts them
// as recorded (the ledger batch committed), kills the process with SIGKILL
// (no flush, no shutdown) and checks that PostgreSQL holds every one of
// those forecasts, with the model and value that were answered. The waits
// are hang guards only.
func TestServeDBSIGKILLLosesNothingRecorded(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatalf("building closecast: %v", err)
	}
	url := pgtest.NewDatabase(t)
	cmd := exec.Command(bin, "serve", "--offline", "--addr", "127.0.0.1:0", "--db", url)
	cmd.Env = append(os.Environ(), "CLOSECAST_HOME="+t.TempDir())
	cmd.Stdout = io.Discard
	var tail lockedBuffer
	cmd.Stderr = &tail
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	var base string
	for guard := time.Now().Add(2 * time.Minute); base == ""; { // hang guard only
		if m := servingRE.FindStringSubmatch(tail.String()); m != nil {
			base = "http://" + m[1]
		} else if time.Now().After(guard) {
			t.Fatalf("serve never listened: %s", tail.String())
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Live forecasts (no actual close yet): the one day past each embedded
	// symbol's data, which the out_of_range answer to a far day names. Each
	// is its own ledger row.
	type answer struct {
		Date   closecast.Date `json:"date"`
		Model  string         `json:"model"`
		Value  float64        `json:"prediction"`
		Actual *float64       `json:"actual"`
	}
	type key struct {
		sym  string
		date closecast.Date
	}
	want := map[key]answer{}
	for _, sym := range models.Symbols() {
		var refused struct {
			Valid struct{ To closecast.Date } `json:"valid"`
		}
		code, body := get(base + "/predict?symbol=" + sym + "&date=2100-01-01")
		if code != 422 || json.Unmarshal([]byte(body), &refused) != nil || refused.Valid.To == 0 {
			t.Fatalf("%s: far day: %d %s, want out_of_range naming the last day", sym, code, body)
		}
		code, body = get(base + "/predict?symbol=" + sym + "&date=" + refused.Valid.To.String())
		var a answer
		if code != 200 || json.Unmarshal([]byte(body), &a) != nil {
			t.Fatalf("/predict %s %s: %d %s\n%s", sym, refused.Valid.To, code, body, tail.String())
		}
		if a.Actual != nil {
			t.Fatalf("/predict %s %s is not a live forecast (actual %v)", sym, a.Date, *a.Actual)
		}
		want[key{sym, a.Date}] = a
	}
	if len(want) < 2 {
		t.Fatalf("only %d live forecasts: %v", len(want), want)
	}

	recorded := 0
	guard := time.Now().Add(2 * time.Minute) // hang guard only
	for recorded < len(want) {
		_, body := get(base + "/metrics")
		if m := recordedRE.FindStringSubmatch(body); m != nil {
			recorded, _ = strconv.Atoi(m[1])
		}
		if recorded >= len(want) {
			break
		}
		if time.Now().After(guard) {
			t.Fatalf("/metrics counts %d recorded, want %d\n%s", recorded, len(want), tail.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	killed = true
	if ee, ok := err.(*exec.ExitError); !ok || !strings.Contains(ee.String(), "killed") {
		t.Fatalf("serve did not die of SIGKILL: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, err := db.LedgerEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[key]closecast.LedgerEntry{}
	for _, e := range entries {
		got[key{e.Symbol, e.Date}] = e
	}
	for d, a := range want {
		e, ok := got[d]
		switch {
		case !ok:
			t.Errorf("the forecast for %v was counted as recorded but is not in the ledger after SIGKILL", d)
		case e.Model != a.Model || e.Value != a.Value:
			t.Errorf("ledger row for %v: model %s value %v, answered %s %v", d, e.Model, e.Value, a.Model, a.Value)
		}
	}
	if t.Failed() {
		t.Logf("ledger: %+v", entries)
	}
}
