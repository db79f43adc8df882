package artifact

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/features"
	"github.com/closecast/closecast/lstm"
	"github.com/closecast/closecast/metrics"
	"github.com/closecast/closecast/pipeline"
)

func testModel(t *testing.T) *Model {
	t.Helper()
	net, err := lstm.New(lstm.Config{Features: 2, Units: []int{4, 3}, Dropout: 0.1, Outputs: 1}, 7)
	if err != nil {
		t.Fatal(err)
	}
	return &Model{
		Meta: Metadata{Name: "test", Symbol: "BTC-USD"},
		Pipeline: &pipeline.Pipeline{
			Features: []string{"close", "log_return_1d"}, Target: features.TargetLogReturn, Window: 5, Warmup: 1,
			Inputs: features.MinMaxScaler{Min: []float64{100, -0.1}, Max: []float64{200, 0.1}},
			Output: features.MinMaxScaler{Min: []float64{-0.1}, Max: []float64{0.1}},
			Net:    net,
		},
	}
}

func bars(n int) []closecast.Bar {
	out := make([]closecast.Bar, n)
	for i := range out {
		c := 150 + 10*float64(i%7) - float64(i%3)
		out[i] = closecast.Bar{Date: closecast.Date(18000 + i), Open: c, High: c + 1, Low: c - 1, Close: c, Volume: 1}
	}
	return out
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	m := testModel(t)
	if err := Write(dir, m, func(tmp string) error { return os.WriteFile(filepath.Join(tmp, "loss.svg"), []byte("<svg/>"), 0o644) }); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Meta.Version, "btc-usd-test-") || got.Meta.Version != m.Meta.Version {
		t.Errorf("version %q vs %q", got.Meta.Version, m.Meta.Version)
	}
	if _, ok := got.Meta.Files["loss.svg"]; !ok {
		t.Error("extra file not checksummed")
	}
	b := bars(30)
	idx := []int{6, 17, 29}
	want, err := m.Pipeline.PredictAt(b, idx)
	if err != nil {
		t.Fatal(err)
	}
	have, err := got.Pipeline.PredictAt(b, idx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if want[i] != have[i] {
			t.Fatalf("prediction %d: %v after reload, %v before", i, have[i], want[i])
		}
	}
	// Rewriting replaces the directory as a whole.
	m.Meta.Name = "second"
	if err := Write(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "loss.svg")); !os.IsNotExist(err) {
		t.Error("old artifact's files survived a rewrite")
	}
	// Beside the link: the current version and the previous one (kept for
	// a reader that resolved the link just before the swap), nothing else.
	entries, _ := os.ReadDir(filepath.Dir(dir))
	versions := 0
	for _, e := range entries {
		switch {
		case e.Name() == "m":
		case strings.HasPrefix(e.Name(), ".m.v-"):
			versions++
		default:
			t.Errorf("temporary entry left behind: %s", e.Name())
		}
	}
	if versions != 2 {
		t.Errorf("%d version directories beside the link, want the current and the previous", versions)
	}
}

func TestReadRejectsDamage(t *testing.T) {
	cases := []struct {
		name   string
		damage func(dir string)
		want   error
		says   string
	}{
		{"truncated weights", func(dir string) {
			p := filepath.Join(dir, WeightsFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, ErrCorrupt, WeightsFile},
		{"missing weights", func(dir string) { os.Remove(filepath.Join(dir, WeightsFile)) }, ErrCorrupt, "missing"},
		{"edited metadata", func(dir string) {
			editJSON(t, dir, func(m map[string]any) { m["window"] = 6.0 })
		}, ErrCorrupt, "edited"},
		{"truncated metadata", func(dir string) {
			p := filepath.Join(dir, MetadataFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-40], 0o644)
		}, ErrCorrupt, "truncated"},
		{"newer schema", func(dir string) {
			editJSON(t, dir, func(m map[string]any) { m["schema_version"] = 99.0 })
		}, ErrIncompatible, "schema version 99"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			if err := Write(dir, testModel(t), nil); err != nil {
				t.Fatal(err)
			}
			c.damage(dir)
			_, err := Read(dir)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want %v saying %q", err, c.want, c.says)
			}
		})
	}
}

