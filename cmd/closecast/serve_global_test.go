package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/models"
)

// serve --models with a directory holding a global model serves each of
// its markets from it: /api/models lists both with the global model's
// version, and ETH-USD is forecast with ETH-USD's scalers, in its own price
// range. A per-symbol model of one of its markets beside it is refused, as
// two per-symbol models of one symbol are.
func TestServeModelsDirExpandsAGlobalModel(t *testing.T) {
	out, _ := trainTiny(t, tinyGlobalYAML)
	dir := filepath.Dir(out) // the artifact directory and train's config
	base, stderr, stop := startServeWith(t, map[string]string{"CLOSECAST_HOME": t.TempDir()}, nil, "--models", dir, "--cache-ttl", "0")
	type modelsReply struct {
		Models []struct{ Symbol, Version string }
	}
	got := getJSON[modelsReply](t, "GET", base+"/api/models", "")
	versions := map[string]string{}
	for _, m := range got.Models {
		versions[m.Symbol] = m.Version
	}
	var weights string
	for _, sym := range []string{"BTC-USD", "ETH-USD"} {
		prefix := strings.ToLower(sym) + "-tiny-global-"
		v := versions[sym]
		if !strings.HasPrefix(v, prefix) {
			t.Fatalf("/api/models serves %s with %q, want the global model's %s…: %+v", sym, v, prefix, got.Models)
		}
		if weights == "" {
			weights = strings.TrimPrefix(v, prefix)
		} else if strings.TrimPrefix(v, prefix) != weights {
			t.Errorf("%s's weights %q differ from BTC-USD's %q: not one global model", sym, v, weights)
		}
	}
	type predictReply struct {
		Symbol, Model string
		Prediction    float64
	}
	const date = "2025-06-10"
	for _, sym := range []string{"ETH-USD", "BTC-USD"} {
		p := getJSON[predictReply](t, "GET", base+"/predict?symbol="+sym+"&date="+date, "")
		last := lastClose(t, sym, date)
		if p.Symbol != sym || p.Model != versions[sym] || p.Prediction < 0.8*last || p.Prediction > 1.2*last {
			t.Errorf("/predict %s: %+v, want the model %s and a forecast near the last close %v", sym, p, versions[sym], last)
		}
	}
	if code := stop(); code != 0 {
		t.Errorf("serve exited %d: %s", code, stderr)
	}

	// A per-symbol model of ETH-USD beside the global model: two models of
	// ETH-USD, refused naming both directories.
	eth, err := models.Embedded("ETH-USD")
	if err != nil {
		t.Fatal(err)
	}
	c := *eth // Write sets the metadata's file list: not on the shared embedded model
	if err := artifact.Write(filepath.Join(dir, "eth"), &c, nil); err != nil {
		t.Fatal(err)
	}
	_, err = servedModels("", dir)
	if err == nil || !strings.Contains(err.Error(), "both forecast ETH-USD") || !strings.Contains(err.Error(), out) {
		t.Errorf("a global model and a per-symbol model of ETH-USD: %v", err)
	}
}
