package backtest

import (
	"math"
	"strings"
	"testing"

	"github.com/closecast/closecast/features"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/pipeline"
)

// pinned returns the shipped pipeline with its target scaler pinned so it
// forecasts last close × e^r every day, whatever the network outputs.
func pinned(t *testing.T, r float64) *pipeline.Pipeline {
	t.Helper()
	m, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	if m.Pipeline.Target != features.TargetLogReturn {
		t.Fatalf("shipped model predicts %s; this test needs log_return", m.Pipeline.Target)
	}
	p := *m.Pipeline
	p.Output = features.MinMaxScaler{Min: []float64{r}, Max: []float64{r + 1e-12}}
	return &p
}

func TestCompareDecides(t *testing.T) {
	s := btc(t)
	persistence, halving := pinned(t, 0), pinned(t, math.Log(0.5))

	d, err := Compare(halving, persistence, s.Bars, btFrom, btTo)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Promote || !strings.Contains(d.Reason, "challenger promoted") {
		t.Errorf("persistence did not beat a 50 %% fall every day: %+v", d)
	}
	// The pinned-zero challenger is persistence, to rounding.
	if math.Abs(d.Challenger.Model.MAPE-d.Challenger.Persistence.MAPE) > 1e-6 || !d.Champion.Persistence.Same(d.Challenger.Persistence) {
		t.Errorf("challenger MAPE %v, persistence %v / %v", d.Challenger.Model.MAPE, d.Challenger.Persistence.MAPE, d.Champion.Persistence.MAPE)
	}
	if d.Champion.N != 20 || d.Challenger.From != btFrom || d.Challenger.To != btTo {
		t.Errorf("scored %d days %s..%s", d.Champion.N, d.Challenger.From, d.Challenger.To)
	}

	d, err = Compare(persistence, halving, s.Bars, btFrom, btTo)
	if err != nil {
		t.Fatal(err)
	}
	if d.Promote || !strings.Contains(d.Reason, "champion kept") {
		t.Errorf("a worse challenger was promoted: %+v", d)
	}
	// A tie keeps the champion.
	d, err = Compare(persistence, persistence, s.Bars, btFrom, btTo)
	if err != nil {
		t.Fatal(err)
	}
	if d.Promote || !d.Champion.Model.Same(d.Challenger.Model) {
		t.Errorf("tie: promote %v, %+v vs %+v", d.Promote, d.Champion.Model, d.Challenger.Model)
	}
}

// Two pipelines that cannot forecast the same days are not compared.
func TestCompareRefusesDifferentDays(t *testing.T) {
	s := btc(t)
	long := pinned(t, 0)
	short := *long
	short.Window = 10 // an LSTM reads any length; this one needs fewer bars before its first forecast
	from, to := s.Bars[20].Date, s.Bars[100].Date
	_, err := Compare(long, &short, s.Bars, from, to)
	if err == nil || !strings.Contains(err.Error(), "not the same days") {
		t.Errorf("error %v, want one saying the days differ", err)
	}
}
