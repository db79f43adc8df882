package chart

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
)

func priceSeries() (Series, Series) {
	from := closecast.MustParseDate("2025-06-01")
	var dates []closecast.Date
	var actual, pred []float64
	for i := range 46 {
		dates = append(dates, from.AddDays(i))
		actual = append(actual, 105000+3000*math.Sin(float64(i)/5)+100*float64(i))
		pred = append(pred, 104000+2500*math.Sin(float64(i-1)/5))
	}
	a := DateSeries("actual", dates, actual)
	p := DateSeries("model", dates, pred)
	return a, p
}

func TestLinesPNG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "validation.png")
	a, p := priceSeries()
	base := a
	base.Name, base.Dashed = "persistence", true
	if err := Lines(path, "BTC-USD 2025-06-01..2025-07-16", "date", "close (USD)", a, p, base); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 960 || b.Dy() != 480 {
		t.Errorf("size %v, want 960×480", b)
	}
	// each series' colour must be on the canvas: the lines were drawn
	for i := range 2 {
		if n := countColor(img, Color(i).R, Color(i).G, Color(i).B); n < 100 {
			t.Errorf("series %d colour %v: %d pixels, want a drawn line", i, Color(i), n)
		}
	}
	if n := countColor(img, Color(4).R, Color(4).G, Color(4).B); n != 0 {
		t.Errorf("an unused colour has %d pixels", n)
	}
	noTemp(t, dir)
}

func countColor(img image.Image, r, g, b uint8) int {
	n := 0
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			R, G, B, _ := img.At(x, y).RGBA()
			if uint8(R>>8) == r && uint8(G>>8) == g && uint8(B>>8) == b {
				n++
			}
		}
	}
	return n
}

func noTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestLinesSVGLossCurve(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "loss.svg")
	var train, val []float64
	for e := range 150 {
		train = append(train, 0.1*math.Exp(-float64(e)/20)+0.01)
		val = append(val, 0.12*math.Exp(-float64(e)/25)+0.015)
	}
	val[40] = math.NaN() // a missing epoch leaves a gap, not an error
	err := Lines(path, "Loss per epoch", "epoch", "MAE (scaled)",
		Series{Name: "train", Y: train}, Series{Name: "validation", Y: val})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var root xml.StartElement
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("no root element: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			root = se
			break
		}
	}
	if root.Name.Local != "svg" {
		t.Fatalf("root element <%s>, want <svg>", root.Name.Local)
	}
	for { // the whole document must be well-formed XML
		if _, err := dec.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("malformed SVG: %v", err)
			}
			break
		}
	}
	for _, want := range []string{"Loss per epoch", "validation", "train", "epoch", "#1f77b4", "#ff7f0e"} {
		if !bytes.Contains(b, []byte(want)) && !bytes.Contains(b, []byte(strings.ToUpper(want))) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	noTemp(t, dir)
}

func TestLinesErrors(t *testing.T) {
	dir := t.TempDir()
	good := Series{Name: "a", Y: []float64{1, 2}}
	for _, c := range []struct {
		path   string
		series []Series
		want   string
	}{
		{"x.jpg", []Series{good}, `unsupported format ".jpg"`},
		{"x.svg", nil, "no series"},
		{"x.svg", []Series{{Name: "e"}}, `series 0 ("e") has no points`},
		{"x.svg", []Series{{Name: "m", X: []float64{1}, Y: []float64{1, 2}}}, "1 x and 2 y values"},
		{"x.svg", []Series{{Name: "b", X: []float64{1}, Times: []time.Time{{}}, Y: []float64{1}}}, "both Times and X"},
		{"x.svg", []Series{{Name: "d", Times: []time.Time{time.Now(), time.Now()}, Y: []float64{1, 2}}, good}, `series 1 ("a") mixes dates`},
		{"missing/x.svg", []Series{good}, "missing"},
	} {
		err := Lines(filepath.Join(dir, c.path), "t", "x", "y", c.series...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.path, err, c.want)
		}
	}
	// a failed write leaves the previous chart intact
	path := filepath.Join(dir, "keep.svg")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Lines(path, "t", "x", "y", Series{Name: "e"}); err == nil {
		t.Fatal("want an error")
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("previous file overwritten: %q", b)
	}
	noTemp(t, dir)
}

