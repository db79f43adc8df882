// Package artifact reads and writes a trained model as one directory: all
// that prediction needs, and the evidence of how good it is.
//
//	model.safetensors  the network's weights (PyTorch names and layouts; see package lstm)
//	model.json         Metadata: schema version, pipeline (features, target, window,
//	                   scalers), training config, data range and SHA-256, metrics,
//	                   loss curve, hold-out/validation predictions, file checksums
//	*.svg, *.png       plots written by `closecast train`
//
// A global model (config symbols: one network trained on several markets)
// is the same directory: model.json's top-level symbol, scalers,
// calibration, ranges, metrics and predictions are its first market's, so
// a reader that knows one market reads it as that market's model, and
// "markets" lists every market, the first included, each with its own
// scalers, calibration, data range and checksum, metrics and predictions.
// Model.For picks one. Its schema version is GlobalSchemaVersion, so an
// older build refuses it instead of reading the first market alone.
//
// A directory is written to a temporary sibling and renamed into place, so a
// reader never sees half of one. Read verifies every checksum and the schema
// version, and says which check failed.
package artifact

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/features"
	"github.com/closecast/closecast/internal/atomicfile"
	"github.com/closecast/closecast/internal/readlimit"
	"github.com/closecast/closecast/lstm"
	"github.com/closecast/closecast/metrics"
	"github.com/closecast/closecast/pipeline"
)

// SchemaVersion is the model.json layout this build writes and reads. Read
// rejects other versions instead of guessing at their meaning. Version 2
// added the direct head (config horizon, one target scaler column per
// output) and the conformal calibration.
const SchemaVersion = 2

// GlobalSchemaVersion is the model.json layout of a global model: version
// 2 plus "markets". Single-market models keep SchemaVersion, so their
// files are unchanged.
const GlobalSchemaVersion = 3

// File names inside an artifact directory.
const (
	WeightsFile  = "model.safetensors"
	MetadataFile = "model.json"
)

// Model is a loaded artifact.
type Model struct {
	Meta     Metadata
	Pipeline *pipeline.Pipeline
}

// Metadata is model.json.
type Metadata struct {
	SchemaVersion    int       `json:"schema_version"`
	Version          string    `json:"version"` // <symbol>-<name>-<first 12 hex of the weights' SHA-256>
	ClosecastVersion string    `json:"closecast_version"`
	Created          time.Time `json:"created"`
	Name             string    `json:"name"`
	Symbol           string    `json:"symbol"`

	Architecture Architecture `json:"architecture"`
	Features     []string     `json:"features"`
	Target       string       `json:"target"`
	Window       int          `json:"window"`
	Warmup       int          `json:"warmup"`
	Scaler       Scaler       `json:"scaler"`        // inputs, one entry per feature, in feature order
	TargetScaler Scaler       `json:"target_scaler"` // the target, one column per head output (day t+j)
	// Calibration holds the model's volatility-scaled errors on the
	// held-back tail, for conformal intervals; absent without a tail.
	Calibration *pipeline.Calibration `json:"calibration,omitempty"`
	// QuantileHead describes a quantile head's outputs; absent for a point
	// model (and in every artifact written before quantile heads).
	QuantileHead *QuantileHead `json:"quantile_head,omitempty"`

	// Markets lists every market of a global model, the first being the
	// one the top-level fields describe; absent for a single-market model.
	Markets []Market `json:"markets,omitempty"`

	Config     config.Config `json:"config"`
	TrainRange config.Range  `json:"train_range"` // dates of the first and last training target
	DataRange  config.Range  `json:"data_range"`  // bars loaded
	DataSHA256 string        `json:"data_sha256"` // of the loaded bars, CSV-encoded

	Training Training `json:"training"`
	Metrics  Metrics  `json:"metrics"`
	// LossCurve holds one value per epoch trained.
	LossCurve   LossCurve   `json:"loss_curve"`
	Predictions Predictions `json:"predictions"`

	// Files maps each file of the directory but model.json to its SHA-256.
	Files map[string]string `json:"files"`
	// Checksum is the SHA-256 of this document encoded with Checksum empty.
	Checksum string `json:"checksum"`
}

