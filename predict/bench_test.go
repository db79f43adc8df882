package predict

import (
	"context"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
)

// BenchmarkPredictShipped is one in-process forecast as the server makes
// it: the shipped model over the embedded data (bars, features, scaling,
// network, price). The target is ≤ 50 µs.
func BenchmarkPredictShipped(b *testing.B) {
	m, err := models.Default()
	if err != nil {
		b.Fatal(err)
	}
	svc := New(m, history.New(marketdata.Embedded(), nil, nil))
	ctx := context.Background()
	day := closecast.MustParseDate("2025-07-10")
	if _, err := svc.Predict(ctx, "BTC-USD", day); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Predict(ctx, "BTC-USD", day); err != nil {
			b.Fatal(err)
		}
	}
}
