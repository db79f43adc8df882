package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/closecast/closecast/config"
)

// retrainSummary is the --json output of retrain --symbols: every symbol's
// decision (each also in its retrain.json), in the order named.
type retrainSummary struct {
	Config    string          `json:"config"`
	Symbols   []string        `json:"symbols"`
	Promoted  int             `json:"promoted"`
	Decisions []retrainReport `json:"decisions"`
}

// retrainSymbols runs the duel of each symbol this shard owns (all of them
// unsharded), or collects every shard's decisions, and prints one summary.
func retrainSymbols(ctx context.Context, e *env, cfg config.Config, symbols []string, o retrainOptions, sh shard, sf *shardFlags, asJSON bool) error {
	job := jobName("retrain", cfg.Name, symbols, o.recent, o.modelDir, o.out)
	var reps []retrainReport
	if sf.collect {
		raws, err := collectTasks(sf.results, job, len(symbols))
		if err != nil {
			return err
		}
		reps = make([]retrainReport, len(raws))
		for i, raw := range raws {
			if err := json.Unmarshal(raw, &reps[i]); err != nil {
				return fmt.Errorf("task %d: %w", i, err)
			}
		}
	}
	for i, sym := range symbols {
		if sf.collect || !sh.owns(i) {
			continue
		}
		scfg := cfg
		scfg.Symbol = sym
		so := o
		if o.modelDir != "" {
			so.modelDir = filepath.Join(o.modelDir, sym)
		}
		switch {
		case o.out != "":
			so.out = filepath.Join(o.out, sym)
		case so.modelDir != "":
			so.out = so.modelDir
		default:
			so.out = filepath.Join("out", cfg.Name, sym)
		}
		fmt.Fprintf(o.progress, "── %s (%d of %d) ──\n", sym, i+1, len(symbols))
		rep, _, _, err := retrainOne(ctx, e, scfg, so)
		if err != nil {
			return fmt.Errorf("%s: %w", sym, err)
		}
		if sh.Count > 0 {
			if err := writeTask(sf.results, job, i, len(symbols), rep); err != nil {
				return err
			}
		}
		reps = append(reps, *rep)
	}
	if sh.Count > 0 && !asJSON {
		fmt.Fprintf(e.stdout, "shard %s: %d of %d symbols written to %s\n", sh, len(reps), len(symbols), sf.results)
		return nil
	}
	sum := retrainSummary{Config: cfg.Name, Symbols: symbols, Decisions: reps}
	for _, r := range reps {
		if r.Promoted {
			sum.Promoted++
		}
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	sum.print(e.stdout)
	return nil
}

// print writes one line per symbol and the count of promotions.
func (s retrainSummary) print(w io.Writer) {
	for _, r := range s.Decisions {
		verdict := "kept champion " + r.Champion.Version
		if r.Promoted {
			verdict = "promoted " + r.Challenger.Version
		}
		fmt.Fprintf(w, "%-10s %s: %s (%s)\n", r.Symbol, verdict, r.Reason, filepath.Join(r.Out, retrainFile))
	}
	fmt.Fprintf(w, "%d of %d challengers promoted\n", s.Promoted, len(s.Decisions))
}