// Market is one market of a global model: what is its own beside the
// shared network. The fields mean what Metadata's of the same name mean
// for a single-market model.
type Market struct {
	Symbol       string                `json:"symbol"`
	Scaler       Scaler                `json:"scaler"`
	TargetScaler Scaler                `json:"target_scaler"`
	Calibration  *pipeline.Calibration `json:"calibration,omitempty"`
	TrainRange   config.Range          `json:"train_range"`
	DataRange    config.Range          `json:"data_range"`
	DataSHA256   string                `json:"data_sha256"`
	// Windows and TailWindows are this market's share of the pooled
	// training windows and of the tail early stopping watched.
	Windows     int         `json:"windows"`
	TailWindows int         `json:"tail_windows"`
	Metrics     Metrics     `json:"metrics"`
	Predictions Predictions `json:"predictions"`
}

// Architecture describes the network.
type Architecture struct {
	Type     string  `json:"type"` // "lstm"
	Features int     `json:"features"`
	Units    []int   `json:"units"`
	Dropout  float32 `json:"dropout"`
	Outputs  int     `json:"outputs"`
	Params   int     `json:"params"`
}

// QuantileHead describes the outputs of a quantile head: one per level,
// ascending, quantiles of Target (the next log return standardised by its
// EWMA volatility, config.TargetLogReturnEWMAZ), unscaled (no target
// scaler).
type QuantileHead struct {
	Levels []float64 `json:"levels"`
	Target string    `json:"target"`
}

// Scaler is a MinMax scaler's parameters, one entry per column.
type Scaler struct {
	Min []float64 `json:"min"`
	Max []float64 `json:"max"`
}

// Training records how the weights were obtained.
type Training struct {
	Threads       int     `json:"threads"`
	EpochsTrained int     `json:"epochs_trained"`
	BestEpoch     int     `json:"best_epoch"` // 1-based epoch whose weights were kept
	Seconds       float64 `json:"seconds"`
	SecondsEpoch  float64 `json:"seconds_per_epoch"`
	Windows       int     `json:"windows"`      // training windows
	Stopped       string  `json:"stopped"`      // "epochs", "early_stopping" or "interrupted"
	Monitor       string  `json:"monitor"`      // what early stopping and Val watched
	TailWindows   int     `json:"tail_windows"` // windows held back for early stopping
}

// Evaluation is one dated evaluation: the model and two naive baselines on
// the same one-step-ahead targets.
type Evaluation struct {
	N           int             `json:"n"`
	From        closecast.Date  `json:"from"`
	To          closecast.Date  `json:"to"`
	Model       metrics.Metrics `json:"model"`
	Persistence metrics.Metrics `json:"persistence"`
	MA7         metrics.Metrics `json:"ma7"`
	// VersusPersistence tests the model against persistence on these days;
	// nil in model.json files written before the test was stored (readers
	// then fall back to metrics.LevelTolerance) or when it is undefined.
	VersusPersistence *Versus `json:"versus_persistence,omitempty"`
}

// Versus is a Diebold–Mariano test (h = 1) of the model's daily absolute
// errors against a baseline's on the same days: whether the data can tell
// their accuracy apart. Verdict is metrics.Tested(DM, P), stored for readers
// of model.json that do not compute it.
type Versus struct {
	DM      float64 `json:"dm"`      // HLN-corrected statistic; negative: the model's errors are lower
	P       float64 `json:"p"`       // two-sided p-value
	N       int     `json:"n"`       // days compared
	Verdict string  `json:"verdict"` // "level" when P ≥ metrics.Significance, else "better" or "worse"
}

// undefinePersistenceDirection marks persistence's direction hit rate
// undefined in every evaluation. Persistence never predicts a move, and
// models written before metrics.Compute said so stored it as 0; it is
// fixed after the checksum is verified, so those files stay valid.
func (md *Metadata) undefinePersistenceDirection() {
	md.Metrics.undefinePersistenceDirection()
	for k := range md.Markets {
		md.Markets[k].Metrics.undefinePersistenceDirection()
	}
}

// undefinePersistenceDirection is Metadata's, for one set of metrics.
func (ms *Metrics) undefinePersistenceDirection() {
	for _, ev := range []*Evaluation{ms.Tuning, ms.Holdout, ms.Validation} {
		if ev != nil {
			ev.Persistence.Direction = math.NaN()
		}
	}
}

// Metrics are the evaluations stored with a model. Tuning is the tail of
// the training part held back for early stopping: the range on which
// configurations may be compared. Holdout and Validation are never used to
// choose anything.
type Metrics struct {
	Tuning     *Evaluation `json:"tuning,omitempty"`
	Holdout    *Evaluation `json:"holdout,omitempty"`
	Validation *Evaluation `json:"validation,omitempty"`
}

