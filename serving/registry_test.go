package serving

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/internal/pgtest"
	"github.com/closecast/closecast/postgres"
	"github.com/closecast/closecast/server"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// guard bounds every wait below: a hang guard, not a performance claim.
const guard = 2 * time.Minute

// variant returns m's files under another name and version: a new model
// of the same symbol for the registry (the same weights; only the version
// the answers name differs).
func variant(t *testing.T, m *artifact.Model, name string) artifact.Files {
	t.Helper()
	v := *m
	v.Meta.Name = name // Encode names the version after it
	files, err := artifact.Encode(&v)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestPromotionSwapsUnderLoad: a server serving the registry's BTC-USD
// champion (and the embedded ETH-USD model, for which the registry has
// none) picks up a promotion without a restart, while requests run: none
// fails, and each answer names the old or the new version, never another.
func TestPromotionSwapsUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := embeddedModels(t)
	oldInfo, err := db.PutChampion(ctx, variant(t, base[0], "old"))
	if err != nil {
		t.Fatal(err)
	}
	newInfo, err := db.PutModel(ctx, variant(t, base[0], "new"))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Champions(ctx, db, base, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].Meta.Version != oldInfo.Version || ms[1].Meta.Version != base[1].Meta.Version {
		t.Fatalf("served at start: %s, %s; want the champion %s and the embedded %s", ms[0].Meta.Version, ms[1].Meta.Version, oldInfo.Version, base[1].Meta.Version)
	}
	chain := New(Options{Models: ms, Server: server.Config{CacheTTL: time.Hour}})
	defer chain.Close(context.Background())
	notify := make(chan string, 1)
	go db.Listen(ctx, notify, nil)
	// A long poll: the swap below comes from the notification.
	go chain.Watch(ctx, db, base, time.Hour, notify, nil)
	ts := httptest.NewServer(chain)
	defer ts.Close()

	var (
		sawNew   atomic.Bool
		failures atomic.Int64
		answers  atomic.Int64
		mu       sync.Mutex
		bad      []string
	)
	days := []string{"2025-04-28", "2025-04-29", "2025-04-30", "2025-05-01"}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			afterNew := 0
			for i := 0; afterNew < 50 && ctx.Err() == nil; i++ {
				resp, err := http.Get(ts.URL + "/predict?date=" + days[(g+i)%len(days)])
				if err != nil {
					failures.Add(1)
					continue
				}
				var got server.PredictResponse
				err = json.NewDecoder(resp.Body).Decode(&got)
				resp.Body.Close()
				answers.Add(1)
				switch {
				case resp.StatusCode != 200 || err != nil:
					failures.Add(1)
				case got.Model == newInfo.Version:
					sawNew.Store(true)
					afterNew++
				case got.Model != oldInfo.Version:
					mu.Lock()
					bad = append(bad, got.Model)
					mu.Unlock()
				}
				if sawNew.Load() && got.Model != newInfo.Version && afterNew > 0 {
					mu.Lock()
					bad = append(bad, "old after new: "+got.Model)
					mu.Unlock()
				}
			}
		})
	}
	// Promote once requests are running; retry the NOTIFY (a promotion
	// re-sent) until the listener, which may still be connecting, hears it.
	for !sawNew.Load() && ctx.Err() == nil {
		if _, err := db.Promote(ctx, newInfo.Version); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("no answer named %s before the guard", newInfo.Version)
	}
	if failures.Load() != 0 || len(bad) != 0 {
		t.Errorf("%d of %d requests failed; unexpected versions: %v", failures.Load(), answers.Load(), bad)
	}
	if v := chain.Markets(); v["ETH-USD"] != base[1].Meta.Version || v["BTC-USD"] != newInfo.Version {
		t.Errorf("served after the promotion: %v", v)
	}
}

// TestWatchPollsWithoutNotifications: without LISTEN (a transaction-mode
// pooler), the poll alone brings a promotion.
func TestWatchPollsWithoutNotifications(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{SimpleProtocol: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := embeddedModels(t)
	chain := New(Options{Models: base})
	defer chain.Close(context.Background())
	go chain.Watch(ctx, db, base, 50*time.Millisecond, nil, nil)
	info, err := db.PutChampion(ctx, variant(t, base[1], "polled"))
	if err != nil {
		t.Fatal(err)
	}
	for chain.Markets()["ETH-USD"] != info.Version && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	w := httptest.NewRecorder()
	chain.ServeHTTP(w, httptest.NewRequest("GET", "/api/model?symbol=ETH-USD", nil))
	if !strings.Contains(w.Body.String(), info.Version) {
		t.Errorf("/api/model?symbol=ETH-USD after the poll: %s", w.Body)
	}
}
