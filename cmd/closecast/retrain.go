package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/backtest"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/internal/atomicfile"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/report"
	"github.com/closecast/closecast/train"
)

var retrainCmd = &command{
	name:    "retrain",
	summary: "Fetch new bars, train a challenger, promote it only if it beats the champion on the recent days",
	usage:   "--config FILE|NAME [--symbols LIST] [--model DIR] [--out DIR] [--recent N] [--offline] [--yahoo-url URL] [--db URL] [--json] [--quiet] [--shard I/N --results DIR | --collect --results DIR]",
	example: `  closecast retrain --config default --model /var/lib/closecast/btc-usd
  closecast retrain --config default --out out/challenger --recent 90 --json
  closecast retrain --config my.yaml --model out/my --offline

Steps: fetch the bars after the last known day from Yahoo into the store
(skipped with --offline); train a challenger on the config with data.to moved
to the last known day minus N (--recent); forecast the last N days one step
ahead with the champion (--model, default the embedded model) and the
challenger, beside persistence and the 7-day moving average; promote the
challenger (write its artifact to --out) only when its MAPE is lower. The
decision and both scores are written to <out>/retrain.json either way.
--out defaults to the --model directory, so a promotion replaces the champion
in place (atomically; a reader sees the old or the new model, never half).

On a schedule: create the first champion once, then retrain daily at 06:15
UTC (Yahoo has closed the UTC day by then). A server started with --model
reads the directory at start: restart it after a promotion.
  closecast train --config default --out /var/lib/closecast/btc-usd
  15 6 * * * closecast retrain --config default --model /var/lib/closecast/btc-usd --json >> /var/log/closecast-retrain.log 2>&1

With a store named (--db URL or $CLOSECAST_DATABASE_URL) the model registry
replaces the directory: the champion is the registry's champion of the
symbol (--model or the embedded model until it has one), the challenger is
stored in the registry either way and made champion in the same transaction
when it wins; --out receives retrain.json only.
  closecast retrain --config default --db postgres://closecast@db.internal/closecast --out /var/log/closecast

Many markets: --symbols retrains each symbol's champion in turn (the config
trained on each symbol's bars) and prints one summary. The champions are
--model/<SYMBOL> directories (written by train --symbols), the embedded
models, or the registry's with --db; decisions go to <out>/<SYMBOL>/retrain.json.
  closecast retrain --config default --symbols BTC-USD,ETH-USD --model /var/lib/closecast/models --json
As an array job each symbol is a task (--shard I/N, or the engine's index)
recorded in --results; --collect prints the summary of them all.`,
	run: runRetrain,
}

// retrainFile is the decision record written beside the artifact.
const retrainFile = "retrain.json"

// retrainReport is retrain.json and the --json output.
type retrainReport struct {
	Decided    time.Time      `json:"decided"`
	Config     string         `json:"config"`
	Symbol     string         `json:"symbol"`
	RecentDays int            `json:"recent_days"`
	Window     config.Range   `json:"window"` // the days both models forecast
	LastKnown  closecast.Date `json:"last_known"`
	Fetch      *retrainFetch  `json:"fetch"` // null with --offline
	Champion   contender      `json:"champion"`
	Challenger contender      `json:"challenger"`
	Promoted   bool           `json:"promoted"`
	Reason     string         `json:"reason"`
	Out        string         `json:"out"`
	Registry   string         `json:"registry,omitempty"` // the store the challenger was kept in (password redacted)
}

// retrainFetch summarises the fetch step.
type retrainFetch struct {
	From    closecast.Date `json:"from"`
	To      closecast.Date `json:"to"`
	Fetched int            `json:"fetched"`
	Added   int            `json:"added"`
	Updated int            `json:"updated"`
}

