package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/internal/pgtest"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/postgres"
)

// get returns the status and body of GET url ("" and 0 when it fails).
func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// renamed returns the files of m under another name and version: a new
// model of m's symbol for the registry.
func renamed(t *testing.T, m *artifact.Model, name string) artifact.Files {
	t.Helper()
	v := *m
	v.Meta.Name = name // Encode names the version after it
	files, err := artifact.Encode(&v)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestServeDBStartsDegradedAndRecovers: `serve` with CLOSECAST_DATABASE_URL
// naming a PostgreSQL that is down starts anyway, answers /predict from the
// embedded models and /readyz 503 naming the database; once the database
// is up it becomes ready and serves the registry's BTC-USD champion, and
// the embedded ETH-USD model (no champion) beside it.
func TestServeDBStartsDegradedAndRecovers(t *testing.T) {
	c := pgtest.Stoppable(t)
	url := c.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	btc, err := models.Embedded("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	champ, err := db.PutChampion(ctx, renamed(t, btc, "champ"))
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			_ = c.Start()
		}
	}()

	base, stderr, stop := startServeWith(t, map[string]string{"CLOSECAST_HOME": t.TempDir(), "CLOSECAST_DATABASE_URL": url}, nil)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	if code, body := get(base + "/readyz"); code != 503 || !strings.Contains(body, "database") {
		t.Errorf("/readyz while the database is down: %d %s", code, body)
	}
	var p struct{ Model, Symbol string }
	code, body := get(base + "/predict?date=2025-05-01")
	if code != 200 || json.Unmarshal([]byte(body), &p) != nil || p.Model != btc.Meta.Version {
		t.Errorf("/predict while the database is down: %d %s, want the embedded %s\n%s", code, body, btc.Meta.Version, stderr)
	}

	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	for ctx.Err() == nil {
		code, _ := get(base + "/readyz")
		_, body := get(base + "/api/models")
		if code == 200 && strings.Contains(body, champ.Version) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ctx.Err() != nil {
		code, body := get(base + "/readyz")
		_, models := get(base + "/api/models")
		t.Fatalf("serve did not recover: /readyz %d %s; /api/models %s\n%s", code, body, models, stderr)
	}
	code, body = get(base + "/predict?date=2025-05-01")
	if code != 200 || json.Unmarshal([]byte(body), &p) != nil || p.Model != champ.Version {
		t.Errorf("/predict after recovery: %d %s, want the champion %s", code, body, champ.Version)
	}
	eth, _ := models.Embedded("ETH-USD")
	code, body = get(base + "/predict?symbol=ETH-USD&date=2025-05-01")
	if code != 200 || json.Unmarshal([]byte(body), &p) != nil || p.Model != eth.Meta.Version {
		t.Errorf("ETH-USD after recovery: %d %s, want the embedded %s", code, body, eth.Meta.Version)
	}
	if !strings.Contains(stderr.String(), "no champion") {
		t.Errorf("the embedded fallback for ETH-USD is not logged: %s", stderr)
	}
	stopped = true
	if code := stop(); code != 0 {
		t.Errorf("serve exited %d: %s", code, stderr)
	}
}