// LossCurve is the per-epoch training and validation loss.
type LossCurve struct {
	Train []float64 `json:"train"`
	Val   []float64 `json:"val"`
}

// Point is one dated forecast beside the actual close.
type Point struct {
	Date      closecast.Date `json:"date"`
	Actual    float64        `json:"actual"`
	Predicted float64        `json:"predicted"`
}

// Predictions are the model's one-step-ahead forecasts over the evaluation ranges.
type Predictions struct {
	Holdout    []Point `json:"holdout"`
	Validation []Point `json:"validation"`
}

// Write stores m as directory dir, replacing any existing one only once the
// new one is complete, atomically for readers: dir is a symbolic link to a
// version directory beside it, swapped by a rename (the layout is described
// in internal/atomicfile), so a concurrent Read loads the whole old model or
// the whole new one, never none. A plain directory dir (the earlier layout)
// is read as before and converted on its first replacement. Temporary
// directories left by a killed writer are removed by the next Write. extras, if not nil, is called with the temporary
// directory to add files (plots); they are checksummed like the rest.
// Write fills m.Meta's Version, Files, Checksum and pipeline fields.
func Write(dir string, m *Model, extras func(tmp string) error) error {
	return atomicfile.WriteDir(dir, func(tmp string) error { return m.write(tmp, extras) })
}

// write fills the temporary directory tmp with m's files.
func (m *Model) write(tmp string, extras func(tmp string) error) error {
	weights, err := m.weights()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(tmp, WeightsFile), weights); err != nil {
		return err
	}
	if extras != nil {
		if err := extras(tmp); err != nil {
			return err
		}
	}
	doc, err := m.seal(os.DirFS(tmp), weights)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(tmp, MetadataFile), doc)
}

// Encode returns m as the files Write would store without extras, in
// memory: a model handed to another process (a backtest shard's fold)
// travels in the artifact format and Verify loads it back. Like Write, it
// fills m.Meta's Version, Files, Checksum and pipeline fields.
func Encode(m *Model) (Files, error) {
	weights, err := m.weights()
	if err != nil {
		return nil, err
	}
	files := Files{WeightsFile: weights}
	doc, err := m.seal(files.FS(), weights)
	if err != nil {
		return nil, err
	}
	files[MetadataFile] = doc
	return files, nil
}

// weights returns m's network as safetensors.
func (m *Model) weights() ([]byte, error) {
	var b bytes.Buffer
	if err := m.Pipeline.Net.WriteSafetensors(&b); err != nil {
		return nil, fmt.Errorf("artifact: encoding weights: %w", err)
	}
	return b.Bytes(), nil
}

// seal fills m.Meta for weights and the files of fsys (every file of the
// artifact but model.json) and returns model.json.
func (m *Model) seal(fsys fs.FS, weights []byte) ([]byte, error) {
	m.fillMeta(weights)
	files, err := checksums(fsys)
	if err != nil {
		return nil, err
	}
	m.Meta.Files = files
	return m.Meta.encode()
}

// fillMeta copies the pipeline's parameters into the metadata so that
// model.json alone describes how to rebuild the pipeline.
func (m *Model) fillMeta(weights []byte) {
	p := m.Pipeline
	cfg := p.Net.Config()
	sum := sha256.Sum256(weights)
	m.Meta.SchemaVersion = SchemaVersion
	if len(m.Meta.Markets) > 0 {
		m.Meta.SchemaVersion = GlobalSchemaVersion
	}
	m.Meta.Version = version(m.Meta.Symbol, m.Meta.Name, hex.EncodeToString(sum[:])[:12])
	m.Meta.Architecture = Architecture{Type: "lstm", Features: cfg.Features, Units: cfg.Units,
		Dropout: cfg.Dropout, Outputs: cfg.Outputs, Params: p.Net.NumParams()}
	m.Meta.Features = p.Features
	m.Meta.Target = string(p.Target)
	m.Meta.Window = p.Window
	m.Meta.Warmup = p.Warmup
	m.Meta.Scaler = Scaler{Min: p.Inputs.Min, Max: p.Inputs.Max}
	m.Meta.TargetScaler = Scaler{Min: p.Output.Min, Max: p.Output.Max}
	m.Meta.Calibration = p.Calibration
	m.Meta.QuantileHead = nil
	if p.Quantiles != nil {
		m.Meta.QuantileHead = &QuantileHead{Levels: p.Quantiles, Target: config.TargetLogReturnEWMAZ}
	}
}

