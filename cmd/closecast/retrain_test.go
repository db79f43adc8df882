package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/features"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/yahoo"
	"github.com/closecast/closecast/yahoo/yahootest"
)

// retrainGrowth is the daily log return of the bars the fake Yahoo serves after
// the embedded data: the close rises exactly 1 % a day.
var retrainGrowth = math.Log(1.01)

// retrainYahoo serves the embedded BTC-USD history plus n days rising 1 %
// a day, with a clock in the middle of the day after those.
func retrainYahoo(t *testing.T, n int) (*yahootest.Server, closecast.Date) {
	t.Helper()
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	bars := append([]closecast.Bar(nil), s.Bars...)
	last := bars[len(bars)-1]
	c := last.Close
	for k := 1; k <= n; k++ {
		open := c
		c *= 1.01
		bars = append(bars, closecast.Bar{Date: last.Date.AddDays(k), Open: open, High: c * 1.001, Low: open * 0.999, Close: c, Volume: last.Volume})
	}
	srv := yahootest.New()
	t.Cleanup(srv.Close)
	srv.AddBars("BTC-USD", bars)
	srv.Now = func() time.Time { return last.Date.AddDays(n + 1).Time().Add(12 * time.Hour) }
	return srv, last.Date.AddDays(n)
}

// constantChampion writes, under dir, the shipped model with its target
// scaler pinned so that it forecasts last close × e^r every day, whatever
// the network says: a champion whose accuracy on the rising days is known
// by construction.
func constantChampion(t *testing.T, r float64) string {
	t.Helper()
	m, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.Target != string(features.TargetLogReturn) {
		t.Fatalf("shipped model predicts %s; this test needs a log_return model", m.Meta.Target)
	}
	m.Meta.Name = "pinned"
	m.Pipeline.Output = features.MinMaxScaler{Min: []float64{r}, Max: []float64{r + 1e-12}}
	dir := filepath.Join(t.TempDir(), "champion")
	if err := artifact.Write(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// retrainRun runs "closecast retrain args…" with CLOSECAST_HOME = home,
// pointed at srv; a non-zero exit is an error carrying stderr.
func retrainRun(t *testing.T, home string, srv *yahootest.Server, args ...string) (string, string, error) {
	t.Helper()
	code, out, errOut := cliWith(t, home, srv, append([]string{"retrain"}, args...)...)
	if code != 0 {
		return out, errOut, fmt.Errorf("exit %d: %s", code, errOut)
	}
	return out, errOut, nil
}

type retrainDoc struct {
	Config     string
	RecentDays int `json:"recent_days"`
	Window     struct{ From, To string }
	LastKnown  string `json:"last_known"`
	Fetch      *struct {
		From, To                string
		Fetched, Added, Updated int
	}
	Champion   retrainSide
	Challenger retrainSide
	Promoted   bool
	Reason     string
	Out        string
}

type retrainSide struct {
	Version         string
	Source          string
	DataRange       struct{ From, To string } `json:"data_range"`
	TrainedOnWindow bool                      `json:"trained_on_window"`
	Evaluation      artifact.Evaluation
}

func readRetrainDoc(t *testing.T, path string) (retrainDoc, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d retrainDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return d, b
}

const retrainConfig = `name: small
symbol: BTC-USD
data: {from: 2025-10-01, to: 2025-12-31}
features: [log_return_1d]
target: log_return
window_size: 10
layers: 1
neuronios: 4
epochs: 40
early_stopping: {patience: 10, monitor: tail}
`

// A champion that forecasts a 50 % fall every day loses to any sane
// challenger: the challenger is promoted into the champion's directory.
func TestRetrainPromotesABetterChallenger(t *testing.T) {
	srv, last := retrainYahoo(t, 30)
	home := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "small.yaml")
	if err := os.WriteFile(cfg, []byte(retrainConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	champDir := constantChampion(t, math.Log(0.5))
	old, err := artifact.Read(champDir)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, err := retrainRun(t, home, srv, "--config", cfg, "--model", champDir, "--recent", "20", "--json", "--quiet")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	d, file := readRetrainDoc(t, filepath.Join(champDir, "retrain.json"))
	if out != string(file) {
		t.Errorf("--json output differs from retrain.json:\n%s\nvs\n%s", out, file)
	}
	windowFrom := last.AddDays(-19)
	switch {
	case d.Fetch == nil || d.Fetch.Added != 30 || d.Fetch.From != "2026-04-01":
		t.Errorf("fetch %+v: want the 30 new days from 2026-04-01 added", d.Fetch)
	case d.LastKnown != last.String() || d.Window.From != windowFrom.String() || d.Window.To != last.String() || d.RecentDays != 20:
		t.Errorf("last known %s, window %+v, want %s..%s", d.LastKnown, d.Window, windowFrom, last)
	case !d.Promoted || !strings.Contains(d.Reason, "promoted"):
		t.Errorf("not promoted: %s", d.Reason)
	case d.Out != champDir || d.Champion.Source != champDir || d.Champion.Version != old.Meta.Version:
		t.Errorf("out %s, champion %s from %s", d.Out, d.Champion.Version, d.Champion.Source)
	}
	// Both scored on the same 20 days, beside the same baselines.
	for _, ev := range []artifact.Evaluation{d.Champion.Evaluation, d.Challenger.Evaluation} {
		if ev.N != 20 || ev.From != windowFrom || ev.To != last {
			t.Errorf("evaluation over %d days %s..%s, want 20 days %s..%s", ev.N, ev.From, ev.To, windowFrom, last)
		}
		// Persistence misses a 1 % rise by 1/1.01 of the actual close every day.
		if want := 100 * (1 - 1/1.01); math.Abs(ev.Persistence.MAPE-want) > 1e-9 {
			t.Errorf("persistence MAPE %v, want %v", ev.Persistence.MAPE, want)
		}
	}
	// The pinned champion forecasts 0.5 × last close; the actual is 1.01 × it.
	if want := 100 * (1 - 0.5/1.01); math.Abs(d.Champion.Evaluation.Model.MAPE-want) > 1e-6 {
		t.Errorf("champion MAPE %v, want %v by construction", d.Champion.Evaluation.Model.MAPE, want)
	}
	if !(d.Challenger.Evaluation.Model.MAPE < d.Champion.Evaluation.Model.MAPE) {
		t.Errorf("promoted with MAPE %v vs champion %v", d.Challenger.Evaluation.Model.MAPE, d.Champion.Evaluation.Model.MAPE)
	}
	// The challenger trained up to the day before the window, never in it.
	if d.Challenger.DataRange.To != windowFrom.AddDays(-1).String() || d.Challenger.TrainedOnWindow {
		t.Errorf("challenger data %+v reaches the window from %s", d.Challenger.DataRange, windowFrom)
	}
	// The champion's directory now holds the challenger, verified on read,
	// and retrain.json does not break the artifact's checksums.
	m, err := artifact.Read(champDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.Version != d.Challenger.Version || m.Meta.Version == old.Meta.Version {
		t.Errorf("artifact %s after promotion, retrain.json says %s (champion was %s)", m.Meta.Version, d.Challenger.Version, old.Meta.Version)
	}
	if v := m.Meta.Metrics.Validation; v == nil || v.From != windowFrom || v.Model.MAPE != d.Challenger.Evaluation.Model.MAPE {
		t.Errorf("promoted artifact's validation %+v, want the duel window's scores", v)
	}
	if m.Meta.Config.Data.To != windowFrom-1 {
		t.Errorf("promoted artifact's config data.to %s", m.Meta.Config.Data.To)
	}
	// The fetched days are in the store: an offline run sees them too.
	_, errOut, err = retrainRun(t, home, srv, "--config", cfg, "--model", champDir, "--recent", "20", "--offline", "--quiet")
	if err != nil {
		t.Fatalf("offline: %v\n%s", err, errOut)
	}
	d2, _ := readRetrainDoc(t, filepath.Join(champDir, "retrain.json"))
	if d2.Fetch != nil || d2.LastKnown != last.String() {
		t.Errorf("offline run: fetch %+v, last known %s", d2.Fetch, d2.LastKnown)
	}
	// The same config on the same data trains the same challenger: now the
	// champion, and a tie keeps it.
	if d2.Promoted || d2.Champion.Version != d.Challenger.Version || d2.Challenger.Version != d.Challenger.Version {
		t.Errorf("re-run: promoted %v, champion %s, challenger %s: want a kept champion equal to the challenger", d2.Promoted, d2.Champion.Version, d2.Challenger.Version)
	}
}

// A champion that forecasts the 1 % rise exactly cannot be beaten: nothing
// is promoted, the champion is untouched, and the decision is still written.
func TestRetrainKeepsABetterChampion(t *testing.T) {
	srv, last := retrainYahoo(t, 30)
	cfg := filepath.Join(t.TempDir(), "small.yaml")
	if err := os.WriteFile(cfg, []byte(retrainConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	champDir := constantChampion(t, retrainGrowth)
	before, err := os.ReadFile(filepath.Join(champDir, artifact.MetadataFile))
	if err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(t.TempDir(), "candidate")
	stdout, errOut, err := retrainRun(t, t.TempDir(), srv, "--config", cfg, "--model", champDir, "--out", outDir, "--recent", "20")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "training challenger small on 2025-10-01..") || !strings.Contains(errOut, "epoch") {
		t.Errorf("stderr lacks the progress:\n%s", errOut)
	}
	d, _ := readRetrainDoc(t, filepath.Join(outDir, "retrain.json"))
	if d.Promoted || !strings.Contains(d.Reason, "champion kept") {
		t.Errorf("promoted: %s", d.Reason)
	}
	if mape := d.Champion.Evaluation.Model.MAPE; !(mape < 1e-6) {
		t.Errorf("champion MAPE %v, want ≈ 0 by construction", mape)
	}
	if !(d.Challenger.Evaluation.Model.MAPE > d.Champion.Evaluation.Model.MAPE) || d.Challenger.Version == "" {
		t.Errorf("challenger %s MAPE %v vs champion %v", d.Challenger.Version, d.Challenger.Evaluation.Model.MAPE, d.Champion.Evaluation.Model.MAPE)
	}
	if d.Champion.Evaluation.N != 20 || d.Challenger.Evaluation.N != 20 || d.Window.To != last.String() {
		t.Errorf("scored %d / %d days up to %s", d.Champion.Evaluation.N, d.Challenger.Evaluation.N, d.Window.To)
	}
	// Nothing promoted: no artifact in --out, the champion byte for byte as it was.
	if _, err := os.Stat(filepath.Join(outDir, artifact.MetadataFile)); err == nil {
		t.Errorf("%s holds an artifact although nothing was promoted", outDir)
	}
	after, err := os.ReadFile(filepath.Join(champDir, artifact.MetadataFile))
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("champion changed: %v", err)
	}
	for _, s := range []string{"champion kept", "champion " + d.Champion.Version, "persistence", "decision: " + filepath.Join(outDir, "retrain.json")} {
		if !strings.Contains(stdout, s) {
			t.Errorf("output lacks %q:\n%s", s, stdout)
		}
	}
}

func TestRetrainErrors(t *testing.T) {
	srv, _ := retrainYahoo(t, 5)
	cfg := filepath.Join(t.TempDir(), "small.yaml")
	if err := os.WriteFile(cfg, []byte(retrainConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--recent", "5"}, "--config is required"},
		{[]string{"--config", cfg, "--recent", "0"}, "--recent must be"},
		{[]string{"--config", cfg, "--offline", "--recent", "400"}, "leaves nothing to train on"},
		{[]string{"--config", cfg, "--model", filepath.Join(t.TempDir(), "none")}, "champion"},
	} {
		_, _, err := retrainRun(t, t.TempDir(), srv, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
	// Yahoo down: a clear error pointing at --offline, nothing written.
	srv.Reset()
	for range yahoo.DefaultAttempts {
		srv.Inject(yahootest.ServerError(503))
	}
	outDir := filepath.Join(t.TempDir(), "out")
	_, _, err := retrainRun(t, t.TempDir(), srv, "--config", cfg, "--out", outDir, "--recent", "5")
	if err == nil || !strings.Contains(err.Error(), "--offline") {
		t.Errorf("Yahoo down: %v", err)
	}
	if _, err := os.Stat(outDir); err == nil {
		t.Errorf("%s created by a failed retrain", outDir)
	}
}
