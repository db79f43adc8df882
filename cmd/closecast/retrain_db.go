package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/report"
)

// retrain with a model registry: when the command names a store (--db or
// $CLOSECAST_DATABASE_URL), the champion is the registry's champion of the
// symbol (else --model, else the embedded model, as without a registry), and
// the challenger is stored in the registry whether it wins or not, promoted
// in the same transaction when it wins. retrain.json records the decision
// in --out either way.

// retrainRegistry reports whether retrain uses a registry: a store named.
func retrainRegistry(e *env) bool { return dbURL(e) != "" }

// retrainChampion loads the champion of symbol and says where it came from:
// the registry's champion, the --model directory or "embedded".
func retrainChampion(ctx context.Context, e *env, modelDir, symbol string) (*artifact.Model, string, error) {
	if retrainRegistry(e) {
		db, err := openDB(ctx, e, false)
		if err != nil {
			return nil, "", err
		}
		defer db.Close()
		ch, err := db.Champion(ctx, symbol)
		switch {
		case err == nil:
			_, files, err := db.Model(ctx, ch.Version)
			if err != nil {
				return nil, "", err
			}
			m, err := artifact.Verify(files)
			if err != nil {
				return nil, "", err
			}
			return m, "registry", nil
		case !errors.Is(err, closecast.ErrModelNotFound):
			return nil, "", err
		}
		// No champion yet: the first retrain duels --model or the
		// embedded model, and a winning challenger becomes the first.
	}
	if modelDir == "" {
		m, err := models.Embedded(symbol)
		return m, "embedded", err
	}
	m, err := loadModel(modelDir)
	return m, modelDir, err
}

// retrainKeep keeps the challenger: in the registry (promoted when it won,
// in one transaction) when retrain uses one, else written to out when it
// won. out is created either way, for retrain.json. It returns the
// registry's location, password redacted ("" without one).
func retrainKeep(ctx context.Context, e *env, chall *artifact.Model, promoted bool, out string) (string, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	if !retrainRegistry(e) {
		if !promoted {
			return "", nil
		}
		if err := artifact.Write(out, chall, report.Plots(chall)); err != nil {
			return "", fmt.Errorf("promoting the challenger: %w", err)
		}
		return "", nil
	}
	tmp, err := os.MkdirTemp("", "closecast-challenger-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "model")
	if err := artifact.Write(dir, chall, report.Plots(chall)); err != nil {
		return "", fmt.Errorf("writing the challenger: %w", err)
	}
	files, err := artifact.ReadFiles(dir)
	if err != nil {
		return "", err
	}
	loc, err := dbLocation(e)
	if err != nil {
		return "", err
	}
	db, err := openDB(ctx, e, false)
	if err != nil {
		return "", err
	}
	defer db.Close()
	put := db.PutModel
	if promoted {
		put = db.PutChampion
	}
	_, err = put(ctx, files)
	if errors.Is(err, closecast.ErrModelConflict) {
		// Its version names its weights: the registry holds these very
		// weights, trained before from the same data at another time.
		// Keep that model; promote it if the challenger won.
		err = nil
		if promoted {
			_, err = db.Promote(ctx, chall.Meta.Version)
		}
	}
	if err != nil {
		return "", fmt.Errorf("storing the challenger in the registry: %w", err)
	}
	return loc.String(), nil
}
