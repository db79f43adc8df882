// Package models embeds the model closecast ships, so that `closecast
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
// bit for bit (see TestShippedModelIsReproducible).
package models

import (
	"embed"
	"io/fs"
	"sync"

	"github.com/closecast/closecast/artifact"
)

// DefaultName names the embedded default model's directory.
const DefaultName = "btc-usd"

//go:embed btc-usd
var files embed.FS

var defaultModel = sync.OnceValues(func() (*artifact.Model, error) {
	sub, err := fs.Sub(files, DefaultName)
	if err != nil {
		return nil, err
	}
	return artifact.ReadFS(sub)
})

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
