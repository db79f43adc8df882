package main

import (
	"flag"

	"github.com/closecast/closecast/models"
)

// modelFlag registers --model: an artifact directory, or empty for the
// model embedded in the binary.
func modelFlag(fs *flag.FlagSet) *string {
	return fs.String("model", "", "artifact `directory` written by 'closecast train' (default: the embedded "+models.DefaultName+" model)")
}

// loadModel reads the artifact at dir, or the embedded default model.
var loadModel = models.Load
