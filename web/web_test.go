package web

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/closecast/closecast/metrics"
)

// maxGzipBytes is the budget from issue 6: the page and all its assets,
// gzip-compressed, under 300 KB.
const maxGzipBytes = 300 * 1000

// TestAssetsGzipSize compresses every embedded file as a server would
// (gzip, best compression) and checks the total against the budget.
func TestAssetsGzipSize(t *testing.T) {
	total, raw := 0, 0
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(FS, p)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			return err
		}
		t.Logf("%-55s %7d bytes, %6d gzip", p, len(data), buf.Len())
		raw += len(data)
		total += buf.Len()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("total: %d bytes, %d gzip (budget %d)", raw, total, maxGzipBytes)
	if total >= maxGzipBytes {
		t.Errorf("assets are %d bytes gzip, over the %d budget", total, maxGzipBytes)
	}
	if total < 50_000 {
		t.Errorf("assets are only %d bytes gzip: is the chart library missing?", total)
	}
}

var (
	htmlRef   = regexp.MustCompile(`(?:src|href)="([^"#:]+)"`)
	importRef = regexp.MustCompile(`(?m)(?:^import[^'"]*|\bimport\(|^\} from |\bfrom )['"](\.[^'"]+)['"]`)
)

// TestReferencesResolve checks that index.html is at the root of FS and that
// every local file the page or a module refers to is embedded: a missing
// asset would be a 404 and a broken page, with no build step to catch it.
func TestReferencesResolve(t *testing.T) {
	index, err := fs.ReadFile(FS, "index.html")
	if err != nil {
		t.Fatalf("index.html is not at the root of FS: %v", err)
	}
	seen := map[string]bool{}
	var check func(from, ref string)
	check = func(from, ref string) {
		p := path.Clean(path.Join(path.Dir(from), ref))
		if seen[p] {
			return
		}
		seen[p] = true
		data, err := fs.ReadFile(FS, p)
		if err != nil {
			t.Errorf("%s refers to %q, which is not embedded: %v", from, ref, err)
			return
		}
		if strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".mjs") {
			for _, m := range importRef.FindAllStringSubmatch(string(data), -1) {
				check(p, m[1])
			}
		}
	}
	refs := htmlRef.FindAllStringSubmatch(string(index), -1)
	for _, m := range refs {
		if m[1] == "openapi.json" {
			continue // served by package server, not an asset
		}
		check("index.html", m[1])
	}
	for _, want := range []string{"app.js", "i18n.js", "api.js", "chart.js", "style.css", "vendor/lightweight-charts.standalone.production.mjs", "vendor/LICENSE", "vendor/NOTICE"} {
		if !seen[want] {
			t.Errorf("%s is not reachable from index.html", want)
		}
	}
}

// TestNoExternalURLsLoaded guards "no CDN, works offline": nothing the page
// loads (script, stylesheet, module import, CSS url()) may point off the
// server. Links a person may click (the TradingView attribution) are fine.
func TestNoExternalURLsLoaded(t *testing.T) {
	load := regexp.MustCompile(`(?i)(<script[^>]+src="[a-z]+:|<link[^>]+rel="(?:stylesheet|icon|modulepreload)"[^>]+href="[a-z]+:|url\(\s*['"]?(?:https?:)?//|\bfrom\s+['"](?:https?:)?//|\bimport\(\s*['"](?:https?:)?//)`)
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".html") || strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".css")) {
			return err
		}
		data, err := fs.ReadFile(FS, p)
		if err != nil {
			return err
		}
		if m := load.Find(data); m != nil {
			t.Errorf("%s loads from another host: %q", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLevelToleranceMatchesMetrics keeps the dashboard's "level with
// persistence" rules equal to the CLI's, metrics.LevelTolerance and
// metrics.Significance: the page and `closecast evaluate` must not disagree
// on the same model.
func TestLevelToleranceMatchesMetrics(t *testing.T) {
	app, err := fs.ReadFile(FS, "app.js")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"LEVEL_TOLERANCE": metrics.LevelTolerance, "DM_SIGNIFICANCE": metrics.Significance} {
		m := regexp.MustCompile(`(?m)^const ` + name + ` = ([0-9.]+);`).FindSubmatch(app)
		if m == nil {
			t.Fatalf("app.js defines no `const %s = …;`", name)
		}
		if got, err := strconv.ParseFloat(string(m[1]), 64); err != nil || got != want {
			t.Errorf("app.js %s = %s, package metrics has %v", name, m[1], want)
		}
	}
}
