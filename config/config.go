// Package config is the run configuration of a training job: one YAML file
// holds everything `closecast train` needs (data, features, target, scaling,
// split, network, optimiser, evaluation windows), and flags override single
// fields. config/shipped/reference.yaml is the reference notebook exactly;
// config/shipped/default.yaml is the product's default model.
//
// The reference notebook's own YAML keys (window_size, input_size,
// neuronios, dropout, loss_function, epochs, batch_size) are kept as they
// were, so a reader of the notebook finds them.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/internal/readlimit"
	"go.yaml.in/yaml/v3"
)

// Config is one training run. Every field is required unless its comment
// gives a default; Validate reports the first field that is wrong.
type Config struct {
	// Name labels the run in reports and in the artifact ("reference", "default").
	Name string `yaml:"name" json:"name"`
	// Symbol is the market, e.g. BTC-USD. In a global config it is the
	// first of Symbols (filled in when left out): the market the model
	// forecasts when none is named.
	Symbol string `yaml:"symbol" json:"symbol"`
	// Symbols, when set, makes the config global: one network trained on
	// the windows of every market listed, each market's windows built and
	// scaled exactly as a per-symbol model's (its own scalers, fitted on its
	// own training windows, the same calendar split). 2..MaxSymbols distinct
	// tickers; empty for a per-symbol model.
	Symbols []string `yaml:"symbols,omitempty" json:"symbols,omitempty"`
	// Data is the range of daily bars loaded for training and the hold-out,
	// both inclusive. Features with a warm-up consume their first rows.
	Data Range `yaml:"data" json:"data"`
	// Features are the input columns, by name (see package features); the
	// reference uses [close].
	Features []string `yaml:"features" json:"features"`
	// Target is what the network predicts: "close" (the scaled next close, as
	// the reference) or "log_return" (the next day's log return).
	Target string `yaml:"target" json:"target"`
	// ScalerFit says which rows fit the MinMax scalers: "train" (the training
	// windows only: no leakage; default) or "all" (every loaded row, as the
	// reference did).
	ScalerFit string `yaml:"scaler_fit" json:"scaler_fit"`
	// ScalerRange is the range the MinMax scalers map to [0, 1]: "minmax"
	// (the fitted rows' min..max; the default, written as nothing) or
	// "symmetric" (widened to −a..a around zero, so a zero return scales
	// to 0.5 in every market: a global model's markets then share the
	// network's zero). Point models only.
	ScalerRange string `yaml:"scaler_range,omitempty" json:"scaler_range,omitempty"`
	// Horizon is the number of days the network's Dense head forecasts at
	// once (a direct multi-output head): output j is the target of day
	// t+j, the t-th day being the one after the window. 1 (default) is
	// the reference's one-step head, and multi-day forecasts then recurse,
	// feeding each forecast back as the next window's last day. With a
	// log_return target, output j is the log return from the window's last
	// close to day t+j's close, each output with its own scaler column.
	Horizon int `yaml:"horizon" json:"horizon"`
	// WindowSize is the number of consecutive days the network reads (60).
	WindowSize int `yaml:"window_size" json:"window_size"`
	// InputSize is the number of input columns; it must equal len(Features)
	// and may be left out (it is derived).
	InputSize int `yaml:"input_size" json:"input_size"`
	// TrainFraction is the share of windows, in date order, used for
	// training; the rest is the hold-out (0.8).
	TrainFraction float64 `yaml:"train_fraction" json:"train_fraction"`
	// Layers is the number of stacked LSTM layers (2).
	Layers int `yaml:"layers" json:"layers"`
	// Units ("neuronios" in the reference) is the width of each LSTM layer (50).
	Units int `yaml:"neuronios" json:"neuronios"`
	// Dropout is the rate applied to each LSTM layer's output in training (0.2).
	Dropout float64 `yaml:"dropout" json:"dropout"`
	// Loss is mean_absolute_error, mean_squared_error or huber.
	Loss string `yaml:"loss_function" json:"loss_function"`
	// LearningRate of Adam (Keras default 0.001).
	LearningRate float64 `yaml:"learning_rate" json:"learning_rate"`
	// ClipNorm clips the global gradient norm; 0 disables clipping.
	ClipNorm float64 `yaml:"clip_norm" json:"clip_norm"`
	// Epochs is the maximum number of passes over the training windows (150).
	Epochs int `yaml:"epochs" json:"epochs"`
	// BatchSize is the number of windows per Adam step (32).
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// Shuffle reshuffles the training windows every epoch (Keras' default).
	Shuffle bool `yaml:"shuffle" json:"shuffle"`
	// Seed seeds initialisation, shuffling and dropout.
	Seed uint64 `yaml:"seed" json:"seed"`
	// Threads is the number of goroutines training uses; 0 means every core.
	// Results are bit-identical for the same seed, data and Threads.
	Threads int `yaml:"threads" json:"threads"`
	// EarlyStopping, when Patience > 0, stops after Patience epochs without
	// improvement of the monitored loss and restores the best weights.
	EarlyStopping EarlyStopping `yaml:"early_stopping" json:"early_stopping"`
	// Validation is the reference's "validation" check: one-step-ahead
	// predictions for target days From..To from windows of real closes.
	Validation Validation `yaml:"validation" json:"validation"`
}