// contender is one side of the duel.
type contender struct {
	Version string `json:"version"`
	Source  string `json:"source"` // artifact directory, "embedded", or "trained" for the challenger
	// DataRange is the bars its training loaded; TrainedOnWindow is true
	// when that range reaches into the scored window, which flatters it.
	DataRange       config.Range        `json:"data_range"`
	TrainedOnWindow bool                `json:"trained_on_window"`
	Training        *artifact.Training  `json:"training,omitempty"`
	Evaluation      artifact.Evaluation `json:"evaluation"`
}

func runRetrain(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	cfgPath := fs.String("config", "", "training config of the challenger: a YAML `file`, or the name of an embedded one ("+joinNames()+")")
	modelDir := modelFlag(fs)
	out := fs.String("out", "", "`directory` the challenger is promoted to, and retrain.json written in (default: --model, else out/<config name>)")
	symbolsFlag := fs.String("symbols", "", "retrain one champion per symbol (`LIST`, comma-separated), the config's symbol replaced: each champion is --model/<SYMBOL> (default the embedded model of the symbol), each decision in <out>/<SYMBOL>; one summary")
	recent := fs.Int("recent", 60, "score both models on the last `N` known days; the challenger trains on data up to the day before them")
	offline := fs.Bool("offline", false, "do not fetch from Yahoo; use the bars already in the store and the embedded data")
	yahooURLFlag(fs, e)
	dbFlag(fs, e)
	asJSON := fs.Bool("json", false, "print the decision as JSON (the content of retrain.json; with --symbols, the summary)")
	quiet := fs.Bool("quiet", false, "no per-epoch progress lines")
	sf := addShardFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *cfgPath == "":
		return fmt.Errorf("%w: --config is required", errUsage)
	case *recent < 1:
		return fmt.Errorf("%w: --recent must be ≥ 1", errUsage)
	}
	symbols, err := parseSymbols(*symbolsFlag)
	if err != nil {
		return err
	}
	sh, err := sf.resolve(e.getenv)
	if err != nil {
		return err
	}
	if len(symbols) == 0 && (sh.Count > 0 || sf.collect) {
		return fmt.Errorf("%w: retrain shards its --symbols: name them", errUsage)
	}
	cfg, err := shipped.Load(*cfgPath)
	if err != nil {
		return err
	}
	if cfg.Global() {
		// A champion is one market's model; a global challenger would have
		// to win in every market at once, which retrain does not decide.
		return fmt.Errorf("%w: config %s trains one model for several markets (%s); retrain compares one market's champion and challenger: use a single-market config, or closecast train / backtest --config %s", errUsage, cfg.Name, strings.Join(cfg.Symbols, ", "), cfg.Name)
	}
	progress := e.stderr
	if *quiet {
		progress = io.Discard
	}
	o := retrainOptions{modelDir: *modelDir, out: *out, recent: *recent, offline: *offline, progress: progress}
	if len(symbols) > 0 {
		return retrainSymbols(ctx, e, cfg, symbols, o, sh, sf, *asJSON)
	}
	rep, duel, doc, err := retrainOne(ctx, e, cfg, o)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := e.stdout.Write(doc)
		return err
	}
	rep.print(e.stdout, duel)
	return nil
}

// retrainOptions are the settings of one symbol's duel.
type retrainOptions struct {
	modelDir, out string
	recent        int
	offline       bool
	progress      io.Writer
}