func TestDateTicks(t *testing.T) {
	for _, c := range []struct {
		from, to string
		layout   string
	}{
		{"2025-06-01", "2025-07-16", "2006-01-02"},
		{"2024-01-15", "2025-04-30", "2006-01"},
		{"2018-01-01", "2025-04-30", "2006"},
	} {
		lo, hi := closecast.MustParseDate(c.from), closecast.MustParseDate(c.to)
		ticks := dateTicks{}.Ticks(float64(lo.Unix()), float64(hi.Unix()))
		if len(ticks) < 3 || len(ticks) > maxLabels {
			t.Errorf("%s..%s: %d ticks, want 3..%d", c.from, c.to, len(ticks), maxLabels)
		}
		for _, tk := range ticks {
			at := time.Unix(int64(tk.Value), 0).UTC()
			if at.Before(lo.Time()) || at.After(hi.Time()) || at.Hour() != 0 || at.Minute() != 0 {
				t.Errorf("%s..%s: tick at %v is not a midnight inside the range", c.from, c.to, at)
			}
			if tk.Label != at.Format(c.layout) {
				t.Errorf("%s..%s: label %q for %v, want layout %s", c.from, c.to, tk.Label, at, c.layout)
			}
		}
	}
}

func TestSparkline(t *testing.T) {
	up := make([]float64, 1000)
	for i := range up {
		up[i] = math.Exp(float64(i) / 300) // monotone, convex
	}
	for _, w := range []int{1, 7, 40, 999, 1000, 5000} {
		s := []rune(Sparkline(up, w))
		if want := min(w, len(up)); len(s) != want {
			t.Errorf("width %d: %d runes, want %d", w, len(s), want)
		}
		for i := 1; i < len(s); i++ {
			if rank(s[i]) < rank(s[i-1]) {
				t.Errorf("width %d: not monotone at %d: %s", w, i, string(s))
				break
			}
		}
		if w > 1 && (s[0] != '▁' || s[len(s)-1] != '█') {
			t.Errorf("width %d: ends %c…%c, want ▁…█", w, s[0], s[len(s)-1])
		}
	}
	if got := Sparkline([]float64{3, 1, 2, 1, 3}, 10); got != "█▁▅▁█" {
		t.Errorf("short series = %q, want one column per value █▁▅▁█", got)
	}
	if got := Sparkline([]float64{0, 7, 14, 21, 28, 35, 42, 49}, 8); got != "▁▂▃▄▅▆▇█" {
		t.Errorf("linear ramp = %q", got)
	}
	// down-sampling averages: [0,0 | 10,10] → ▁█
	if got := Sparkline([]float64{0, 0, 10, 10}, 2); got != "▁█" {
		t.Errorf("resampled = %q", got)
	}
	if got := Sparkline([]float64{5, 5, 5}, 3); got != "▄▄▄" {
		t.Errorf("flat = %q", got)
	}
	if got := Sparkline([]float64{1, math.NaN(), 2}, 3); got != "▁ █" {
		t.Errorf("with NaN = %q", got)
	}
	if Sparkline(up, 0) != "" || Sparkline(nil, 10) != "" {
		t.Error("empty input or width must give an empty line")
	}
}

func rank(r rune) int { return strings.IndexRune(string(bars), r) }

func TestNumTicks(t *testing.T) {
	for _, c := range []struct {
		min, max float64
		want     []string
	}{
		{3236.76, 106146.27, []string{"20,000", "40,000", "60,000", "80,000", "100,000"}},
		{1, 150, []string{"25", "50", "75", "100", "125", "150"}},
		{0.004, 0.13, []string{"0.025", "0.050", "0.075", "0.100", "0.125"}},
		{-1, 1, []string{"-1.0", "-0.5", "0.0", "0.5", "1.0"}},
		{0, 14, []string{"0.0", "2.5", "5.0", "7.5", "10.0", "12.5"}},
	} {
		var got []string
		for _, tk := range (numTicks{}).Ticks(c.min, c.max) {
			got = append(got, tk.Label)
			if tk.Value < c.min-1e-12 || tk.Value > c.max+1e-12 {
				t.Errorf("%v..%v: tick %v outside", c.min, c.max, tk.Value)
			}
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%v..%v: ticks %q, want %q", c.min, c.max, got, c.want)
		}
	}
}

// TestLinesSinglePoint covers a one-epoch training run and a one-day range:
// a lone point is marked and the axes still get ticks.
func TestLinesSinglePoint(t *testing.T) {
	dir := t.TempDir()
	legendOnly := -1 // pixels of series 0's colour when only its legend entry is drawn
	for _, s := range []Series{
		{Name: "all NaN", Y: []float64{math.NaN(), math.NaN()}},
		{Name: "train", Y: []float64{0.05}},
		DateSeries("close", []closecast.Date{closecast.MustParseDate("2025-07-16")}, []float64{117000}),
	} {
		path := filepath.Join(dir, "one.png")
		if err := Lines(path, "one point", "x", "y", s); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		n := countColor(img, Color(0).R, Color(0).G, Color(0).B)
		if legendOnly < 0 {
			legendOnly = n
		} else if n < legendOnly+10 {
			t.Errorf("%s: %d pixels of its colour, %d for the legend alone: the lone point is not drawn", s.Name, n, legendOnly)
		}
	}
}