// Range is an inclusive range of days.
type Range struct {
	From closecast.Date `yaml:"from" json:"from"`
	To   closecast.Date `yaml:"to" json:"to"`
}

// EarlyStopping configures early stopping.
type EarlyStopping struct {
	// Patience is the number of epochs without improvement tolerated; 0 = off.
	Patience int `yaml:"patience" json:"patience"`
	// Monitor is the loss watched: "holdout" (the reference's validation_data,
	// which makes the hold-out no longer unseen) or "tail" (the last
	// TailFraction of the training windows, carved off before training; the
	// honest choice).
	Monitor string `yaml:"monitor" json:"monitor"`
	// TailFraction is the share of training windows held back when Monitor is
	// "tail" (default 0.1).
	TailFraction float64 `yaml:"tail_fraction" json:"tail_fraction"`
}

// Validation is the dated out-of-sample check after training.
type Validation struct {
	From closecast.Date `yaml:"from" json:"from"`
	To   closecast.Date `yaml:"to" json:"to"`
}

// MaxSymbols is the most markets a global config may pool.
const MaxSymbols = 16

// MaxHorizon is the longest direct head a config may ask for, in days.
const MaxHorizon = 90

// Upper bounds of the numeric settings, so that a typo (batch_size:
// 1000000000) is a clear error before anything is allocated rather than an
// out-of-memory crash. Each is far above any useful value.
const (
	MaxWindowSize   = 3650    // window_size: ten years of days
	MaxInputSize    = 64      // input_size (and the number of features)
	MaxLayers       = 16      // layers
	MaxUnits        = 4096    // neuronios
	MaxEpochs       = 100_000 // epochs
	MaxBatchSize    = 65_536  // batch_size
	MaxThreads      = 1024    // threads
	MaxPatience     = 100_000 // early_stopping.patience
	MaxLearningRate = 10.0    // learning_rate
	MaxClipNorm     = 1e6     // clip_norm
	// MaxActivations bounds window_size × batch_size × neuronios × layers,
	// the float32 activations one training step keeps (4 GiB at the bound):
	// each setting may be within its own bound and the product still not
	// fit in memory.
	MaxActivations = 1 << 30
)

// Bounds describes the numeric settings' limits in one paragraph, for
// `closecast train --help`.
func Bounds() string {
	return fmt.Sprintf("Config bounds: window_size 1..%d, horizon 1..%d, features ≤ %d, layers 1..%d, neuronios 1..%d, "+
		"epochs 1..%d, batch_size 1..%d, threads 0..%d, early_stopping.patience 0..%d, learning_rate (0, %g], "+
		"clip_norm [0, %g], window_size × batch_size × neuronios × layers ≤ %d; integers must be whole numbers.",
		MaxWindowSize, MaxHorizon, MaxInputSize, MaxLayers, MaxUnits, MaxEpochs, MaxBatchSize, MaxThreads, MaxPatience,
		MaxLearningRate, MaxClipNorm, MaxActivations)
}

// intFields are the YAML keys decoded into integers: a value such as 2.9
// is refused rather than truncated (the YAML decoder would train 2 epochs).
var intFields = map[string]bool{"horizon": true, "window_size": true, "input_size": true, "layers": true,
	"neuronios": true, "epochs": true, "batch_size": true, "seed": true, "threads": true, "patience": true}

