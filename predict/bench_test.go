package predict

import (
	"context"
	"testing"

	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/pipeline"
)

// BenchmarkPredict is the server's per-request forecast with the shipped
// model over the embedded data: it must not slow down when horizons and
// intervals are added beside it.
func BenchmarkPredict(b *testing.B) {
	m, err := models.Default()
	if err != nil {
		b.Fatal(err)
	}
	svc, ctx := New(m, marketdata.Embedded()), context.Background()
	for b.Loop() {
		if _, err := svc.Predict(ctx, "", d("2025-06-01")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredictHorizon: a week with the default 100-sample intervals.
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
