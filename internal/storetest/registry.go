package storetest

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/features"
	"github.com/closecast/closecast/lstm"
	"github.com/closecast/closecast/pipeline"
)

// modelFiles writes a small real artifact of symbol (its weights drawn from
// seed, so the seed makes the version) created at created, and returns its
// files.
func modelFiles(t testing.TB, symbol string, seed uint64, created time.Time) artifact.Files {
	t.Helper()
	net, err := lstm.New(lstm.Config{Features: 2, Units: []int{4}, Outputs: 1}, seed)
	if err != nil {
		t.Fatal(err)
	}
	m := &artifact.Model{
		Meta: artifact.Metadata{Name: "test", Symbol: symbol, Created: created},
		Pipeline: &pipeline.Pipeline{
			Features: []string{"close", "log_return_1d"}, Target: features.TargetLogReturn, Window: 5, Warmup: 1,
			Inputs: features.MinMaxScaler{Min: []float64{100, -0.1}, Max: []float64{200, 0.1}},
			Output: features.MinMaxScaler{Min: []float64{-0.1}, Max: []float64{0.1}},
			Net:    net,
		},
	}
	dir := filepath.Join(t.TempDir(), "m"+strconv.FormatUint(seed, 10))
	if err := artifact.Write(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	files, err := artifact.ReadFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// versions returns the versions of infos, in order.
func versions(infos []closecast.ModelInfo) []string {
	out := make([]string, len(infos))
	for i, m := range infos {
		out[i] = m.Version
	}
	return out
}

// champions returns the versions marked champion in infos.
func champions(infos []closecast.ModelInfo) []string {
	var out []string
	for _, m := range infos {
		if m.Champion {
			out = append(out, m.Version)
		}
	}
	return out
}

func equalFiles(a, b artifact.Files) bool {
	if len(a) != len(b) {
		return false
	}
	for name, x := range a {
		if y, ok := b[name]; !ok || !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}

func testRegistry(t *testing.T, b Backend) {
	ctx := context.Background()
	s, _ := open(t, b)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fa := modelFiles(t, "BTC-USD", 1, t0)
	fb := modelFiles(t, "btc-usd", 2, t0.Add(24*time.Hour))
	fe := modelFiles(t, "ETH-USD", 3, t0)

	if _, err := s.Champion(ctx, "BTC-USD"); !errors.Is(err, closecast.ErrModelNotFound) {
		t.Fatalf("champion of an empty registry: %v; want ErrModelNotFound", err)
	}
	a, err := s.PutModel(ctx, fa)
	if err != nil {
		t.Fatal(err)
	}
	if a.Symbol != "BTC-USD" || !a.Created.Equal(t0) || a.Champion || a.Size != fa.Size() || a.Checksum == "" ||
		!bytes.Contains(a.Metrics, []byte("{")) || a.Pushed.IsZero() {
		t.Fatalf("pushed model info %+v", a)
	}
	bi, err := s.PutModel(ctx, fb)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.PutModel(ctx, fe)
	if err != nil {
		t.Fatal(err)
	}
	if bi.Version == a.Version || bi.Symbol != "BTC-USD" {
		t.Fatalf("second model %+v; want a new version of BTC-USD", bi)
	}
	list, err := s.Models(ctx, "btc-usd")
	if want := []string{bi.Version, a.Version}; err != nil || !slices.Equal(versions(list), want) || len(champions(list)) != 0 {
		t.Fatalf("models of BTC-USD: %v (champions %v), %v; want %v newest first, no champion", versions(list), champions(list), err, want)
	}
	if all, err := s.Models(ctx, ""); err != nil || len(all) != 3 {
		t.Fatalf("all models: %v, %v; want 3", versions(all), err)
	}

	// Promote a, then b: one champion per symbol, ETH-USD untouched.
	if p, err := s.Promote(ctx, a.Version); err != nil || !p.Champion || p.Version != a.Version {
		t.Fatalf("promote: %+v, %v", p, err)
	}
	if c, err := s.Champion(ctx, "BTC-USD"); err != nil || c.Version != a.Version || !c.Champion {
		t.Fatalf("champion %+v, %v; want %s", c, err, a.Version)
	}
	if _, err := s.Promote(ctx, bi.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Promote(ctx, e.Version); err != nil {
		t.Fatal(err)
	}
	list, _ = s.Models(ctx, "BTC-USD")
	if got := champions(list); !slices.Equal(got, []string{bi.Version}) {
		t.Fatalf("BTC-USD champions after promoting b: %v; want only %s", got, bi.Version)
	}
	if c, err := s.Champion(ctx, "ETH-USD"); err != nil || c.Version != e.Version {
		t.Fatalf("ETH-USD champion %+v, %v", c, err)
	}
	if _, err := s.Promote(ctx, "btc-usd-test-000000000000"); !errors.Is(err, closecast.ErrModelNotFound) {
		t.Fatalf("promoting an unknown version: %v; want ErrModelNotFound", err)
	}
	if c, _ := s.Champion(ctx, "BTC-USD"); c.Version != bi.Version {
		t.Fatalf("a failed promotion changed the champion to %s", c.Version)
	}

	// Get returns the files byte for byte, verified.
	info, files, err := s.Model(ctx, a.Version)
	if err != nil || !equalFiles(files, fa) || info.Version != a.Version || info.Champion || info.Checksum != a.Checksum {
		t.Fatalf("get %s: %+v, %d files, %v; want the pushed files", a.Version, info, len(files), err)
	}
	if _, err := artifact.Verify(files); err != nil {
		t.Fatalf("the files read back do not verify: %v", err)
	}
	if _, _, err := s.Model(ctx, "nope"); !errors.Is(err, closecast.ErrModelNotFound) {
		t.Fatalf("get of an unknown version: %v; want ErrModelNotFound", err)
	}

	// A challenger stored and promoted in one step.
	fc := modelFiles(t, "BTC-USD", 4, t0.Add(48*time.Hour))
	c, err := s.PutChampion(ctx, fc)
	if err != nil || !c.Champion {
		t.Fatalf("put champion: %+v, %v", c, err)
	}
	if got, _ := s.Champion(ctx, "BTC-USD"); got.Version != c.Version {
		t.Fatalf("champion %s after PutChampion, want %s", got.Version, c.Version)
	}
	// A challenger that fails verification is neither stored nor promoted.
	bad := modelFiles(t, "BTC-USD", 5, t0.Add(72*time.Hour))
	bad[artifact.WeightsFile] = append(slices.Clone(bad[artifact.WeightsFile]), 0)
	if _, err := s.PutChampion(ctx, bad); !errors.Is(err, artifact.ErrCorrupt) {
		t.Fatalf("put champion of a damaged model: %v; want artifact.ErrCorrupt", err)
	}
	if got, _ := s.Champion(ctx, "BTC-USD"); got.Version != c.Version {
		t.Fatalf("a refused challenger changed the champion to %s", got.Version)
	}
	if list, _ := s.Models(ctx, "BTC-USD"); len(list) != 3 {
		t.Fatalf("a refused challenger was stored: %v", versions(list))
	}
}

func testRegistryDamage(t *testing.T, b Backend) {
	ctx := context.Background()
	s, addr := open(t, b)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Refused on the way in: an edited file, a file model.json does not
	// list, a missing one.
	edited := modelFiles(t, "BTC-USD", 1, t0)
	edited[artifact.MetadataFile] = bytes.Replace(edited[artifact.MetadataFile], []byte(`"test"`), []byte(`"tset"`), 1)
	extra := modelFiles(t, "BTC-USD", 1, t0)
	extra["notes.txt"] = []byte("unchecked")
	missing := modelFiles(t, "BTC-USD", 1, t0)
	delete(missing, artifact.WeightsFile)
	// A name that `models pull` would write outside its directory.
	escape := modelFiles(t, "BTC-USD", 1, t0)
	escape["../model.safetensors"] = escape[artifact.WeightsFile]
	for name, f := range map[string]artifact.Files{"edited model.json": edited, "unlisted file": extra,
		"missing weights": missing, "path as a name": escape} {
		if _, err := s.PutModel(ctx, f); err == nil {
			t.Errorf("%s: pushed", name)
		}
	}
	if list, err := s.Models(ctx, ""); err != nil || len(list) != 0 {
		t.Fatalf("refused pushes stored %v, %v", versions(list), err)
	}
	// Refused on the way out: weights damaged in the database (swapped with
	// another model's, so only the checksum can tell).
	a, err := s.PutModel(ctx, modelFiles(t, "BTC-USD", 1, t0))
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.PutModel(ctx, modelFiles(t, "BTC-USD", 2, t0))
	if err != nil {
		t.Fatal(err)
	}
	b.Exec(t, addr, `UPDATE model_files SET data = (SELECT data FROM model_files WHERE version = '`+other.Version+
		`' AND name = 'model.safetensors') WHERE version = '`+a.Version+`' AND name = 'model.safetensors'`)
	if _, _, err := s.Model(ctx, a.Version); !errors.Is(err, artifact.ErrCorrupt) {
		t.Fatalf("get of a model damaged in the database: %v; want artifact.ErrCorrupt", err)
	}
	if _, files, err := s.Model(ctx, other.Version); err != nil || len(files) == 0 {
		t.Fatalf("the undamaged model: %v", err)
	}
}

func testRegistryConflict(t *testing.T, b Backend) {
	ctx := context.Background()
	s, _ := open(t, b)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f := modelFiles(t, "BTC-USD", 1, t0)
	first, err := s.PutModel(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.PutModel(ctx, f)
	if err != nil || again.Version != first.Version || !again.Pushed.Equal(first.Pushed) {
		t.Fatalf("pushing the same model again: %+v, %v; want the stored one unchanged", again, err)
	}
	// The same weights (so the same version) in another model.json.
	other := modelFiles(t, "BTC-USD", 1, t0.Add(time.Hour))
	if _, err := s.PutModel(ctx, other); !errors.Is(err, closecast.ErrModelConflict) {
		t.Fatalf("pushing another model under a stored version: %v; want ErrModelConflict", err)
	}
	if _, files, err := s.Model(ctx, first.Version); err != nil || !equalFiles(files, f) {
		t.Fatalf("after a refused conflicting push the stored model is not the first: %v", err)
	}
}
