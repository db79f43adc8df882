package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/closecast/closecast/artifact"

	"github.com/closecast/closecast/models"
)

// modelFlag registers --model: an artifact directory, or empty for the
// model embedded in the binary.
func modelFlag(fs *flag.FlagSet) *string {
	return fs.String("model", "", "artifact `directory` written by 'closecast train' (default: the embedded "+models.DefaultName+" model)")
}

// loadModel reads the artifact at dir, or the embedded default model.
var loadModel = models.Load

// modelFor returns m as the model of market symbol: a global model's
// market (a usage error naming its markets when it has no such market),
// or a single-market model as it is, as before global models.
func modelFor(m *artifact.Model, symbol string) (*artifact.Model, error) {
	v, err := m.For(symbol)
	if errors.Is(err, artifact.ErrUnknownMarket) {
		return nil, fmt.Errorf("%w: --symbol: %v", errUsage, err)
	}
	return v, err
}