// Targets and scaler fits.
const (
	TargetClose     = "close"
	TargetLogReturn = "log_return"
	// TargetLogReturnEWMAZ is the quantile head's target: the next log
	// return over its EWMA volatility (features.EWMAZ), with loss_function
	// pinball and horizon 1; the head outputs the 21 evaluate.Levels
	// quantiles.
	TargetLogReturnEWMAZ = "log_return_ewma_z"
	RangeMinMax          = "minmax"
	RangeSymmetric       = "symmetric"
	FitTrain             = "train"
	FitAll               = "all"
	MonitorHoldout       = "holdout"
	MonitorTail          = "tail"
)

// Load reads and validates a YAML config file.
func Load(path string) (Config, error) {
	f, err := readlimit.Open(path, readlimit.Config)
	if err != nil {
		return Config{}, err
	}
	defer f.Close()
	c, err := Decode(f)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Decode reads a YAML config, rejecting unknown keys (a typo must not
// silently fall back to a default), fills defaults and validates.
func Decode(r io.Reader) (Config, error) {
	c := Defaults()
	doc, err := io.ReadAll(io.LimitReader(r, readlimit.Config+1))
	if err != nil {
		return Config{}, err
	}
	if len(doc) > readlimit.Config {
		return Config{}, fmt.Errorf("config is larger than %d bytes", readlimit.Config)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return Config{}, err
	}
	if err := checkInts(&root); err != nil {
		return Config{}, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return Config{}, errors.New("empty config")
		}
		return Config{}, err
	}
	if err := c.fillSymbols(hasKey(&root, "symbol")); err != nil {
		return Config{}, err
	}
	c.fill()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// fillSymbols upper-cases a global config's symbols and makes Symbol the
// first of them. A symbol given beside symbols must be that first one (as
// Encode writes it), not a second opinion on the default market.
func (c *Config) fillSymbols(symbolGiven bool) error {
	if len(c.Symbols) == 0 {
		return nil
	}
	for k, s := range c.Symbols {
		n, err := closecast.NormalizeSymbol(s)
		if err != nil {
			return fmt.Errorf("config field symbols: entry %d: %v", k+1, err)
		}
		c.Symbols[k] = n
	}
	if symbolGiven && !strings.EqualFold(c.Symbol, c.Symbols[0]) {
		return fmt.Errorf("config field symbol: %q beside symbols %v: a global config's default market is the first of symbols", c.Symbol, c.Symbols)
	}
	c.Symbol = c.Symbols[0]
	return nil
}

// hasKey reports whether the document's top-level mapping has key.
func hasKey(root *yaml.Node, key string) bool {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// checkInts refuses a non-integer scalar under an integer key, anywhere in
// the document.
func checkInts(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if intFields[k.Value] && v.Kind == yaml.ScalarNode && v.Tag != "!!int" {
				return fmt.Errorf("config field %s: %q is not a whole number (line %d)", k.Value, v.Value, v.Line)
			}
		}
	}
	for _, c := range n.Content {
		if err := checkInts(c); err != nil {
			return err
		}
	}
	return nil
}

// Encode writes c as YAML.
func (c Config) Encode(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return err
	}
	return enc.Close()
}

// String returns c as YAML.
func (c Config) String() string {
	var b bytes.Buffer
	_ = c.Encode(&b)
	return b.String()
}

// Defaults returns the reference notebook's hyper-parameters; a config file
// only needs to say what differs.
func Defaults() Config {
	return Config{
		Name:          "unnamed",
		Symbol:        closecast.DefaultSymbol,
		Features:      []string{"close"},
		Target:        TargetClose,
		ScalerFit:     FitTrain,
		WindowSize:    60,
		Horizon:       1,
		TrainFraction: 0.8,
		Layers:        2,
		Units:         50,
		Dropout:       0.2,
		Loss:          "mean_absolute_error",
		LearningRate:  0.001,
		Epochs:        150,
		BatchSize:     32,
		Shuffle:       true,
		Seed:          42,
		EarlyStopping: EarlyStopping{Monitor: MonitorTail, TailFraction: 0.1},
	}
}

