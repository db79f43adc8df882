// Package models embeds the models closecast ships, so that `closecast
// predict`, `closecast serve` and the Lambda work out of the box with no
// files beside the binary.
//
// btc-usd/ (see README.md) is the artifact written by
//
//	closecast train --config config/shipped/default.yaml --out out/default
//	cp -RL out/default/. models/btc-usd/
//
// (train writes a link to a version directory, swapped atomically; the
// embed directive needs the plain directory the copy makes)
//
// and that command, with the config's thread count, reproduces its weights
// bit for bit (see TestShippedModelIsReproducible). eth-usd/ is ETH-USD's,
// from config/shipped/eth-default.yaml the same way; Embedded finds a model by
// symbol.
package models

import (
	"embed"
	"sync"

	"github.com/closecast/closecast/artifact"
)

// DefaultName names the embedded default model's directory.
const DefaultName = "btc-usd"

//go:embed btc-usd eth-usd
var files embed.FS

var defaultModel = sync.OnceValues(func() (*artifact.Model, error) { return readEmbedded(DefaultName) })

// Default returns the embedded default model, loaded and verified once.
// Callers share it: it must not be modified.
func Default() (*artifact.Model, error) { return defaultModel() }

// Load reads and verifies the artifact in dir (checksums, schema), or
// returns the embedded default model when dir is empty: the one way every
// command and the Lambda find the model they serve.
func Load(dir string) (*artifact.Model, error) {
	if dir == "" {
		return Default()
	}
	return artifact.Read(dir)
}