// version names a model: <symbol>-<name>-<first 12 hex of the weights' SHA-256>.
func version(symbol, name, weights string) string {
	return fmt.Sprintf("%s-%s-%s", strings.ToLower(symbol), name, weights)
}

// encode returns model.json with its checksum filled in.
func (md *Metadata) encode() ([]byte, error) {
	md.Checksum = ""
	body, err := json.Marshal(md)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	md.Checksum = hex.EncodeToString(sum[:])
	return json.MarshalIndent(md, "", "  ")
}

// Read loads and verifies the artifact in directory dir.
func Read(dir string) (*Model, error) {
	var m *Model
	err := atomicfile.ReadDirStable(dir, func(resolved string) (err error) {
		m, err = ReadFS(os.DirFS(resolved))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	return m, nil
}

// Errors Read wraps, so callers can tell a damaged artifact from an
// incompatible one.
var (
	ErrCorrupt      = errors.New("artifact is damaged")
	ErrIncompatible = errors.New("artifact is incompatible with this closecast")
)

// ReadFS loads and verifies the artifact at the root of fsys (an embedded
// model uses fs.Sub to point at its directory).
func ReadFS(fsys fs.FS) (*Model, error) {
	// Bounded reads of regular files only (see internal/readlimit for the
	// limits): a model.json linked to /dev/zero is refused, not read forever.
	doc, err := readlimit.ReadFS(fsys, MetadataFile, readlimit.Metadata)
	if err != nil {
		return nil, err
	}
	var md Metadata
	if err := json.Unmarshal(doc, &md); err != nil {
		return nil, fmt.Errorf("%w: %s is not valid JSON (truncated?): %v", ErrCorrupt, MetadataFile, err)
	}
	if md.SchemaVersion != SchemaVersion && md.SchemaVersion != GlobalSchemaVersion {
		return nil, fmt.Errorf("%w: schema version %d, this build reads %d and %d", ErrIncompatible, md.SchemaVersion, SchemaVersion, GlobalSchemaVersion)
	}
	want := md.Checksum
	if _, err := md.encode(); err != nil {
		return nil, err
	}
	if md.Checksum != want {
		return nil, fmt.Errorf("%w: %s was edited after it was written (checksum %.12s…, content hashes to %.12s…)", ErrCorrupt, MetadataFile, want, md.Checksum)
	}
	md.undefinePersistenceDirection()
	got, err := checksums(fsys)
	if err != nil {
		return nil, err
	}
	if _, ok := md.Files[WeightsFile]; !ok {
		return nil, fmt.Errorf("%w: %s lists no %s", ErrCorrupt, MetadataFile, WeightsFile)
	}
	for name, sum := range md.Files {
		switch g, ok := got[name]; {
		case !ok:
			return nil, fmt.Errorf("%w: %s is missing", ErrCorrupt, name)
		case g != sum:
			return nil, fmt.Errorf("%w: %s does not match its checksum (truncated or edited)", ErrCorrupt, name)
		}
	}
	weights, err := readlimit.ReadFS(fsys, WeightsFile, readlimit.Weights)
	if err != nil {
		return nil, err
	}
	net, err := lstm.ReadSafetensors(bytes.NewReader(weights))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, WeightsFile, err)
	}
	if err := md.check(net); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIncompatible, err)
	}
	if err := md.checkMarkets(net); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIncompatible, err)
	}
	p, err := md.pipeline(net)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIncompatible, err)
	}
	return &Model{Meta: md, Pipeline: p}, nil
}

// pipeline rebuilds the pipeline md describes around net.
func (md *Metadata) pipeline(net *lstm.Network) (*pipeline.Pipeline, error) {
	target, err := features.ParseTarget(md.Target)
	if err != nil {
		return nil, err
	}
	p := &pipeline.Pipeline{
		Features: md.Features, Target: target, Window: md.Window, Warmup: md.Warmup,
		Inputs:      features.MinMaxScaler{Min: md.Scaler.Min, Max: md.Scaler.Max},
		Output:      features.MinMaxScaler{Min: md.TargetScaler.Min, Max: md.TargetScaler.Max},
		Net:         net,
		Calibration: md.Calibration,
	}
	if md.QuantileHead != nil {
		p.Quantiles = md.QuantileHead.Levels
	}
	return p, nil
}

