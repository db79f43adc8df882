package predict

import (
	"context"
	"testing"

	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/pipeline"
)

// BenchmarkPredictHorizon: a week with the default 100-sample intervals,
// the shipped model over the embedded data (compare BenchmarkPredictShipped,
// the one-day hot path, which intervals never touch).
func BenchmarkPredictHorizon(b *testing.B) {
	m, err := models.Default()
	if err != nil {
		b.Fatal(err)
	}
	svc, ctx := New(m, marketdata.Embedded()), context.Background()
	opt := pipeline.HorizonOptions{Horizon: 7, Samples: pipeline.DefaultSamples, Seed: pipeline.DefaultSeed}
	for b.Loop() {
		if _, err := svc.PredictHorizon(ctx, "", d("2025-06-01"), opt); err != nil {
			b.Fatal(err)
		}
	}
}
