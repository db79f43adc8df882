package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast/sqlite"
	"github.com/closecast/closecast/sqlite/sqlitetest"
)

// fetch refuses to write into a store whose file is damaged (here the fetch
// log's root page: the bars still read fine), exits non-zero naming the file
// and what to do, and leaves the file byte for byte as it was.
func TestFetchRefusesADamagedStore(t *testing.T) {
	srv, _ := fakeYahoo(t, 5)
	home := t.TempDir()
	if code, _, errOut := cliWith(t, home, srv, "fetch", "--symbol", "BTC-USD"); code != 0 {
		t.Fatalf("first fetch: exit %d: %s", code, errOut)
	}
	path := filepath.Join(home, sqlite.FileName)
	if err := sqlitetest.Damage(path, "fetch_log"); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	srv2, _ := fakeYahoo(t, 8) // three more days to store
	code, _, errOut := cliWith(t, home, srv2, "fetch", "--symbol", "BTC-USD")
	if code == 0 || !strings.Contains(errOut, path) || !strings.Contains(errOut, "damaged") || !strings.Contains(errOut, "mv ") {
		t.Fatalf("fetch into a damaged store: exit %d, stderr %q; want a failure naming %s and what to do", code, errOut, path)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("fetch wrote into the damaged store")
	}
}

// A --csv naming a device is refused at once, not read without end.
func TestCSVFromADeviceIsRefused(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"data", "--csv", "/dev/zero"}, &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
	if code == 0 || !strings.Contains(errb.String(), "not a regular file") {
		t.Fatalf("--csv /dev/zero: exit %d, stderr %q", code, errb.String())
	}
}
