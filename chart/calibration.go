package chart

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// CalibrationMethod is one forecaster's calibration on a range of days:
// its PIT histogram (days per equal-width bin of the forecast CDF at the
// outcome; flat when calibrated) and its central intervals' observed
// coverage against their nominal one, both in percent.
type CalibrationMethod struct {
	Name              string
	PIT               []int
	Nominal, Observed []float64
}

// CalibrationPanel is one range's methods, drawn as a row: the PIT
// histogram beside the reliability diagram.
type CalibrationPanel struct {
	Title   string
	Methods []CalibrationMethod
}

// calibrationRow is the height of one panel row.
const calibrationRow = 9 * vg.Centimeter

// Calibration draws one row per panel, the PIT histogram (the share of
// days per bin, methods side by side, with the uniform 1/bins line a
// calibrated forecast would match) left and the reliability diagram
// (observed against nominal coverage, with the diagonal) right, and writes
// it to path as PNG, atomically like Lines.
func Calibration(path string, panels ...CalibrationPanel) error {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".png" {
		return fmt.Errorf("chart %s: unsupported format %q: want a .png file", path, ext)
	}
	if len(panels) == 0 {
		return fmt.Errorf("chart %s: no panels to draw", path)
	}
	plots := make([][]*plot.Plot, len(panels))
	for r, pa := range panels {
		pit, err := pitPlot(pa)
		if err != nil {
			return fmt.Errorf("chart %s: %s: %w", path, pa.Title, err)
		}
		rel, err := reliabilityPlot(pa)
		if err != nil {
			return fmt.Errorf("chart %s: %s: %w", path, pa.Title, err)
		}
		plots[r] = []*plot.Plot{pit, rel}
	}
	img := vgimg.New(Width, calibrationRow*vg.Length(len(panels)))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(panels), Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, tiles, dc)
	for r := range plots {
		for c := range plots[r] {
			plots[r][c].Draw(canvases[r][c])
		}
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("chart %s: rendering: %w", path, err)
	}
	return writeAtomic(path, buf.Bytes())
}

// styled returns a plot with the package's fonts, a grid and labels.
func styled(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font.Size = vg.Points(10)
		ax.Tick.Label.Font.Size = vg.Points(9)
	}
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// pitPlot is a panel's PIT histogram, in percent of the days per bin.
func pitPlot(pa CalibrationPanel) (*plot.Plot, error) {
	if len(pa.Methods) == 0 {
		return nil, errors.New("no methods")
	}
	bins := len(pa.Methods[0].PIT)
	p := styled("PIT histogram, "+pa.Title, "PIT (forecast CDF at the outcome)", "% of days")
	width := vg.Points(float64(Width) / 5 / float64(bins*len(pa.Methods)+bins))
	for i, m := range pa.Methods {
		if len(m.PIT) != bins || bins == 0 {
			return nil, fmt.Errorf("method %q has %d PIT bins, want %d (and at least one)", m.Name, len(m.PIT), bins)
		}
		total := 0
		for _, c := range m.PIT {
			total += c
		}
		if total == 0 {
			return nil, fmt.Errorf("method %q has no days", m.Name)
		}
		v := make(plotter.Values, bins)
		for b, c := range m.PIT {
			v[b] = 100 * float64(c) / float64(total)
		}
		bc, err := plotter.NewBarChart(v, width)
		if err != nil {
			return nil, fmt.Errorf("method %q: %w", m.Name, err)
		}
		bc.Color = Color(i)
		bc.LineStyle.Width = 0
		bc.Offset = width * vg.Length(float64(i)-float64(len(pa.Methods)-1)/2)
		p.Add(bc)
		p.Legend.Add(m.Name, bc)
	}
	uniform, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 100 / float64(bins)}, {X: float64(bins) - 0.5, Y: 100 / float64(bins)}})
	if err != nil {
		return nil, err
	}
	uniform.LineStyle = draw.LineStyle{Color: color.Gray{Y: 80}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
	p.Add(uniform)
	p.Legend.Add("uniform", uniform)
	labels := make([]string, bins)
	for b := range labels {
		labels[b] = fmt.Sprintf("%.1f", float64(b)/float64(bins))
	}
	p.NominalX(labels...)
	p.Y.Min = 0
	return p, nil
}

// reliabilityPlot is a panel's observed against nominal coverage, with the
// diagonal a calibrated forecast lies on.
func reliabilityPlot(pa CalibrationPanel) (*plot.Plot, error) {
	p := styled("Reliability, "+pa.Title, "nominal coverage %", "observed coverage %")
	lo, hi := 100.0, 0.0
	for i, m := range pa.Methods {
		if len(m.Nominal) == 0 || len(m.Nominal) != len(m.Observed) {
			return nil, fmt.Errorf("method %q has %d nominal and %d observed coverages", m.Name, len(m.Nominal), len(m.Observed))
		}
		xy := make(plotter.XYs, len(m.Nominal))
		for k := range xy {
			xy[k].X, xy[k].Y = m.Nominal[k], m.Observed[k]
			lo, hi = min(lo, m.Nominal[k], m.Observed[k]), max(hi, m.Nominal[k], m.Observed[k])
		}
		l, s, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, fmt.Errorf("method %q: %w", m.Name, err)
		}
		l.LineStyle = draw.LineStyle{Color: Color(i), Width: vg.Points(1.6)}
		s.GlyphStyle = draw.GlyphStyle{Color: Color(i), Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		p.Add(l, s)
		p.Legend.Add(m.Name, l, s)
	}
	lo, hi = max(0, lo-5), min(100, hi+5)
	diag, err := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
	if err != nil {
		return nil, err
	}
	diag.LineStyle = draw.LineStyle{Color: color.Gray{Y: 80}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
	p.Add(diag)
	p.Legend.Add("ideal", diag)
	p.Legend.Left = true
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = lo, hi, lo, hi
	return p, nil
}