// checkMarkets verifies a global model's markets: version 3 has two or
// more, distinct, the first the top-level's (same scalers and calibration),
// each passing check as a model of its own; version 2 has none.
func (md *Metadata) checkMarkets(net *lstm.Network) error {
	if md.SchemaVersion == SchemaVersion {
		if len(md.Markets) > 0 {
			return fmt.Errorf("schema version %d lists %d markets: a global model is version %d", SchemaVersion, len(md.Markets), GlobalSchemaVersion)
		}
		return nil
	}
	if len(md.Markets) < 2 {
		return fmt.Errorf("global model (schema version %d) lists %d markets, want 2 or more", GlobalSchemaVersion, len(md.Markets))
	}
	first := md.marketOf(0)
	if md.Markets[0].Symbol != md.Symbol || !reflect.DeepEqual(first.Scaler, md.Scaler) ||
		!reflect.DeepEqual(first.TargetScaler, md.TargetScaler) || !reflect.DeepEqual(first.Calibration, md.Calibration) {
		return fmt.Errorf("the first market (%s) is not the model's own (%s): its scalers or calibration differ", md.Markets[0].Symbol, md.Symbol)
	}
	seen := map[string]bool{}
	for k, mk := range md.Markets {
		if n, err := closecast.NormalizeSymbol(mk.Symbol); err != nil || n != mk.Symbol || seen[n] {
			return fmt.Errorf("market %d: symbol %q is not a distinct, upper-case ticker", k+1, mk.Symbol)
		}
		seen[mk.Symbol] = true
		v := md.marketOf(k)
		if err := v.check(net); err != nil {
			return fmt.Errorf("market %s: %v", mk.Symbol, err)
		}
	}
	return nil
}

// marketOf returns md as market k's own model: its symbol, scalers,
// calibration, ranges, metrics and predictions at the top level, and the
// markets reordered so that k is first (so the result, written, is a valid
// global model whose default market is k).
func (md *Metadata) marketOf(k int) Metadata {
	v := *md
	mk := md.Markets[k]
	v.Symbol, v.Scaler, v.TargetScaler, v.Calibration = mk.Symbol, mk.Scaler, mk.TargetScaler, mk.Calibration
	v.TrainRange, v.DataRange, v.DataSHA256 = mk.TrainRange, mk.DataRange, mk.DataSHA256
	v.Metrics, v.Predictions = mk.Metrics, mk.Predictions
	v.Markets = append([]Market{mk}, slices.Delete(slices.Clone(md.Markets), k, k+1)...)
	if i := strings.LastIndexByte(md.Version, '-'); i >= 0 {
		v.Version = version(mk.Symbol, md.Name, md.Version[i+1:])
	}
	return v
}

// Symbols lists the markets m forecasts: a global model's, in its config's
// order, or the one it was trained on.
func (m *Model) Symbols() []string {
	if len(m.Meta.Markets) == 0 {
		return []string{m.Meta.Symbol}
	}
	out := make([]string, len(m.Meta.Markets))
	for k, mk := range m.Meta.Markets {
		out[k] = mk.Symbol
	}
	return out
}

// ErrUnknownMarket is wrapped when a global model is asked for a market it
// was not trained on.
var ErrUnknownMarket = errors.New("the model was not trained on this market")

// For returns a global model as the model of one of its markets
// (case-insensitive): the shared network with that market's scalers and
// calibration, and its metadata at the top level (version
// <symbol>-<name>-<weights>), so that predict, evaluate and serve use it as
// any single-market model. A single-market model is returned as it is,
// whatever the symbol, as before global models. m is not modified; the
// result shares its network.
func (m *Model) For(symbol string) (*Model, error) {
	if len(m.Meta.Markets) == 0 {
		return m, nil
	}
	want, err := closecast.NormalizeSymbol(symbol)
	if err != nil {
		return nil, err
	}
	k := slices.IndexFunc(m.Meta.Markets, func(mk Market) bool { return mk.Symbol == want })
	if k < 0 {
		return nil, fmt.Errorf("%w: %s knows %s, not %s", ErrUnknownMarket, m.Meta.Version, strings.Join(m.Symbols(), ", "), want)
	}
	md := m.Meta.marketOf(k)
	p, err := md.pipeline(m.Pipeline.Net)
	if err != nil {
		return nil, err
	}
	return &Model{Meta: md, Pipeline: p}, nil
}

