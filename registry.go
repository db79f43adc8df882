package closecast

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"sort"
	"testing/fstest"
	"time"
)

// ModelFiles are a model artifact's files by name: model.json and the files
// it checksums (package artifact, whose Files is this type, verifies them).
type ModelFiles map[string][]byte

// FS returns the files as a read-only file system.
func (f ModelFiles) FS() fs.FS {
	m := make(fstest.MapFS, len(f))
	for name, b := range f {
		m[name] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
	return m
}

// Names returns the file names, sorted.
func (f ModelFiles) Names() []string {
	out := make([]string, 0, len(f))
	for name := range f {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Size returns the bytes of all files.
func (f ModelFiles) Size() int64 {
	var n int64
	for _, b := range f {
		n += int64(len(b))
	}
	return n
}

// Registry keeps model artifacts whole, verified by their checksums on the
// way in and out, with one champion per symbol: the model servers load.
type Registry interface {
	// PutModel stores an artifact; the same version with the same contents
	// again changes nothing, with other contents it wraps ErrModelConflict.
	PutModel(ctx context.Context, files ModelFiles) (ModelInfo, error)
	// PutChampion is PutModel and Promote in one transaction.
	PutChampion(ctx context.Context, files ModelFiles) (ModelInfo, error)
	// Promote makes version its symbol's champion.
	Promote(ctx context.Context, version string) (ModelInfo, error)
	// Model returns a stored model and its files.
	Model(ctx context.Context, version string) (ModelInfo, ModelFiles, error)
	// Models lists the stored models of symbol ("" for every symbol).
	Models(ctx context.Context, symbol string) ([]ModelInfo, error)
	// Champion describes symbol's champion, or wraps ErrModelNotFound.
	Champion(ctx context.Context, symbol string) (ModelInfo, error)
}

// FetchLog is a store's record of provider fetches.
type FetchLog interface {
	// UpsertFetched is Store.Upsert for bars fetched for [from, to], logging
	// the fetch in the same transaction.
	UpsertFetched(ctx context.Context, symbol string, from, to Date, bars []Bar) (added, updated int, err error)
	// LogFetchError logs a fetch that failed with fetchErr.
	LogFetchError(ctx context.Context, symbol string, from, to Date, fetchErr error) error
	// Fetches returns symbol's last n fetches, newest first.
	Fetches(ctx context.Context, symbol string, n int) ([]FetchRecord, error)
}

// Ledger keeps the live forecasts a server answered, each scored when its
// day's close is stored.
type Ledger interface {
	// Record stores forecasts served at time at, with their distributions
	// (Prediction.Quantiles, refused unless ValidateDistribution accepts
	// them); the same (symbol, date, model) again replaces the earlier
	// record.
	Record(ctx context.Context, at time.Time, ps []Prediction) error
	// Scored returns symbol's recorded forecasts whose close is known
	// (with their distributions when kept), for the last days days ending
	// on the newest scored one, newest first.
	Scored(ctx context.Context, symbol string, days int) ([]Prediction, error)
	// Pending counts symbol's recorded forecasts whose close is not known.
	Pending(ctx context.Context, symbol string) (int, error)
}

// Database is everything a shared store keeps — bars, the fetch log, the
// ledger and the model registry — and what moves them whole between
// backends (`closecast db copy`).
type Database interface {
	Store
	FetchLog
	Ledger
	Registry
	// ImportFetches adds fetch-log rows as they are; it returns how many
	// were new.
	ImportFetches(ctx context.Context, rs []FetchRecord) (int, error)
	// LedgerEntries returns every ledger row, for a copy.
	LedgerEntries(ctx context.Context) ([]LedgerEntry, error)
	Close() error
}

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

// LedgerEntry is one row of a store's ledger of live forecasts as `closecast
// db copy` moves it: the forecast (with its actual once scored) and when it
// was last served.
type LedgerEntry struct {
	Prediction
	Requested time.Time `json:"requested"`
}