func (c *Config) fill() {
	if c.InputSize == 0 {
		c.InputSize = len(c.Features)
	}
	if c.EarlyStopping.Monitor == "" {
		c.EarlyStopping.Monitor = MonitorTail
	}
	if c.EarlyStopping.TailFraction == 0 {
		c.EarlyStopping.TailFraction = 0.1
	}
}

// Validate checks every field and names the first one that is wrong.
func (c Config) Validate() error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("config field %s: %s", field, fmt.Sprintf(format, a...))
	}
	switch {
	case strings.TrimSpace(c.Symbol) == "":
		return bad("symbol", "is empty")
	case c.Data.From == 0 && c.Data.To == 0:
		return bad("data", "needs from and to dates")
	case c.Data.To < c.Data.From:
		return bad("data", "to %s is before from %s", c.Data.To, c.Data.From)
	case len(c.Features) == 0:
		return bad("features", "needs at least one feature")
	case c.Target != TargetClose && c.Target != TargetLogReturn && c.Target != TargetLogReturnEWMAZ:
		return bad("target", "%q is not %q, %q or %q", c.Target, TargetClose, TargetLogReturn, TargetLogReturnEWMAZ)
	case c.ScalerFit != FitTrain && c.ScalerFit != FitAll:
		return bad("scaler_fit", "%q is not %q or %q", c.ScalerFit, FitTrain, FitAll)
	case c.ScalerRange != "" && c.ScalerRange != RangeMinMax && c.ScalerRange != RangeSymmetric:
		return bad("scaler_range", "%q is not %q or %q", c.ScalerRange, RangeMinMax, RangeSymmetric)
	case c.ScalerRange == RangeSymmetric && c.Target == TargetLogReturnEWMAZ:
		return bad("scaler_range", "%q with target %q: the quantile head scales its inputs the default way", c.ScalerRange, c.Target)
	case c.WindowSize < 1 || c.WindowSize > MaxWindowSize:
		return bad("window_size", "%d must be in 1..%d", c.WindowSize, MaxWindowSize)
	case len(c.Features) > MaxInputSize:
		return bad("features", "%d features, at most %d", len(c.Features), MaxInputSize)
	case c.Horizon < 1 || c.Horizon > MaxHorizon:
		return bad("horizon", "%d must be in 1..%d", c.Horizon, MaxHorizon)
	case c.InputSize != len(c.Features):
		return bad("input_size", "%d does not match the %d features listed", c.InputSize, len(c.Features))
	case !(c.TrainFraction > 0 && c.TrainFraction < 1):
		return bad("train_fraction", "%v must be in (0, 1)", c.TrainFraction)
	case c.Layers < 1 || c.Layers > MaxLayers:
		return bad("layers", "%d must be in 1..%d", c.Layers, MaxLayers)
	case c.Units < 1 || c.Units > MaxUnits:
		return bad("neuronios", "%d must be in 1..%d", c.Units, MaxUnits)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return bad("dropout", "%v must be in [0, 1)", c.Dropout)
	case !(c.LearningRate > 0 && c.LearningRate <= MaxLearningRate):
		return bad("learning_rate", "%v must be in (0, %v]", c.LearningRate, MaxLearningRate)
	case !(c.ClipNorm >= 0 && c.ClipNorm <= MaxClipNorm):
		return bad("clip_norm", "%v must be in [0, %v]", c.ClipNorm, MaxClipNorm)
	case c.Epochs < 1 || c.Epochs > MaxEpochs:
		return bad("epochs", "%d must be in 1..%d", c.Epochs, MaxEpochs)
	case c.BatchSize < 1 || c.BatchSize > MaxBatchSize:
		return bad("batch_size", "%d must be in 1..%d", c.BatchSize, MaxBatchSize)
	case c.Threads < 0 || c.Threads > MaxThreads:
		return bad("threads", "%d must be in 0..%d", c.Threads, MaxThreads)
	case c.EarlyStopping.Patience < 0 || c.EarlyStopping.Patience > MaxPatience:
		return bad("early_stopping.patience", "%d must be in 0..%d", c.EarlyStopping.Patience, MaxPatience)
	case int64(c.WindowSize)*int64(c.BatchSize)*int64(c.Units)*int64(c.Layers) > MaxActivations:
		return bad("batch_size", "window_size × batch_size × neuronios × layers = %d × %d × %d × %d exceeds %d activations a step",
			c.WindowSize, c.BatchSize, c.Units, c.Layers, int64(MaxActivations))
	case c.EarlyStopping.Monitor != MonitorHoldout && c.EarlyStopping.Monitor != MonitorTail:
		return bad("early_stopping.monitor", "%q is not %q or %q", c.EarlyStopping.Monitor, MonitorHoldout, MonitorTail)
	case !(c.EarlyStopping.TailFraction > 0 && c.EarlyStopping.TailFraction < 0.5):
		return bad("early_stopping.tail_fraction", "%v must be in (0, 0.5)", c.EarlyStopping.TailFraction)
	case c.Validation.To < c.Validation.From:
		return bad("validation", "to %s is before from %s", c.Validation.To, c.Validation.From)
	}
	if err := c.validateSymbols(); err != nil {
		return err
	}
	pinball := false
	switch strings.ToLower(c.Loss) {
	case "mae", "mean_absolute_error", "mse", "mean_squared_error", "huber":
	case "pinball":
		pinball = true
	default:
		return bad("loss_function", "%q is not mean_absolute_error, mean_squared_error, huber or pinball", c.Loss)
	}
	// The quantile head is one step ahead and learns the EWMA-standardised
	// return; the other losses learn one value per output.
	switch {
	case pinball && c.Target != TargetLogReturnEWMAZ:
		return bad("target", "%q with loss_function pinball, want %q", c.Target, TargetLogReturnEWMAZ)
	case !pinball && c.Target == TargetLogReturnEWMAZ:
		return bad("loss_function", "%q with target %q, want pinball", c.Loss, TargetLogReturnEWMAZ)
	case pinball && c.Horizon != 1:
		return bad("horizon", "%d with loss_function pinball: the quantile head forecasts one day ahead", c.Horizon)
	}
	seen := map[string]bool{}
	for _, f := range c.Features {
		if seen[f] {
			return bad("features", "%q is listed twice", f)
		}
		seen[f] = true
	}
	return nil
}

