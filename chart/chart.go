// Package chart draws closecast's figures — Close over a date range, train
// vs validation loss per epoch, predicted vs actual closes — as SVG or PNG
// files with gonum/plot, and the terminal sparkline of `describe`.
package chart

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/internal/atomicfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one named line. Its x values are either dates (Times, for price
// charts: the axis gets calendar ticks) or numbers (X, e.g. epochs); set one
// of them, or neither for x = 1, 2, … (an epoch count). Y has one value per
// x; a NaN or infinite Y leaves a gap in the line rather than failing.
type Series struct {
	Name   string
	Times  []time.Time
	X      []float64
	Y      []float64
	Dashed bool // draw dashed, e.g. for a naive baseline beside the model
}

// DateSeries returns a Series over calendar days (00:00 UTC of each date).
func DateSeries(name string, dates []closecast.Date, ys []float64) Series {
	ts := make([]time.Time, len(dates))
	for i, d := range dates {
		ts[i] = d.Time()
	}
	return Series{Name: name, Times: ts, Y: ys}
}

// Size of every chart: 10 × 5 inches, i.e. 960 × 480 pixels in PNG (96 dpi).
const (
	Width  = 10 * vg.Inch
	Height = 5 * vg.Inch
)

// palette is Tableau 10: distinct hues that stay distinguishable in print
// and for the common colour-vision deficiencies; series cycle through it.
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, // blue
	{0xff, 0x7f, 0x0e, 0xff}, // orange
	{0x2c, 0xa0, 0x2c, 0xff}, // green
	{0xd6, 0x27, 0x28, 0xff}, // red
	{0x94, 0x67, 0xbd, 0xff}, // purple
	{0x8c, 0x56, 0x4b, 0xff}, // brown
	{0xe3, 0x77, 0xc2, 0xff}, // pink
	{0x7f, 0x7f, 0x7f, 0xff}, // grey
	{0xbc, 0xbd, 0x22, 0xff}, // olive
	{0x17, 0xbe, 0xcf, 0xff}, // cyan
}

// Color returns the colour of the i-th series of a chart.
func Color(i int) color.RGBA { return palette[i%len(palette)] }

// Lines draws series as lines on one chart with a title, axis labels, a
// grid and a legend, and writes it to path as SVG or PNG according to its
// extension (.svg, .png). The file is written to a temporary file in the
// same directory and renamed into place, so a reader never sees half a
// chart and a failure leaves any previous file untouched.
//
// All series must share one kind of x (all dates or all numbers). Errors
// name the offending series: no series, no points, mismatched lengths,
// both Times and X set, mixed kinds, or an unsupported extension.
func Lines(path, title, xlabel, ylabel string, series ...Series) error {
	format := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	if format != "svg" && format != "png" {
		return fmt.Errorf("chart %s: unsupported format %q: want a .svg or .png file", path, filepath.Ext(path))
	}
	p, err := build(title, xlabel, ylabel, series)
	if err != nil {
		return fmt.Errorf("chart %s: %w", path, err)
	}
	wt, err := p.WriterTo(Width, Height, format)
	if err != nil {
		return fmt.Errorf("chart %s: %w", path, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return fmt.Errorf("chart %s: rendering: %w", path, err)
	}
	return writeAtomic(path, buf.Bytes())
}

func build(title, xlabel, ylabel string, series []Series) (*plot.Plot, error) {
	if len(series) == 0 {
		return nil, errors.New("no series to draw")
	}
	dates := series[0].Times != nil
	for i, s := range series {
		name := fmt.Sprintf("series %d (%q)", i, s.Name)
		switch {
		case len(s.Y) == 0:
			return nil, fmt.Errorf("%s has no points", name)
		case s.Times != nil && s.X != nil:
			return nil, fmt.Errorf("%s sets both Times and X: set one", name)
		case s.Times != nil && len(s.Times) != len(s.Y):
			return nil, fmt.Errorf("%s has %d times and %d values", name, len(s.Times), len(s.Y))
		case s.X != nil && len(s.X) != len(s.Y):
			return nil, fmt.Errorf("%s has %d x and %d y values", name, len(s.X), len(s.Y))
		case (s.Times != nil) != dates:
			return nil, fmt.Errorf("%s mixes dates and numbers on the x axis with series 0", name)
		}
	}

	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(15)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font.Size = vg.Points(12)
		ax.Tick.Label.Font.Size = vg.Points(10)
	}
	p.Legend.TextStyle.Font.Size = vg.Points(11)
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	p.Y.Tick.Marker = numTicks{}
	p.X.Tick.Marker = numTicks{}
	if dates {
		p.X.Tick.Marker = dateTicks{}
	}

	var all []plotter.XYs
	for i, s := range series {
		style := draw.LineStyle{Color: Color(i), Width: vg.Points(1.6)}
		if s.Dashed {
			style.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		var thumb plot.Thumbnailer
		for _, seg := range segments(s) {
			all = append(all, seg)
			if len(seg) == 1 { // a lone point draws no line: mark it
				sc, err := plotter.NewScatter(seg)
				if err != nil {
					return nil, fmt.Errorf("series %q: %w", s.Name, err)
				}
				sc.GlyphStyle.Color = Color(i)
				sc.GlyphStyle.Radius = vg.Points(3)
				sc.GlyphStyle.Shape = draw.CircleGlyph{}
				p.Add(sc)
				continue
			}
			l, err := plotter.NewLine(seg)
			if err != nil {
				return nil, fmt.Errorf("series %q: %w", s.Name, err)
			}
			l.LineStyle = style
			p.Add(l)
			if thumb == nil {
				thumb = l
			}
		}
		if thumb == nil { // only lone points or no finite value: still name it
			l := &plotter.Line{LineStyle: style}
			thumb = l
		}
		p.Legend.Add(s.Name, thumb)
	}
	p.Legend.Left = legendLeft(all)
	return p, nil
}

// segments splits a series at its non-finite values into runs of finite
// points, so a missing loss or price shows as a gap.
func segments(s Series) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	for i, y := range s.Y {
		x := float64(i + 1)
		switch {
		case s.Times != nil:
			x = float64(s.Times[i].Unix())
		case s.X != nil:
			x = s.X[i]
		}
		if math.IsNaN(y) || math.IsInf(y, 0) || math.IsNaN(x) || math.IsInf(x, 0) {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, plotter.XY{X: x, Y: y})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// legendLeft puts the legend in whichever top corner covers fewer points:
// rising prices crowd the top right, falling losses the top left.
func legendLeft(all []plotter.XYs) bool {
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, seg := range all {
		for _, p := range seg {
			xmin, xmax = math.Min(xmin, p.X), math.Max(xmax, p.X)
			ymin, ymax = math.Min(ymin, p.Y), math.Max(ymax, p.Y)
		}
	}
	left, right := 0, 0
	for _, seg := range all {
		for _, p := range seg {
			if p.Y < ymax-0.3*(ymax-ymin) {
				continue
			}
			if p.X <= xmin+0.35*(xmax-xmin) {
				left++
			}
			if p.X >= xmax-0.35*(xmax-xmin) {
				right++
			}
		}
	}
	return left < right
}

// writeAtomic writes data to a temporary file beside path and renames it
// over path.
func writeAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("chart %s: %w", path, err)
	}
	return nil
}
