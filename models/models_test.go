package models

import (
	"bytes"
	"strings"
	"testing"

	"github.com/closecast/closecast/artifact"
)

func TestDefaultLoadsAndVerifies(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	md := m.Meta
	if md.Symbol != "BTC-USD" || md.Name != "default" || !strings.HasPrefix(md.Version, "btc-usd-default-") {
		t.Errorf("metadata: %s %s %s", md.Symbol, md.Name, md.Version)
	}
	if md.Metrics.Holdout == nil || md.Metrics.Validation == nil || md.Metrics.Tuning == nil {
		t.Fatal("the shipped model lacks its evaluations")
	}
	if md.Metrics.Holdout.N != 524 || md.Metrics.Validation.N != 46 {
		t.Errorf("hold-out %d days, validation %d days; want 524 and 46", md.Metrics.Holdout.N, md.Metrics.Validation.N)
	}
	for _, name := range []string{artifact.WeightsFile, "loss.svg", "holdout.png", "validation.svg"} {
		if _, ok := md.Files[name]; !ok {
			t.Errorf("%s not in the artifact", name)
		}
	}
	if m2, _ := Default(); m2 != m {
		t.Error("Default loads the model again on every call")
	}
}

// weights returns the embedded model directory dir's weights file.
func weights(t *testing.T, dir string) []byte {
	b, err := files.ReadFile(dir + "/" + artifact.WeightsFile)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestShippedWeightsRoundTrip(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := m.Pipeline.Net.WriteSafetensors(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), weights(t, DefaultName)) {
		t.Error("re-encoding the loaded weights does not give the shipped file back")
	}
}