// editJSON rewrites model.json through f without fixing its checksum.
func editJSON(t *testing.T, dir string, f func(map[string]any)) {
	p := filepath.Join(dir, MetadataFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	enc.Encode(m)
	os.WriteFile(p, out.Bytes(), 0o644)
}

// /api/model's view keeps every field but replaces the calibration's
// scores by what they cover.
func TestSummaryDropsCalibrationScores(t *testing.T) {
	md := Metadata{Name: "m", Version: "v1", Calibration: &pipeline.Calibration{From: 10, To: 19, Scores: [][]float32{{-1, 0, 1}, {-2, 2}}}}
	b, err := json.Marshal(md.Summary())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if string(got["version"]) != `"v1"` || string(got["calibration"]) != `{"from":"1970-01-11","to":"1970-01-20","days":3,"horizon":2}` {
		t.Errorf("summary %s", b)
	}
	if md.Calibration.Scores == nil {
		t.Error("Summary changed the metadata")
	}
}

// A model written before persistence's direction hit rate was undefined
// stored it as 0; it reads back as undefined (null in /api/model), its
// checksum still valid, and the other figures unchanged.
func TestReadUndefinesPersistenceDirection(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	m := testModel(t)
	old := metrics.Metrics{MAE: 10, RMSE: 12, MAPE: 1, SMAPE: 1, MASE: 1, Direction: 0}
	ma7 := metrics.Metrics{MAE: 20, RMSE: 22, MAPE: 2, SMAPE: 2, MASE: 2, Direction: 48}
	m.Meta.Metrics.Holdout = &Evaluation{N: 3, Model: ma7, Persistence: old, MA7: ma7}
	if err := Write(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(dir, MetadataFile))
	if err != nil || !strings.Contains(string(doc), `"direction": 0`) {
		t.Fatalf("the old-style file does not store a 0 direction (%v)", err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatalf("an old model with a 0 direction no longer reads: %v", err)
	}
	h := got.Meta.Metrics.Holdout
	if !math.IsNaN(h.Persistence.Direction) || h.Persistence.MAE != 10 || h.MA7.Direction != 48 || h.Model.Direction != 48 {
		t.Errorf("read back persistence %+v, ma7 %+v, model %+v; want only persistence's direction undefined", h.Persistence, h.MA7, h.Model)
	}
	js, err := json.Marshal(got.Meta.Summary())
	if err != nil || !strings.Contains(string(js), `"persistence":{"mae":10,"rmse":12,"mape":1,"smape":1,"mase":1,"direction":null}`) {
		t.Errorf("/api/model view %s (%v), want persistence's direction null", js, err)
	}
}

// TestEncodeIsWhatWriteStores: Encode's files are, byte for byte, the
// directory Write stores for the same model, and Verify loads them back
// into a pipeline that forecasts as the original does.
func TestEncodeIsWhatWriteStores(t *testing.T) {
	m := testModel(t)
	files, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "m")
	if err := Write(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	stored, err := ReadFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || len(stored) != len(files) {
		t.Fatalf("Encode gave %v, Write stored %v", files.Names(), stored.Names())
	}
	for name, b := range stored {
		if !bytes.Equal(files[name], b) {
			t.Errorf("%s: Encode's %d bytes differ from Write's %d", name, len(files[name]), len(b))
		}
	}
	got, err := Verify(files)
	if err != nil {
		t.Fatal(err)
	}
	b := bars(30)
	idx := []int{6, 17, 29}
	want, err := m.Pipeline.PredictAt(b, idx)
	if err != nil {
		t.Fatal(err)
	}
	have, err := got.Pipeline.PredictAt(b, idx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if want[i] != have[i] {
			t.Fatalf("prediction %d: %v after Encode and Verify, %v before", i, have[i], want[i])
		}
	}
}
