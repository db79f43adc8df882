package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/internal/pgtest"
	"github.com/closecast/closecast/internal/storetest"
	"github.com/closecast/closecast/yahoo"
	"github.com/closecast/closecast/yahoo/yahootest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// cliEnv runs a command with CLOSECAST_HOME = home, vars in the
// environment, and a fast Yahoo client pointed at srv (nil: none).
func cliEnv(t *testing.T, home string, srv *yahootest.Server, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb,
		getenv: func(k string) string {
			if v, ok := vars[k]; ok {
				return v
			}
			switch {
			case k == "CLOSECAST_HOME":
				return home
			case k == yahooURLEnv && srv != nil:
				return srv.URL
			}
			return ""
		},
	}
	if srv != nil {
		e.tuneYahoo = func(c *yahoo.Client) {
			c.BackoffBase, c.BackoffMax, c.AttemptTimeout, c.Now = time.Millisecond, 1500*time.Millisecond, 200*time.Millisecond, srv.Now
		}
	}
	return run(context.Background(), args, e), out.String(), errb.String()
}

// mustCLI is cliEnv failing the test on a non-zero exit.
func mustCLI(t *testing.T, home string, srv *yahootest.Server, vars map[string]string, args ...string) string {
	t.Helper()
	code, out, errOut := cliEnv(t, home, srv, vars, args...)
	if code != 0 {
		t.Fatalf("closecast %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// TestFetchPredictOnPostgresAsOnSQLite: the bar-reading chain (history over
// the store over the embedded data) answers the same on both backends, the
// store named by --db or by CLOSECAST_DATABASE_URL.
func TestFetchPredictOnPostgresAsOnSQLite(t *testing.T) {
	srv, bars := fakeYahoo(t, 5)
	lastNew := bars[len(bars)-1].Date
	sqliteHome := t.TempDir()
	mustCLI(t, sqliteHome, srv, nil, "fetch")
	want := mustCLI(t, sqliteHome, srv, nil, "predict", "--offline")
	wantJSON := mustCLI(t, sqliteHome, srv, nil, "predict", "--offline", "--json")
	if !strings.Contains(want, (lastNew + 1).String()) {
		t.Fatalf("SQLite forecast is not of the day after the fetched ones (%s):\n%s", lastNew+1, want)
	}

	for _, how := range []string{"flag", "env"} {
		t.Run(how, func(t *testing.T) {
			url := pgtest.NewDatabase(t)
			home := t.TempDir()
			var vars map[string]string
			db := []string{"--db", url}
			if how == "env" {
				vars, db = map[string]string{"CLOSECAST_DATABASE_URL": url}, nil
			}
			out := mustCLI(t, home, srv, vars, append([]string{"fetch"}, db...)...)
			if !strings.Contains(out, "5 added, 0 updated") {
				t.Fatalf("fetch into PostgreSQL: %q", out)
			}
			if got := mustCLI(t, home, srv, vars, append([]string{"predict", "--offline"}, db...)...); got != want {
				t.Errorf("predict on PostgreSQL:\n%s\non SQLite:\n%s", got, want)
			}
			if got := mustCLI(t, home, srv, vars, append([]string{"predict", "--offline", "--json"}, db...)...); got != wantJSON {
				t.Errorf("predict --json on PostgreSQL:\n%s\non SQLite:\n%s", got, wantJSON)
			}
			csv := mustCLI(t, home, srv, vars, append([]string{"data", "--from", lastNew.AddDays(-4).String()}, db...)...)
			if strings.Count(csv, "\n") != 6 || !strings.Contains(csv, lastNew.String()) {
				t.Errorf("data from PostgreSQL:\n%s", csv)
			}
			// The SQLite file was never created: the store is PostgreSQL.
			if _, err := os.Stat(filepath.Join(home, "closecast.db")); err == nil {
				t.Errorf("a SQLite store was created beside --db postgres")
			}
		})
	}
	// The flag wins over the environment.
	home := t.TempDir()
	pg := pgtest.NewDatabase(t)
	path := filepath.Join(t.TempDir(), "flag.db")
	mustCLI(t, home, srv, map[string]string{"CLOSECAST_DATABASE_URL": pg}, "fetch", "--db", "sqlite:"+path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("--db sqlite:%s was not used: %v", path, err)
	}
	if code, out, errOut := cliEnv(t, home, srv, nil, "data", "--db", pg, "--from", lastNew.String()); code != 1 || !strings.Contains(errOut, "no bars") {
		t.Errorf("CLOSECAST_DATABASE_URL was used although --db was given: exit %d\n%s%s", code, out, errOut)
	}
}

// TestDBURLRedactedInErrors: a database that cannot be reached is named in
// the error without its password, from the flag or the environment.
func TestDBURLRedactedInErrors(t *testing.T) {
	const secret = "Pa55w0rdXYZ"
	bad := "postgres://closecast:" + secret + "@127.0.0.1:1/closecast?connect_timeout=5"
	for _, tc := range []struct {
		vars map[string]string
		args []string
	}{
		{nil, []string{"fetch", "--db", bad}},
		{nil, []string{"describe", "--db", bad}},
		{map[string]string{"CLOSECAST_DATABASE_URL": bad}, []string{"data"}},
		{nil, []string{"models", "list", "--db", bad}},
		{nil, []string{"db", "copy", "--to", bad}},
		{nil, []string{"data", "--db", "mysql://u:" + secret + "@h/db"}},
	} {
		home := t.TempDir()
		if tc.args[0] == "db" {
			mustCLI(t, home, nil, nil, "models", "push", modelDir(t, 1)) // a source store to copy
		}
		code, out, errOut := cliEnv(t, home, nil, tc.vars, tc.args...)
		if code == 0 {
			t.Errorf("%v: exit 0", tc.args)
			continue
		}
		if strings.Contains(out+errOut, secret) {
			t.Errorf("%v: the password is printed:\n%s%s", tc.args, out, errOut)
		}
		if !strings.Contains(errOut, "127.0.0.1:1") && !strings.Contains(errOut, "mysql") {
			t.Errorf("%v: the error does not say which database:\n%s", tc.args, errOut)
		}
	}
}

// modelDir writes a small real artifact of BTC-USD whose weights are drawn
// from seed (the seed makes the version), and returns its directory.
func modelDir(t *testing.T, seed uint64) string {
	t.Helper()
	files := storetest.ModelFiles(t, "BTC-USD", seed, time.Date(2026, 1, 1, 0, 0, 0, int(seed), time.UTC))
	dir := filepath.Join(t.TempDir(), "model")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestModelsCommands(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			home := t.TempDir()
			var db []string
			if backend == "postgres" {
				db = []string{"--db", pgtest.NewDatabase(t)}
			}
			cli := func(args ...string) string { return mustCLI(t, home, nil, nil, append(args, db...)...) }
			list := func(args ...string) []closecast.ModelInfo {
				var infos []closecast.ModelInfo
				if err := json.Unmarshal([]byte(cli(append([]string{"models", "list", "--json"}, args...)...)), &infos); err != nil {
					t.Fatal(err)
				}
				return infos
			}
			if got := list(); len(got) != 0 {
				t.Fatalf("a new registry lists %v", got)
			}
			if backend == "sqlite" {
				if _, err := os.Stat(filepath.Join(home, "closecast.db")); err == nil {
					t.Fatal("models list created the store")
				}
			}
			a, b := modelDir(t, 1), modelDir(t, 2)
			var pushed closecast.ModelInfo
			if err := json.Unmarshal([]byte(cli("models", "push", a, "--json")), &pushed); err != nil {
				t.Fatal(err)
			}
			want, err := artifact.Read(a)
			if err != nil {
				t.Fatal(err)
			}
			if pushed.Version != want.Meta.Version || pushed.Symbol != "BTC-USD" || pushed.Champion || pushed.Checksum != want.Meta.Checksum {
				t.Fatalf("push --json: %+v, want %s not champion", pushed, want.Meta.Version)
			}
			if out := cli("models", "push", b, "--promote"); !strings.Contains(out, "is now the champion of BTC-USD") {
				t.Fatalf("push --promote: %q", out)
			}
			infos := list("--symbol", "btc-usd")
			if len(infos) != 2 || !infos[0].Champion || infos[1].Champion || infos[1].Version != pushed.Version {
				t.Fatalf("list: %+v: want the promoted model first (newest) and champion", infos)
			}
			if got := list("--symbol", "ETH-USD"); len(got) != 0 {
				t.Fatalf("list --symbol ETH-USD: %+v", got)
			}
			text := cli("models", "list")
			if !strings.Contains(text, "* "+infos[0].Version) && !strings.Contains(text, "*  "+infos[0].Version) {
				t.Errorf("list does not mark the champion:\n%s", text)
			}
			// Promote the first back; pull both ways.
			if out := cli("models", "promote", pushed.Version); !strings.Contains(out, pushed.Version+" is now the champion of BTC-USD") {
				t.Fatalf("promote: %q", out)
			}
			out := filepath.Join(t.TempDir(), "pulled")
			cli("models", "pull", "--symbol", "BTC-USD", "--out", out)
			m, err := artifact.Read(out)
			if err != nil || m.Meta.Version != pushed.Version {
				t.Fatalf("pulled champion: %v, %v; want %s", m, err, pushed.Version)
			}
			var pulled closecast.ModelInfo
			if err := json.Unmarshal([]byte(cli("models", "pull", infos[0].Version, "--out", out, "--json")), &pulled); err != nil {
				t.Fatal(err)
			}
			if m, err := artifact.Read(out); err != nil || m.Meta.Version != infos[0].Version || pulled.Version != infos[0].Version {
				t.Fatalf("pull VERSION --out: %v, %v", m, err)
			}
			// Refusals: an unknown version, a damaged artifact, usage.
			for _, args := range [][]string{
				{"models", "pull", "btc-usd-nope-000000000000", "--out", t.TempDir() + "/x"},
				{"models", "promote", "btc-usd-nope-000000000000"},
			} {
				code, _, errOut := cliEnv(t, home, nil, nil, append(args, db...)...)
				if code != 1 || !strings.Contains(errOut, "not found") {
					t.Errorf("%v: exit %d, %q", args, code, errOut)
				}
			}
			damaged := modelDir(t, 3)
			if err := os.WriteFile(filepath.Join(damaged, artifact.WeightsFile), []byte("not weights"), 0o644); err != nil {
				t.Fatal(err)
			}
			if code, _, errOut := cliEnv(t, home, nil, nil, append([]string{"models", "push", damaged}, db...)...); code != 1 || !strings.Contains(errOut, "checksum") {
				t.Errorf("push of a damaged artifact: exit %d, %q", code, errOut)
			}
			if got := list(); len(got) != 2 {
				t.Errorf("the damaged push stored something: %d models", len(got))
			}
			for _, args := range [][]string{{"models"}, {"models", "frob"}, {"models", "pull", "--out", "x"}, {"models", "push"}, {"models", "promote", "a", "b"}} {
				if code, _, _ := cliEnv(t, home, nil, nil, args...); code != 2 {
					t.Errorf("%v: exit %d, want 2", args, code)
				}
			}
		})
	}
}

// TestModelsPullRefusesADamagedModel: a model edited in the store is not
// written out.
func TestModelsPullRefusesADamagedModel(t *testing.T) {
	home := t.TempDir()
	mustCLI(t, home, nil, nil, "models", "push", modelDir(t, 1), "--promote")
	db, err := sql.Open("sqlite", filepath.Join(home, "closecast.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE model_files SET data = X'00' WHERE name = ?`, artifact.WeightsFile); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out := filepath.Join(t.TempDir(), "pulled")
	code, _, errOut := cliEnv(t, home, nil, nil, "models", "pull", "--symbol", "BTC-USD", "--out", out)
	if code != 1 || !strings.Contains(errOut, "checksum") {
		t.Fatalf("pull of a damaged model: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatalf("%s was written", out)
	}
}

// TestDBCopyCLI: a laptop's store (fetched bars, a model) copied into
// PostgreSQL serves the same forecast; copying again changes nothing; and
// back into a new SQLite file it exports the same bars.
func TestDBCopyCLI(t *testing.T) {
	srv, _ := fakeYahoo(t, 5)
	home := t.TempDir()
	mustCLI(t, home, srv, nil, "fetch")
	mustCLI(t, home, srv, nil, "models", "push", modelDir(t, 1), "--promote")
	pg := withPassword(t, pgtest.NewDatabase(t))

	var rep struct {
		Symbols, Models, Champions, Fetches int
		BarsAdded                           int `json:"bars_added"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, home, srv, nil, "db", "copy", "--to", pg, "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Symbols != 1 || rep.BarsAdded != 5 || rep.Fetches != 1 || rep.Models != 1 || rep.Champions != 1 {
		t.Fatalf("first copy: %+v", rep)
	}
	again := mustCLI(t, home, srv, nil, "db", "copy", "--to", pg)
	if !strings.Contains(again, "0 bars added, 0 updated; 0 fetch log rows, 0 forecasts, 0 models, 0 champions written") {
		t.Fatalf("second copy wrote something: %s", again)
	}
	if strings.Contains(again, testPassword) || !strings.Contains(again, ":xxxxx@") {
		t.Errorf("the copy's report does not redact the password: %s", again)
	}
	want := mustCLI(t, home, srv, nil, "predict", "--offline")
	if got := mustCLI(t, t.TempDir(), srv, nil, "predict", "--offline", "--db", pg); got != want {
		t.Errorf("forecast from the copy:\n%s\nfrom the original:\n%s", got, want)
	}
	back := filepath.Join(t.TempDir(), "back.db")
	mustCLI(t, home, srv, nil, "db", "copy", "--from", pg, "--to", "sqlite:"+back)
	wantCSV := mustCLI(t, home, srv, nil, "data")
	if got := mustCLI(t, home, srv, nil, "data", "--db", back); got != wantCSV {
		t.Errorf("bars after SQLite → PostgreSQL → SQLite differ")
	}
	if got, want := mustCLI(t, home, srv, nil, "models", "list", "--json", "--db", back), mustCLI(t, home, srv, nil, "models", "list", "--json"); !sameModels(t, got, want) {
		t.Errorf("models after the round trip:\n%s\nwant\n%s", got, want)
	}
	for _, args := range [][]string{
		{"db", "copy"},
		{"db", "copy", "--from", filepath.Join(t.TempDir(), "none.db"), "--to", pg},
		{"db", "copy", "--to", filepath.Join(home, "closecast.db")},
		{"db", "frob"},
	} {
		if code, _, errOut := cliEnv(t, home, srv, nil, args...); code == 0 {
			t.Errorf("%v: exit 0: %s", args, errOut)
		}
	}
}

// sameModels compares two models list --json outputs but for the time
// each registry received the models.
func sameModels(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y []closecast.ModelInfo
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	if len(x) != len(y) || len(x) == 0 {
		return false
	}
	for i := range x {
		x[i].Pushed, y[i].Pushed = time.Time{}, time.Time{}
		if xa, _ := json.Marshal(x[i]); string(xa) != string(must(json.Marshal(y[i]))) {
			return false
		}
	}
	return true
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// testPassword is put in database URLs to check that no output shows it:
// the test clusters trust local connections, so any password connects.
const testPassword = "NeverPrint3d"

// withPassword returns the database URL u with testPassword in it.
func withPassword(t *testing.T, u string) string {
	t.Helper()
	p, err := neturl.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.User = neturl.UserPassword(p.User.Username(), testPassword)
	return p.String()
}
