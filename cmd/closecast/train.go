package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/report"
	"github.com/closecast/closecast/train"
)

var trainCmd = &command{
	name:    "train",
	summary: "Train and evaluate a model from a config; write the artifact",
	usage:   "--config FILE|NAME [--epochs N] [--seed N] [--threads N] [--repeat N] [--out DIR] [--csv FILE] [--json]",
	example: `  closecast train --config reference                 # the reference notebook, embedded config
  closecast train --config config/shipped/default.yaml --out out/default && cp -RL out/default/. models/btc-usd/
  closecast train --config reference --repeat 5 --json # 5 seeds: mean ± std of every metric
  closecast train --config my.yaml --csv bars.csv --epochs 20

The artifact directory holds model.safetensors, model.json (pipeline, scalers,
config, data checksum, metrics vs baselines) and plots. It is a symbolic link
to a version directory beside it (.NAME.v-*), swapped atomically, so a server
reading it never finds no model; copy with cp -L (go:embed, as for
models/btc-usd, needs a plain directory). Progress goes to
stderr; Ctrl-C stops after the current batch and keeps the best weights of the
epochs completed so far.

` + config.Bounds(),
	run: runTrain,
}

// trainRun is one seed's outcome in --json output.
type trainRun struct {
	Seed     uint64             `json:"seed"`
	Out      string             `json:"out,omitempty"`
	Training artifact.Training  `json:"training"`
	Metrics  artifact.Metrics   `json:"metrics"`
	Version  string             `json:"version"`
	Stopped  string             `json:"stopped"`
	Curve    artifact.LossCurve `json:"-"`
}

func runTrain(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	cfgPath := fs.String("config", "", "training config: a YAML `file`, or the name of an embedded one ("+joinNames()+")")
	epochs := fs.Int("epochs", 0, "override the config's epochs")
	seed := fs.Uint64("seed", 0, "override the config's seed")
	threads := fs.Int("threads", 0, "override the config's threads (0 = all cores)")
	repeat := fs.Int("repeat", 1, "train `N` seeds (seed, seed+1, …) and report mean ± std of every metric")
	out := fs.String("out", "", "artifact `directory` (default out/<config name>; with --repeat, one seed-<s> directory per seed)")
	csv := fs.String("csv", "", "read bars from this CSV `file` instead of the embedded data and store")
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout")
	quiet := fs.Bool("quiet", false, "no per-epoch progress lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fmt.Errorf("%w: --config is required", errUsage)
	}
	if *repeat < 1 {
		return fmt.Errorf("%w: --repeat must be ≥ 1", errUsage)
	}
	cfg, err := shipped.Load(*cfgPath)
	if err != nil {
		return err
	}
	// Only the flags given override the config: --seed 0 is a seed.
	if isFlagSet(fs, "epochs") {
		cfg.Epochs = *epochs
	}
	if isFlagSet(fs, "seed") {
		cfg.Seed = *seed
	}
	if isFlagSet(fs, "threads") {
		cfg.Threads = *threads
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	data := dataFlags{symbol: cfg.Symbol, csv: *csv}
	series, err := data.load(ctx, e, false)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join("out", cfg.Name)
	}
	var progress io.Writer
	if !*quiet {
		progress = e.stderr
	}
	runs, err := trainSeeds(ctx, e, &cfg, series, *out, *repeat, progress, !*asJSON)
	if err != nil {
		return err
	}
	if err := printTrainRuns(e.stdout, cfg, runs, *asJSON); err != nil || *asJSON {
		return err
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	return nil
}

// trainSeeds trains repeat seeds from cfg.Seed on (leaving cfg.Seed at the
// last one trained), writes each artifact under out, and, when text, prints
// each run as it ends. An interrupt stops after the run it cut short.
func trainSeeds(ctx context.Context, e *env, cfg *config.Config, series closecast.Series, out string, repeat int, progress io.Writer, text bool) ([]trainRun, error) {
	var runs []trainRun
	base := cfg.Seed
	for r := 0; r < repeat; r++ {
		cfg.Seed = base + uint64(r)
		if repeat > 1 && progress != nil {
			fmt.Fprintf(progress, "── seed %d (%d of %d) ──\n", cfg.Seed, r+1, repeat)
		}
		res, err := train.Run(ctx, *cfg, series, train.Options{Progress: progress})
		if err != nil {
			return nil, err
		}
		dir := out
		if repeat > 1 {
			dir = filepath.Join(out, fmt.Sprintf("seed-%d", cfg.Seed))
		}
		if err := artifact.Write(dir, res.Model, report.Plots(res.Model)); err != nil {
			return nil, err
		}
		m := res.Model.Meta
		runs = append(runs, trainRun{Seed: cfg.Seed, Out: dir, Training: m.Training, Metrics: m.Metrics, Version: m.Version, Stopped: m.Training.Stopped})
		if text {
			report.Training(e.stdout, res.Model)
			fmt.Fprintf(e.stdout, "artifact: %s (version %s)\n", dir, m.Version)
		}
		if res.Interrupted {
			fmt.Fprintln(e.stderr, "interrupted: kept the best weights seen so far")
			break
		}
	}
	return runs, nil
}

// printTrainRuns writes the mean ± std over several runs as text, or every
// run (and that summary) as JSON.
func printTrainRuns(w io.Writer, cfg config.Config, runs []trainRun, asJSON bool) error {
	var summary *report.RepeatSummary
	if len(runs) > 1 {
		ms := make([]artifact.Metrics, len(runs))
		for i, r := range runs {
			ms[i] = r.Metrics
		}
		s := report.Summarize(ms)
		summary = &s
		if !asJSON {
			report.WriteSummary(w, s)
		}
	}
	if !asJSON {
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Config  any                   `json:"config"`
		Runs    []trainRun            `json:"runs"`
		Summary *report.RepeatSummary `json:"summary,omitempty"`
	}{cfg, runs, summary})
}

func joinNames() string {
	s := ""
	for i, n := range shipped.Names() {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}
