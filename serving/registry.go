package serving

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
)

// Registry is the part of a model registry a server reads: every stored
// model (to find the champions) and one model's files. database.DB is one.
type Registry interface {
	Models(ctx context.Context, symbol string) ([]closecast.ModelInfo, error)
	Model(ctx context.Context, version string) (closecast.ModelInfo, artifact.Files, error)
}

// Champions returns the models to serve: each symbol's champion in reg,
// and the model of base for a symbol without one (logged as a fallback).
// loaded caches artifacts already read, by version (may be nil); it is
// updated. On a registry error base is returned with the error.
func Champions(ctx context.Context, reg Registry, base []*artifact.Model, loaded map[string]*artifact.Model, log *slog.Logger) ([]*artifact.Model, error) {
	infos, err := reg.Models(ctx, "")
	if err != nil {
		return base, fmt.Errorf("reading the registry's champions: %w", err)
	}
	champ := map[string]*artifact.Model{}
	for _, i := range infos {
		if !i.Champion {
			continue
		}
		m := loaded[i.Version]
		if m == nil {
			_, files, err := reg.Model(ctx, i.Version)
			if err != nil {
				return base, fmt.Errorf("reading champion %s: %w", i.Version, err)
			}
			if m, err = artifact.ReadFS(files.FS()); err != nil {
				return base, fmt.Errorf("champion %s: %w", i.Version, err)
			}
			if loaded != nil {
				loaded[i.Version] = m
			}
		}
		champ[m.Meta.Symbol] = m
	}
	var out []*artifact.Model
	for _, m := range base {
		if c := champ[m.Meta.Symbol]; c != nil {
			out = append(out, c)
			delete(champ, m.Meta.Symbol)
			continue
		}
		if log != nil {
			log.Info("the registry has no champion for this symbol; serving the built-in model", "symbol", m.Meta.Symbol, "model", m.Meta.Version)
		}
		out = append(out, m)
	}
	rest := make([]*artifact.Model, 0, len(champ))
	for _, m := range champ {
		rest = append(rest, m)
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Meta.Symbol < rest[j].Meta.Symbol })
	return append(out, rest...), nil
}

// DefaultPoll is how often Watch reads the registry without a
// notification: LISTEN does not work behind a transaction-mode pooler
// (PgBouncer, RDS Proxy), so the poll alone must bring a promotion within
// the 30 s the API promises.
const DefaultPoll = 15 * time.Second

// Watch keeps c serving reg's champions (base where the registry has none)
// until ctx ends: it reads them every poll and whenever notify delivers
// (a LISTEN on the promotion channel; nil for none), and swaps the served
// set whole when a version changed. A registry that cannot be read is
// logged and the served set kept.
func (c *Chain) Watch(ctx context.Context, reg Registry, base []*artifact.Model, poll time.Duration, notify <-chan string, log *slog.Logger) {
	if poll <= 0 {
		poll = DefaultPoll
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	loaded := map[string]*artifact.Model{}
	t := time.NewTicker(poll)
	defer t.Stop()
	quiet := slog.New(slog.DiscardHandler) // the fallbacks were logged at start
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case sym, ok := <-notify:
			if !ok {
				notify = nil
				continue
			}
			log.Info("a model was promoted", "symbol", sym)
		}
		rctx, cancel := context.WithTimeout(ctx, poll)
		ms, err := Champions(rctx, reg, base, loaded, quiet)
		cancel()
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				log.Warn("the registry could not be read; serving the current models", "err", err)
			}
			continue
		}
		c.swapIfChanged(ms, log)
	}
}

// swapIfChanged swaps ms in when a symbol's version differs from the
// served one.
func (c *Chain) swapIfChanged(ms []*artifact.Model, log *slog.Logger) {
	cur := c.Markets()
	changed := len(cur) != len(ms)
	for _, m := range ms {
		if cur[m.Meta.Symbol] != m.Meta.Version {
			changed = true
			log.Info("serving a new model", "symbol", m.Meta.Symbol, "model", m.Meta.Version, "was", cur[m.Meta.Symbol])
		}
	}
	if changed {
		c.Swap(ms)
	}
}
