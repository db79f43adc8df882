package database

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/closecast/closecast"
)

// CopyReport counts what Copy wrote into the destination: zero everywhere
// when it already held everything.
type CopyReport struct {
	Symbols     int `json:"symbols"`      // symbols whose bars were read
	BarsAdded   int `json:"bars_added"`   // bars the destination did not have
	BarsUpdated int `json:"bars_updated"` // bars whose values differed
	Fetches     int `json:"fetches"`      // fetch log rows added
	Forecasts   int `json:"forecasts"`    // ledger rows added or changed
	Models      int `json:"models"`       // models added
	Champions   int `json:"champions"`    // champions set
}

// Copy copies everything src holds into dst: bars, the fetch log, the
// ledger of live forecasts, the models and the champions. It is idempotent:
// what dst already holds the same is left alone, so a second Copy reports
// nothing written. Bars go first, so that the ledger's forecasts are scored
// in dst as they were in src. A model dst holds under the same version with
// other contents is an error wrapping closecast.ErrModelConflict.
func Copy(ctx context.Context, dst, src DB) (CopyReport, error) {
	var rep CopyReport
	syms, err := src.Symbols(ctx)
	if err != nil {
		return rep, err
	}
	rep.Symbols = len(syms)
	for _, sym := range syms {
		s, err := src.Bars(ctx, sym, closecast.MustParseDate("1900-01-01"), closecast.MustParseDate("9999-12-31"))
		if err != nil {
			return rep, err
		}
		a, u, err := dst.Upsert(ctx, sym, s.Bars)
		if err != nil {
			return rep, fmt.Errorf("bars of %s: %w", sym, err)
		}
		rep.BarsAdded += a
		rep.BarsUpdated += u
	}

	fetches, err := src.Fetches(ctx, "", 1<<20)
	if err != nil {
		return rep, err
	}
	slices.Reverse(fetches) // oldest first, so dst keeps their order
	if rep.Fetches, err = dst.ImportFetches(ctx, fetches); err != nil {
		return rep, err
	}

	if rep.Forecasts, err = copyLedger(ctx, dst, src); err != nil {
		return rep, err
	}
	if rep.Models, rep.Champions, err = copyModels(ctx, dst, src); err != nil {
		return rep, err
	}
	return rep, nil
}

// copyLedger records in dst the forecasts of src that dst does not hold the
// same, each with the time it was served.
func copyLedger(ctx context.Context, dst, src DB) (int, error) {
	have, err := dst.LedgerEntries(ctx)
	if err != nil {
		return 0, err
	}
	type key struct {
		sym   string
		date  closecast.Date
		model string
	}
	held := make(map[key]closecast.LedgerEntry, len(have))
	for _, e := range have {
		held[key{e.Symbol, e.Date, e.Model}] = e
	}
	entries, err := src.LedgerEntries(ctx)
	if err != nil {
		return 0, err
	}
	// One Record per serving time: its transaction scores the forecasts
	// whose close dst holds.
	var batch []closecast.Prediction
	var at time.Time
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := dst.Record(ctx, at, batch)
		batch = batch[:0]
		return err
	}
	n := 0
	slices.SortStableFunc(entries, func(a, b closecast.LedgerEntry) int { return a.Requested.Compare(b.Requested) })
	for _, e := range entries {
		if h, ok := held[key{e.Symbol, e.Date, e.Model}]; ok && sameEntry(h, e) {
			continue
		}
		if !e.Requested.Equal(at) {
			if err := flush(); err != nil {
				return n, err
			}
			at = e.Requested
		}
		p := e.Prediction
		p.Actual = nil // dst scores it from its own bars
		batch = append(batch, p)
		n++
	}
	return n, flush()
}

// sameEntry reports whether two ledger rows of one key hold the same
// forecast (its distribution included), served at the same second.
func sameEntry(a, b closecast.LedgerEntry) bool {
	sameDist := a.Quantiles == nil && b.Quantiles == nil || a.Quantiles != nil && b.Quantiles != nil && *a.Quantiles == *b.Quantiles
	return a.Value == b.Value && a.LastClose == b.LastClose && sameDist && a.Requested.Unix() == b.Requested.Unix()
}

// copyModels pushes src's models dst does not hold, then makes src's
// champions dst's.
func copyModels(ctx context.Context, dst, src DB) (models, champions int, err error) {
	infos, err := src.Models(ctx, "")
	if err != nil {
		return 0, 0, err
	}
	syms := map[string]bool{}
	for _, info := range infos {
		syms[info.Symbol] = true
		if have, _, err := dst.Model(ctx, info.Version); err == nil && have.Checksum == info.Checksum {
			continue
		} else if err != nil && !errors.Is(err, closecast.ErrModelNotFound) {
			return models, champions, err
		}
		_, files, err := src.Model(ctx, info.Version)
		if err != nil {
			return models, champions, err
		}
		if _, err := dst.PutModel(ctx, files); err != nil {
			return models, champions, err
		}
		models++
	}
	for sym := range syms {
		want, err := src.Champion(ctx, sym)
		if errors.Is(err, closecast.ErrModelNotFound) {
			continue
		} else if err != nil {
			return models, champions, err
		}
		if have, err := dst.Champion(ctx, sym); err == nil && have.Version == want.Version {
			continue
		} else if err != nil && !errors.Is(err, closecast.ErrModelNotFound) {
			return models, champions, err
		}
		if _, err := dst.Promote(ctx, want.Version); err != nil {
			return models, champions, err
		}
		champions++
	}
	return models, champions, nil
}
