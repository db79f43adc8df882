package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/internal/pgtest"
)

// registryModels lists the registry's models of BTC-USD through the CLI.
func registryModels(t *testing.T, home, db string) []closecast.ModelInfo {
	t.Helper()
	var infos []closecast.ModelInfo
	if err := json.Unmarshal([]byte(mustCLI(t, home, nil, nil, "models", "list", "--json", "--db", db)), &infos); err != nil {
		t.Fatal(err)
	}
	return infos
}

// TestRetrainDBPromotesInTheRegistry: with --db and no champion in the
// registry yet, the challenger duels --model; it wins and becomes the
// registry's champion, and --out gets the decision but no artifact. The next
// retrain duels the registry's champion.
func TestRetrainDBPromotesInTheRegistry(t *testing.T) {
	srv, _ := retrainYahoo(t, 30)
	home := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "small.yaml")
	if err := os.WriteFile(cfg, []byte(retrainConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	db := "sqlite:" + filepath.Join(t.TempDir(), "registry.db")
	outDir := filepath.Join(t.TempDir(), "decisions")
	champDir := constantChampion(t, math.Log(0.5))
	stdout, errOut, err := retrainRun(t, home, srv, "--config", cfg, "--model", champDir, "--out", outDir, "--recent", "20", "--db", db, "--quiet")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	d, raw := readRetrainDoc(t, filepath.Join(outDir, "retrain.json"))
	if !d.Promoted || d.Champion.Source != champDir {
		t.Fatalf("first retrain: promoted %v, champion from %s", d.Promoted, d.Champion.Source)
	}
	if !strings.Contains(string(raw), `"registry": "`+strings.TrimPrefix(db, "sqlite:")+`"`) {
		t.Errorf("retrain.json does not name the registry:\n%s", raw)
	}
	if !strings.Contains(stdout, "promoted: "+d.Challenger.Version+" is the champion of BTC-USD in ") {
		t.Errorf("output:\n%s", stdout)
	}
	infos := registryModels(t, home, db)
	if len(infos) != 1 || infos[0].Version != d.Challenger.Version || !infos[0].Champion {
		t.Fatalf("registry after a win: %+v, want %s as champion", infos, d.Challenger.Version)
	}
	if _, err := os.Stat(filepath.Join(outDir, artifact.MetadataFile)); err == nil {
		t.Errorf("--out holds an artifact: the registry keeps the model")
	}
	if _, err := os.Stat(filepath.Join(champDir, "retrain.json")); err == nil {
		t.Errorf("the --model directory was written to")
	}

	// Again, offline: the registry's champion is the champion now, and the
	// same data trains the same weights, a tie that keeps it.
	_, errOut, err = retrainRun(t, home, srv, "--config", cfg, "--model", champDir, "--out", outDir, "--recent", "20", "--db", db, "--offline", "--quiet")
	if err != nil {
		t.Fatalf("second retrain: %v\n%s", err, errOut)
	}
	d2, _ := readRetrainDoc(t, filepath.Join(outDir, "retrain.json"))
	if d2.Champion.Source != "registry" || d2.Champion.Version != d.Challenger.Version || d2.Promoted {
		t.Errorf("second retrain: champion %s from %s, promoted %v", d2.Champion.Version, d2.Champion.Source, d2.Promoted)
	}
	if infos := registryModels(t, home, db); len(infos) != 1 || !infos[0].Champion {
		t.Errorf("registry after the tie: %+v", infos)
	}
}

// TestRetrainDBKeepsTheLoserUnpromoted: on PostgreSQL, a champion pushed to
// the registry that cannot be beaten stays champion; the losing challenger
// is stored beside it, not promoted, and the decision recorded.
func TestRetrainDBKeepsTheLoserUnpromoted(t *testing.T) {
	srv, _ := retrainYahoo(t, 30)
	home := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "small.yaml")
	if err := os.WriteFile(cfg, []byte(retrainConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	db := withPassword(t, pgtest.NewDatabase(t))
	champ := constantChampion(t, retrainGrowth)
	mustCLI(t, home, nil, nil, "models", "push", champ, "--promote", "--db", db)
	champVersion := registryModels(t, home, db)[0].Version
	outDir := filepath.Join(t.TempDir(), "decisions")
	stdout, errOut, err := retrainRun(t, home, srv, "--config", cfg, "--out", outDir, "--recent", "20", "--db", db, "--quiet")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	d, raw := readRetrainDoc(t, filepath.Join(outDir, "retrain.json"))
	if strings.Contains(stdout+errOut+string(raw), testPassword) {
		t.Errorf("retrain shows the database password:\n%s%s%s", stdout, errOut, raw)
	}
	if d.Promoted || d.Champion.Source != "registry" || d.Champion.Version != champVersion {
		t.Fatalf("promoted %v, champion %s from %s; want %s from the registry kept", d.Promoted, d.Champion.Version, d.Champion.Source, champVersion)
	}
	if !strings.Contains(stdout, "kept: "+d.Challenger.Version+" is stored in postgres://") {
		t.Errorf("output:\n%s", stdout)
	}
	infos := registryModels(t, home, db)
	if len(infos) != 2 {
		t.Fatalf("registry: %+v, want the champion and the stored challenger", infos)
	}
	for _, m := range infos {
		if m.Champion != (m.Version == champVersion) {
			t.Errorf("%s champion %v: want only %s", m.Version, m.Champion, champVersion)
		}
	}
	// The stored bars came from the fetch, into PostgreSQL.
	if out := mustCLI(t, home, nil, nil, "data", "--db", db, "--from", d.LastKnown); !strings.Contains(out, d.LastKnown) {
		t.Errorf("the fetched days are not in PostgreSQL:\n%s", out)
	}
}
