// Package testmodel trains the small models tests serve, so that every
// test of a model kind uses the same recipe.
package testmodel

import (
	"context"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/train"
)

// QuantileHead trains the shipped quantile config cut to seconds (4 units,
// 3 epochs, one thread, BTC-USD from 2022) on the embedded data: a real
// quantile head whose outputs are its own 21 levels. It returns the model
// and the whole embedded series.
func QuantileHead(tb testing.TB) (*artifact.Model, closecast.Series) {
	tb.Helper()
	cfg, err := shipped.Load("quantile")
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Data.From = closecast.MustParseDate("2022-01-01")
	cfg.Units, cfg.Epochs, cfg.Threads = 4, 3, 1
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		tb.Fatal(err)
	}
	res, err := train.Run(context.Background(), cfg, s, train.Options{Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		tb.Fatal(err)
	}
	return res.Model, s
}
