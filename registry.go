package closecast

import (
	"encoding/json"
	"errors"
	"time"
)

// ModelInfo describes one model kept in a model registry (a database shared
// by servers, see package postgres; or the local store, package sqlite). The
// model itself is an artifact directory stored whole, file by file.
type ModelInfo struct {
	Version  string    `json:"version"`  // the artifact's version, unique in a registry
	Symbol   string    `json:"symbol"`   // the market it forecasts, normalized
	Created  time.Time `json:"created"`  // when it was trained
	Pushed   time.Time `json:"pushed"`   // when the registry received it
	Checksum string    `json:"checksum"` // SHA-256 of its model.json, which checksums every other file
	Size     int64     `json:"size"`     // bytes of all its files
	Champion bool      `json:"champion"` // the model its symbol is served with
	// Metrics are the artifact's evaluations as model.json holds them.
	Metrics json.RawMessage `json:"metrics,omitempty"`
}

// Errors of a model registry.
var (
	// ErrModelNotFound is wrapped when no model has the version asked for,
	// or a symbol has no champion.
	ErrModelNotFound = errors.New("model not found")
	// ErrModelConflict is wrapped when a model is pushed under a version the
	// registry already holds with different contents.
	ErrModelConflict = errors.New("a different model with this version is already stored")
)

// FetchRecord is one row of a store's fetch log: a request to a provider for
// the bars of Symbol in [From, To], how many bars it added and updated, and
// Err, the provider's error ("" when the fetch was stored).
type FetchRecord struct {
	Symbol  string    `json:"symbol"`
	From    Date      `json:"from"`
	To      Date      `json:"to"`
	Added   int       `json:"added"`
	Updated int       `json:"updated"`
	Err     string    `json:"error,omitempty"`
	At      time.Time `json:"at"`
}