// retrainOne runs the duel of cfg's symbol: fetch, train the challenger,
// score both, keep the challenger (retrainKeep) and write retrain.json,
// which it returns.
func retrainOne(ctx context.Context, e *env, cfg config.Config, o retrainOptions) (*retrainReport, backtest.Duel, []byte, error) {
	var duel backtest.Duel
	champion, source, err := retrainChampion(ctx, e, o.modelDir, cfg.Symbol)
	if err != nil {
		return nil, duel, nil, fmt.Errorf("champion: %w", err)
	}
	if !strings.EqualFold(champion.Meta.Symbol, cfg.Symbol) {
		return nil, duel, nil, fmt.Errorf("champion %s forecasts %s, the config %s: a duel needs one symbol", champion.Meta.Version, champion.Meta.Symbol, cfg.Symbol)
	}
	if o.out == "" {
		o.out = o.modelDir
		if o.out == "" {
			o.out = filepath.Join("out", cfg.Name)
		}
	}
	rep := &retrainReport{Config: cfg.Name, Symbol: cfg.Symbol, RecentDays: o.recent, Out: o.out}
	if !o.offline {
		if rep.Fetch, err = retrainFetchNew(ctx, e, cfg.Symbol, o.progress); err != nil {
			return nil, duel, nil, err
		}
	}
	series, err := (&dataFlags{symbol: cfg.Symbol}).load(ctx, e, false)
	if err != nil {
		return nil, duel, nil, err
	}
	rep.LastKnown, _ = series.Last()
	rep.Window = config.Range{From: rep.LastKnown.AddDays(1 - o.recent), To: rep.LastKnown}

	chall, err := trainChallenger(ctx, cfg, series, rep.Window, o.recent, o.progress)
	if err != nil {
		return nil, duel, nil, err
	}
	err = untilDone(ctx, func() (err error) {
		duel, err = backtest.Compare(champion.Pipeline, chall.Pipeline, series.Bars, rep.Window.From, rep.Window.To)
		return err
	})
	if err != nil {
		return nil, duel, nil, err
	}
	if err := rep.decide(champion, source, chall, duel); err != nil {
		return nil, duel, nil, err
	}
	doc, err := rep.record(ctx, e, chall)
	if err != nil {
		return nil, duel, nil, err
	}
	return rep, duel, doc, nil
}

// trainChallenger trains the challenger: cfg up to the day before window
// (the last recent days).
// The window becomes its validation range, so its artifact records the very
// scores it was judged on.
func trainChallenger(ctx context.Context, cfg config.Config, series closecast.Series, window config.Range, recent int, progress io.Writer) (*artifact.Model, error) {
	ccfg := cfg
	ccfg.Data.To = window.From - 1
	ccfg.Validation = config.Validation(window)
	if ccfg.Data.To <= ccfg.Data.From {
		return nil, fmt.Errorf("config %s: data.from %s leaves nothing to train on before the last %d days (%s..%s)",
			cfg.Name, cfg.Data.From, recent, window.From, window.To)
	}
	fmt.Fprintf(progress, "training challenger %s on %s..%s; scoring both on %s..%s\n",
		cfg.Name, ccfg.Data.From, ccfg.Data.To, window.From, window.To)
	res, err := train.Run(ctx, ccfg, series, train.Options{Progress: progress})
	if err != nil {
		return nil, fmt.Errorf("challenger: %w", err)
	}
	if res.Interrupted {
		return nil, fmt.Errorf("challenger: training interrupted: %w", context.Cause(ctx))
	}
	return res.Model, nil
}

// decide records both contenders and the duel's verdict in rep. source is
// where the champion came from (retrainChampion).
func (rep *retrainReport) decide(champion *artifact.Model, source string, chall *artifact.Model, duel backtest.Duel) error {
	// Written by artifact.Write on promotion; computed the same way
	// otherwise, so the record names the challenger either way.
	var err error
	chall.Meta.Version, err = artifactVersion(chall)
	if err != nil {
		return err
	}
	rep.Champion = contender{Version: champion.Meta.Version, Source: source, DataRange: champion.Meta.DataRange,
		TrainedOnWindow: champion.Meta.DataRange.To >= rep.Window.From, Evaluation: duel.Champion}
	training := chall.Meta.Training
	rep.Challenger = contender{Version: chall.Meta.Version, Source: "trained", DataRange: chall.Meta.DataRange,
		TrainedOnWindow: chall.Meta.DataRange.To >= rep.Window.From, Training: &training, Evaluation: duel.Challenger}
	rep.Promoted, rep.Reason = duel.Promote, duel.Reason
	return nil
}