// check verifies that the metadata and the weights describe the same pipeline
// and that this build knows its features and target.
func (md *Metadata) check(net *lstm.Network) error {
	cfg := net.Config()
	switch {
	case cfg.Features != len(md.Features):
		return fmt.Errorf("weights take %d inputs, metadata lists %d features", cfg.Features, len(md.Features))
	case len(md.Scaler.Min) != len(md.Features) || len(md.Scaler.Max) != len(md.Features):
		return fmt.Errorf("scaler has %d/%d columns for %d features", len(md.Scaler.Min), len(md.Scaler.Max), len(md.Features))
	case md.QuantileHead == nil && (len(md.TargetScaler.Min) != cfg.Outputs || len(md.TargetScaler.Max) != cfg.Outputs):
		return fmt.Errorf("target scaler has %d/%d columns for the head's %d outputs", len(md.TargetScaler.Min), len(md.TargetScaler.Max), cfg.Outputs)
	case md.Window < 1:
		return fmt.Errorf("window %d", md.Window)
	}
	if q := md.QuantileHead; q != nil {
		if err := q.check(cfg.Outputs); err != nil {
			return err
		}
	}
	if c := md.Calibration; c != nil {
		if err := c.Validate(); err != nil {
			return err
		}
		if cfg.Outputs > 1 && c.Horizon() > cfg.Outputs {
			return fmt.Errorf("calibration covers %d days, the head forecasts %d", c.Horizon(), cfg.Outputs)
		}
	}
	for name, sc := range map[string]Scaler{"scaler": md.Scaler, "target_scaler": md.TargetScaler} {
		if name == "target_scaler" && md.QuantileHead != nil {
			continue // a quantile head's outputs are unscaled
		}
		if err := (features.MinMaxScaler{Min: sc.Min, Max: sc.Max}).Validate(); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
	}
	w, err := features.Warmup(md.Features)
	if err != nil {
		return err
	}
	if w != md.Warmup {
		return fmt.Errorf("features need a warm-up of %d bars, metadata says %d", w, md.Warmup)
	}
	return nil
}

// checksums returns the SHA-256 of every regular file at the root of fsys
// except model.json.
func checksums(fsys fs.FS) (map[string]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == MetadataFile {
			continue
		}
		b, err := readlimit.ReadFS(fsys, e.Name(), readlimit.Weights)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = hex.EncodeToString(sum[:])
	}
	return out, nil
}

// Summary is model.json as /api/model serves it: everything but the
// calibration's scores (thousands of numbers no client reads), which are
// replaced by what they cover.
type Summary struct {
	Metadata
	Calibration *CalibrationSummary `json:"calibration,omitempty"`
}

// CalibrationSummary says what a conformal calibration covers: its days,
// the number of day-1 scores and the days ahead it is calibrated for.
type CalibrationSummary struct {
	From    closecast.Date `json:"from"`
	To      closecast.Date `json:"to"`
	Days    int            `json:"days"`
	Horizon int            `json:"horizon"`
}

// Summary returns md without the calibration's scores.
func (md Metadata) Summary() Summary {
	s := Summary{Metadata: md}
	if len(md.Markets) > 0 {
		s.Markets = slices.Clone(md.Markets)
		for k := range s.Markets {
			s.Markets[k].Calibration = nil // the top level's summary describes the served market's
		}
	}
	if c := md.Calibration; c != nil {
		s.Calibration = &CalibrationSummary{From: c.From, To: c.To, Days: len(c.Scores[0]), Horizon: c.Horizon()}
	}
	return s
}

// check verifies a quantile head's description against its network's
// outputs: one level per output, strictly ascending inside (0, 1), a
// median among them (the point forecast), and a target this build knows.
func (q *QuantileHead) check(outputs int) error {
	if len(q.Levels) != outputs {
		return fmt.Errorf("quantile head lists %d levels for the network's %d outputs", len(q.Levels), outputs)
	}
	for k, l := range q.Levels {
		if !(l > 0 && l < 1) || k > 0 && !(l > q.Levels[k-1]) {
			return fmt.Errorf("quantile head levels %v are not strictly ascending inside (0, 1)", q.Levels)
		}
	}
	if !slices.Contains(q.Levels, 0.5) {
		return fmt.Errorf("quantile head levels %v lack the median 0.5", q.Levels)
	}
	if q.Target != config.TargetLogReturnEWMAZ {
		return fmt.Errorf("quantile head target %q, this build knows %q", q.Target, config.TargetLogReturnEWMAZ)
	}
	return nil
}