// validateSymbols checks a global config's markets: 2..MaxSymbols
// distinct, normalised tickers, the first of them Symbol.
func (c Config) validateSymbols() error {
	if c.Symbols == nil {
		return nil
	}
	if len(c.Symbols) < 2 || len(c.Symbols) > MaxSymbols {
		return fmt.Errorf("config field symbols: %d markets, want 2..%d (one market is symbol:)", len(c.Symbols), MaxSymbols)
	}
	seen := map[string]bool{}
	for k, s := range c.Symbols {
		n, err := closecast.NormalizeSymbol(s)
		switch {
		case err != nil:
			return fmt.Errorf("config field symbols: entry %d: %v", k+1, err)
		case n != s:
			return fmt.Errorf("config field symbols: entry %d %q is not upper-case (%q)", k+1, s, n)
		case strings.ContainsAny(s, `/\`) || s == "." || s == "..":
			return fmt.Errorf("config field symbols: entry %d %q is not a ticker", k+1, s)
		case seen[s]:
			return fmt.Errorf("config field symbols: %s is listed twice", s)
		}
		seen[s] = true
	}
	if c.Symbol != c.Symbols[0] {
		return fmt.Errorf("config field symbol: %q is not the first of symbols %v", c.Symbol, c.Symbols)
	}
	return nil
}

// Global reports whether c trains one model on several markets (Symbols).
func (c Config) Global() bool { return len(c.Symbols) > 0 }

// Markets lists the markets c trains on: Symbols, or Symbol alone.
func (c Config) Markets() []string {
	if c.Global() {
		return c.Symbols
	}
	return []string{c.Symbol}
}

// ForSymbol returns the per-symbol config of one market of c: the same
// recipe with Symbol set and no Symbols, which is how a global model
// builds each market's windows and scalers.
func (c Config) ForSymbol(symbol string) Config {
	c.Symbol, c.Symbols = symbol, nil
	return c
}

// HasValidation reports whether a dated validation check is configured.
func (c Config) HasValidation() bool { return c.Validation.From != 0 || c.Validation.To != 0 }
