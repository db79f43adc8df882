package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/report"
	"github.com/closecast/closecast/train"
)

var trainCmd = &command{
	name:    "train",
	summary: "Train and evaluate a model from a config; write the artifact",
	usage:   "--config FILE|NAME [--symbols LIST] [--jobs N] [--epochs N] [--seed N] [--threads N] [--repeat N] [--out DIR] [--csv FILE] [--json] [--shard I/N --results DIR | --collect --results DIR]",
	example: `  closecast train --config reference                 # the reference notebook, embedded config
  closecast train --config config/shipped/default.yaml --out out/default && cp -RL out/default/. models/btc-usd/
  closecast train --config reference --repeat 5 --json # 5 seeds: mean ± std of every metric
  closecast train --config my.yaml --csv bars.csv --epochs 20
  closecast train --config default --symbols BTC-USD,ETH-USD --jobs 2 # out/default/BTC-USD, out/default/ETH-USD
  closecast train --config global --out out/global     # one model of BTC-USD and ETH-USD together

A global config (symbols: [BTC-USD, ETH-USD], as config/shipped/global.yaml)
trains one network on the pooled training windows of every market, each
market's windows scaled by its own scalers (fitted on its own training
windows) with the same calendar split as its per-symbol model; early
stopping watches every market's training tail. The artifact holds every
market's scalers and scores (predict/evaluate --symbol pick one); the
report and --json give each market's metrics.

Several models (--symbols × --repeat seeds) train --jobs at a time, each with
the config's threads (or --threads): jobs × threads goroutines compute at
once, so on C cores set threads: 1 and --jobs C for many small models, or
--jobs 1 and threads: C for one big one. The weights are the same bit for bit
for any --jobs.

As an array job, each model is a task: shard I of N (--shard I/N, or the
Kubernetes / AWS Batch index in the environment) trains tasks I, I+N, … and
records each in --results, a directory every shard can write; artifacts go to
--out as usual, so it must be shared too. --collect prints what one process
would have printed.
  closecast train --config default --repeat 30 --out /shared/sweep --shard 2/10 --results /shared/sweep-results
  closecast train --config default --repeat 30 --out /shared/sweep --collect --results /shared/sweep-results --json

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
	Symbol string `json:"symbol,omitempty"` // with --symbols
	Seed   uint64 `json:"seed"`
	// Markets are a global model's metrics per market, in its config's
	// order (Metrics repeats the first's).
	Markets  []marketRun        `json:"markets,omitempty"`
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
	symbolsFlag := fs.String("symbols", "", "train one model per symbol (`LIST`, comma-separated) instead of the config's, each into <out>/<SYMBOL>")
	jobs := fs.Int("jobs", 1, "train `N` models (symbols × seeds) at once, each with the config's threads; the weights are the same for any N")
	out := fs.String("out", "", "artifact `directory` (default out/<config name>; with --repeat, one seed-<s> directory per seed)")
	csv := fs.String("csv", "", "read bars from this CSV `file` instead of the embedded data and store")
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout")
	quiet := fs.Bool("quiet", false, "no per-epoch progress lines")
	sf := addShardFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *cfgPath == "":
		return fmt.Errorf("%w: --config is required", errUsage)
	case *repeat < 1:
		return fmt.Errorf("%w: --repeat must be ≥ 1", errUsage)
	case *jobs < 1:
		return fmt.Errorf("%w: --jobs must be ≥ 1", errUsage)
	}
	symbols, err := parseSymbols(*symbolsFlag)
	if err != nil {
		return err
	}
	if len(symbols) > 0 && *csv != "" {
		return fmt.Errorf("%w: --csv holds one market's bars; --symbols reads each from the store and embedded data", errUsage)
	}
	sh, err := sf.resolve(e.getenv)
	if err != nil {
		return err
	}
	cfg, err := shipped.Load(*cfgPath)
	if err != nil {
		return err
	}
	if cfg.Global() && (len(symbols) > 0 || *csv != "") {
		return fmt.Errorf("%w: config %s is a global model of %s: it names its markets itself (no --symbols) and reads each from the store and embedded data (no --csv)",
			errUsage, cfg.Name, strings.Join(cfg.Symbols, ", "))
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
	if *out == "" {
		*out = filepath.Join("out", cfg.Name)
	}
	tasks := trainTasks(cfg, symbols, *repeat, *out)
	job := jobName("train", cfg.Name, strings.Join(symbols, ","), cfg.Seed, *repeat, cfg.Epochs, *out)
	var runs []trainRun
	interrupted := false
	if sf.collect {
		raws, err := collectTasks(sf.results, job, len(tasks))
		if err != nil {
			return err
		}
		runs = make([]trainRun, len(raws))
		for i, raw := range raws {
			if err := json.Unmarshal(raw, &runs[i]); err != nil {
				return fmt.Errorf("task %d: %w", i, err)
			}
			if !*asJSON {
				fmt.Fprintf(e.stdout, "artifact: %s (version %s)\n", runs[i].Out, runs[i].Version)
			}
		}
	} else {
		series := map[string]closecast.Series{}
		for i, t := range tasks {
			if !sh.owns(i) {
				continue
			}
			syms := []string{t.symbol}
			if cfg.Global() {
				syms = cfg.Symbols
			}
			for _, sym := range syms {
				if _, ok := series[sym]; ok {
					continue
				}
				if series[sym], err = (&dataFlags{symbol: sym, csv: *csv}).load(ctx, e, false); err != nil {
					return err
				}
			}
		}
		var progress io.Writer
		if !*quiet {
			progress = e.stderr
		}
		tr := &trainer{e: e, cfg: cfg, series: series, progress: progress, text: !*asJSON, many: len(tasks) > 1, symbols: len(symbols) > 0, sh: sh, results: sf.results, job: job, ntasks: len(tasks)}
		runs, interrupted, err = tr.run(ctx, tasks, *jobs)
		if err != nil {
			return err
		}
		if sh.Count > 0 {
			if !*asJSON {
				fmt.Fprintf(e.stdout, "shard %s: %d of %d tasks written to %s\n", sh, len(runs), len(tasks), sf.results)
			}
			if interrupted {
				return errors.New("interrupted")
			}
			if !*asJSON {
				return nil
			}
		}
	}
	if len(runs) > 0 {
		cfg.Seed = runs[len(runs)-1].Seed
	}
	if err := printTrainRuns(e.stdout, cfg, runs, len(symbols) > 0 || cfg.Global(), *asJSON); err != nil || *asJSON {
		return err
	}
	if interrupted || ctx.Err() != nil {
		return errors.New("interrupted")
	}
	return nil
}

// marketRun is one market's metrics of a global model in --json output.
type marketRun struct {
	Symbol  string           `json:"symbol"`
	Metrics artifact.Metrics `json:"metrics"`
}

// parseSymbols splits --symbols: upper-cased, no empty or repeated entry.
func parseSymbols(list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		s = strings.ToUpper(strings.TrimSpace(s))
		switch {
		case s == "":
			return nil, fmt.Errorf("%w: --symbols %q has an empty entry", errUsage, list)
		case seen[s]:
			return nil, fmt.Errorf("%w: --symbols names %s twice", errUsage, s)
		case strings.ContainsAny(s, `/\`) || s == "." || s == "..":
			return nil, fmt.Errorf("%w: --symbols: %q is not a ticker", errUsage, s)
		}
		seen[s] = true
		out = append(out, s)
	}
	return out, nil
}

// trainTask is one model to train: a symbol and a seed, and its artifact
// directory.
type trainTask struct {
	symbol string
	seed   uint64
	dir    string
}

// trainTasks lists the models train makes, symbol by symbol, seed by seed:
// the task list a shard divides. Without symbols, the config's symbol
// trains into out (out/seed-<s> with several seeds); with symbols, each
// into out/<SYMBOL>.
func trainTasks(cfg config.Config, symbols []string, repeat int, out string) []trainTask {
	syms := symbols
	if len(syms) == 0 {
		syms = []string{cfg.Symbol}
	}
	var tasks []trainTask
	for _, sym := range syms {
		for r := range repeat {
			t := trainTask{symbol: sym, seed: cfg.Seed + uint64(r), dir: out}
			if len(symbols) > 0 {
				t.dir = filepath.Join(t.dir, sym)
			}
			if repeat > 1 {
				t.dir = filepath.Join(t.dir, fmt.Sprintf("seed-%d", t.seed))
			}
			tasks = append(tasks, t)
		}
	}
	return tasks
}

// trainer trains the tasks its shard owns, several at once.
type trainer struct {
	e        *env
	cfg      config.Config
	series   map[string]closecast.Series
	progress io.Writer
	text     bool // print each run's report as it ends
	many     bool // more than one task: announce each
	symbols  bool // --symbols given: runs name their symbol
	sh       shard
	results  string // with a shard: where each task's trainRun goes
	job      string
	ntasks   int

	mu sync.Mutex // serialises output
}

// run trains the owned tasks, jobs at a time, and returns their runs in
// task order. An interrupt lets the running tasks keep their best weights
// and starts no other.
func (tr *trainer) run(ctx context.Context, tasks []trainTask, jobs int) ([]trainRun, bool, error) {
	progress := tr.progress
	if jobs > 1 {
		// Epoch lines of parallel runs would interleave: one line per
		// model instead.
		progress = nil
	}
	runs := make([]*trainRun, len(tasks))
	errs := make([]error, len(tasks))
	interrupted := make([]bool, len(tasks))
	next := make(chan int)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				runs[i], interrupted[i], errs[i] = tr.one(ctx, i, tasks[i], progress)
			}
		}()
	}
	for i := range tasks {
		if !tr.sh.owns(i) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	var out []trainRun
	stopped := false
	for i, r := range runs {
		if errs[i] != nil {
			return nil, false, errs[i]
		}
		if r != nil {
			out = append(out, *r)
		}
		stopped = stopped || interrupted[i]
	}
	return out, stopped, nil
}

// one trains task i and writes its artifact (and, in a shard, its result).
func (tr *trainer) one(ctx context.Context, i int, t trainTask, progress io.Writer) (*trainRun, bool, error) {
	cfg := tr.cfg
	cfg.Seed = t.seed
	if !cfg.Global() {
		cfg.Symbol = t.symbol
	}
	if tr.many && tr.progress != nil {
		tr.mu.Lock()
		fmt.Fprintf(tr.progress, "── %s seed %d (task %d of %d) ──\n", strings.Join(cfg.Markets(), "+"), t.seed, i+1, tr.ntasks)
		tr.mu.Unlock()
	}
	var res *train.Result
	var err error
	if cfg.Global() {
		res, err = train.RunGlobal(ctx, cfg, tr.series, train.Options{Progress: progress})
	} else {
		res, err = train.Run(ctx, cfg, tr.series[t.symbol], train.Options{Progress: progress})
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s seed %d: %w", t.symbol, t.seed, err)
	}
	if err := artifact.Write(t.dir, res.Model, report.Plots(res.Model)); err != nil {
		return nil, false, err
	}
	m := res.Model.Meta
	r := &trainRun{Seed: t.seed, Out: t.dir, Training: m.Training, Metrics: m.Metrics, Version: m.Version, Stopped: m.Training.Stopped}
	if tr.symbols {
		r.Symbol = t.symbol
	}
	views, err := models.Markets(res.Model)
	if err != nil {
		return nil, false, err
	}
	if len(views) > 1 {
		for _, v := range views {
			r.Markets = append(r.Markets, marketRun{Symbol: v.Meta.Symbol, Metrics: v.Meta.Metrics})
		}
	}
	// A task cut short is not a result: its shard reruns it.
	if tr.sh.Count > 0 && !res.Interrupted {
		if err := writeTask(tr.results, tr.job, i, tr.ntasks, r); err != nil {
			return nil, false, err
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.text {
		for _, v := range views {
			if len(views) > 1 {
				fmt.Fprintf(tr.e.stdout, "── %s (%s) ──\n", v.Meta.Symbol, v.Meta.Version)
			}
			report.Training(tr.e.stdout, v)
		}
		fmt.Fprintf(tr.e.stdout, "artifact: %s (version %s)\n", t.dir, m.Version)
	}
	if res.Interrupted {
		fmt.Fprintf(tr.e.stderr, "interrupted: %s seed %d kept the best weights seen so far\n", t.symbol, t.seed)
	}
	return r, res.Interrupted, nil
}

// printTrainRuns writes the mean ± std over several runs as text, or every
// run (and that summary) as JSON. With bySymbol, runs of several symbols
// are summarised symbol by symbol.
func printTrainRuns(w io.Writer, cfg config.Config, runs []trainRun, bySymbol, asJSON bool) error {
	var summary *report.RepeatSummary
	var summaries map[string]report.RepeatSummary
	var order []string
	groups := map[string][]artifact.Metrics{}
	add := func(sym string, ms artifact.Metrics) {
		if _, ok := groups[sym]; !ok {
			order = append(order, sym)
		}
		groups[sym] = append(groups[sym], ms)
	}
	for _, r := range runs {
		if len(r.Markets) == 0 {
			add(r.Symbol, r.Metrics)
		}
		for _, mk := range r.Markets { // a global model: one group per market
			add(mk.Symbol, mk.Metrics)
		}
	}
	for _, sym := range order {
		if len(groups[sym]) < 2 {
			continue
		}
		s := report.Summarize(groups[sym])
		if !bySymbol {
			summary = &s
		} else {
			if summaries == nil {
				summaries = map[string]report.RepeatSummary{}
			}
			summaries[sym] = s
		}
		if !asJSON {
			if bySymbol {
				fmt.Fprintf(w, "%s:\n", sym)
			}
			report.WriteSummary(w, s)
		}
	}
	if !asJSON {
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Config    any                             `json:"config"`
		Runs      []trainRun                      `json:"runs"`
		Summary   *report.RepeatSummary           `json:"summary,omitempty"`
		Summaries map[string]report.RepeatSummary `json:"summaries,omitempty"` // per symbol, with --symbols or a global config
	}{cfg, runs, summary, summaries})
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
