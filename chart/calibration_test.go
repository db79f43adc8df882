package chart

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func calibrationPanel() CalibrationPanel {
	return CalibrationPanel{Title: "hold-out", Methods: []CalibrationMethod{
		{Name: "model", PIT: []int{5, 6, 4, 5, 5, 6, 5, 4, 5, 5}, Nominal: []float64{50, 80, 90, 95}, Observed: []float64{42, 77, 92, 96}},
		{Name: "garch11_t", PIT: []int{8, 4, 4, 5, 5, 5, 5, 4, 4, 6}, Nominal: []float64{50, 80, 90, 95}, Observed: []float64{48, 75, 87, 94}},
	}}
}

// TestCalibrationPNG draws two ranges' panels: a PNG two rows high, every
// method's colour on it, no temporary file left.
func TestCalibrationPNG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "calibration.png")
	if err := Calibration(path, calibrationPanel(), calibrationPanel()); err != nil {
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
	if b := img.Bounds(); b.Dx() != 960 || b.Dy() != 2*int(calibrationRow.Dots(96)+0.5) {
		t.Errorf("size %v, want 960 wide and two rows high", b)
	}
	for i := range 2 {
		if n := countColor(img, Color(i).R, Color(i).G, Color(i).B); n < 500 {
			t.Errorf("method %d colour %v: %d pixels, want bars and lines", i, Color(i), n)
		}
	}
	if n := countColor(img, Color(4).R, Color(4).G, Color(4).B); n != 0 {
		t.Errorf("an unused colour has %d pixels", n)
	}
	noTemp(t, dir)
}

func TestCalibrationErrors(t *testing.T) {
	dir := t.TempDir()
	short := calibrationPanel()
	short.Methods[1].PIT = short.Methods[1].PIT[:9]
	empty := calibrationPanel()
	empty.Methods[0].PIT = make([]int, 10)
	mismatch := calibrationPanel()
	mismatch.Methods[0].Observed = mismatch.Methods[0].Observed[:3]
	for _, c := range []struct {
		path   string
		panels []CalibrationPanel
		want   string
	}{
		{"c.svg", []CalibrationPanel{calibrationPanel()}, "want a .png"},
		{"c.png", nil, "no panels"},
		{"c.png", []CalibrationPanel{{Title: "x"}}, "no methods"},
		{"c.png", []CalibrationPanel{short}, `"garch11_t" has 9 PIT bins, want 10`},
		{"c.png", []CalibrationPanel{empty}, `"model" has no days`},
		{"c.png", []CalibrationPanel{mismatch}, "4 nominal and 3 observed"},
	} {
		err := Calibration(filepath.Join(dir, c.path), c.panels...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.want, err, c.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed draws left %d files", len(ents))
	}
}