// record keeps chall (retrainKeep: promoted to rep.Out when it won, or
// stored in the registry), then writes retrain.json to rep.Out either way,
// and returns that document.
func (rep *retrainReport) record(ctx context.Context, e *env, chall *artifact.Model) ([]byte, error) {
	var err error
	if rep.Registry, err = retrainKeep(ctx, e, chall, rep.Promoted, rep.Out); err != nil {
		return nil, err
	}
	rep.Decided = time.Now().UTC().Truncate(time.Second)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the reason's "<" stays readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return nil, err
	}
	doc := buf.Bytes()
	if err := atomicfile.Write(filepath.Join(rep.Out, retrainFile), doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// print writes the decision for a person.
func (rep *retrainReport) print(w io.Writer, duel backtest.Duel) {
	fmt.Fprintf(w, "%s: %s\n", rep.Symbol, rep.Reason)
	report.Evaluation(w, "champion "+rep.Champion.Version, duel.Champion)
	report.Evaluation(w, "challenger "+rep.Challenger.Version, duel.Challenger)
	switch {
	case rep.Promoted && rep.Registry != "":
		fmt.Fprintf(w, "promoted: %s is the champion of %s in %s\n", rep.Challenger.Version, rep.Symbol, rep.Registry)
	case rep.Promoted:
		fmt.Fprintf(w, "promoted: %s now holds %s\n", rep.Out, rep.Challenger.Version)
	case rep.Registry != "":
		fmt.Fprintf(w, "kept: %s is stored in %s, not promoted\n", rep.Challenger.Version, rep.Registry)
	}
	fmt.Fprintf(w, "decision: %s\n", filepath.Join(rep.Out, retrainFile))
}

// retrainFetchNew fetches the bars of symbol after the last known day (in
// the store or the embedded data) up to today into the store, as `closecast
// fetch` does.
func retrainFetchNew(ctx context.Context, e *env, symbol string, progress io.Writer) (*retrainFetch, error) {
	store, err := openDB(ctx, e, false)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	from := closecast.MustParseDate("1970-01-01")
	if _, last, ok, err := store.Range(ctx, symbol); err != nil {
		return nil, err
	} else if ok {
		from = last + 1
	}
	if s, err := marketdata.EmbeddedSeries(symbol); err == nil {
		if last, ok := s.Last(); ok && last+1 > from {
			from = last + 1
		}
	}
	client := yahooClient(e)
	to := closecast.Today()
	if client.Now != nil {
		to = closecast.DateOf(client.Now())
	}
	f := &retrainFetch{From: from, To: to}
	if to < from {
		return f, nil
	}
	client.OnRetry = func(attempt int, err error, wait time.Duration) {
		fmt.Fprintf(progress, "  attempt %d failed (%v), retrying in %s\n", attempt, err, wait.Round(time.Millisecond))
	}
	fmt.Fprintf(progress, "fetching %s %s .. %s from %s …\n", symbol, from, to, orDefault(client.BaseURL, "Yahoo Finance"))
	res, err := client.Fetch(ctx, symbol, from, to)
	if err != nil {
		_ = store.LogFetchError(ctx, symbol, from, to, err)
		return nil, fmt.Errorf("fetching new bars (use --offline to retrain on the bars already known): %w", err)
	}
	f.Fetched = len(res.Bars)
	if f.Added, f.Updated, err = store.UpsertFetched(ctx, symbol, from, to, res.Bars); err != nil {
		return nil, err
	}
	return f, nil
}

// artifactVersion computes the version artifact.Write would give m:
// <symbol>-<name>-<first 12 hex of the weights' SHA-256>.
func artifactVersion(m *artifact.Model) (string, error) {
	var b bytes.Buffer
	if err := m.Pipeline.Net.WriteSafetensors(&b); err != nil {
		return "", err
	}
	sum := sha256.Sum256(b.Bytes())
	return fmt.Sprintf("%s-%s-%s", strings.ToLower(m.Meta.Symbol), m.Meta.Name, hex.EncodeToString(sum[:])[:12]), nil
}
