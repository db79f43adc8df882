package chart

import (
	"math"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
)

// dateTicks marks a date axis (x in Unix seconds) at calendar boundaries —
// days, month starts or year starts, whichever gives at most about eight
// labelled ticks over the span — instead of gonum's default round numbers of
// seconds, which fall at arbitrary hours of arbitrary days.
type dateTicks struct{}

// steps lists the candidate spacings from finest to coarsest: a count of
// days, months or years, with the label layout that suits it.
var steps = []struct {
	days, months, years int
	layout              string
}{
	{1, 0, 0, "2006-01-02"}, {2, 0, 0, "2006-01-02"}, {7, 0, 0, "2006-01-02"}, {14, 0, 0, "2006-01-02"},
	{0, 1, 0, "2006-01"}, {0, 2, 0, "2006-01"}, {0, 3, 0, "2006-01"}, {0, 6, 0, "2006-01"},
	{0, 0, 1, "2006"}, {0, 0, 2, "2006"}, {0, 0, 5, "2006"}, {0, 0, 10, "2006"}, {0, 0, 25, "2006"},
}

const maxLabels = 8

// Ticks implements plot.Ticker.
func (dateTicks) Ticks(min, max float64) []plot.Tick {
	lo, hi := time.Unix(int64(min), 0).UTC(), time.Unix(int64(max), 0).UTC()
	for i, st := range steps {
		ts := marks(lo, hi, st.days, st.months, st.years)
		if len(ts) > maxLabels && i < len(steps)-1 {
			continue
		}
		ticks := make([]plot.Tick, len(ts))
		for j, t := range ts {
			ticks[j] = plot.Tick{Value: float64(t.Unix()), Label: t.Format(st.layout)}
		}
		if len(ticks) < 2 { // a span of under a day: fall back to round numbers
			return plot.TimeTicks{Format: "2006-01-02 15:04"}.Ticks(min, max)
		}
		return ticks
	}
	return nil
}

// marks returns the calendar boundaries in [lo, hi] spaced by the given
// step: multiples of days since the epoch, of months since January, or of
// years, so that the ticks are the same whatever the data's first day.
func marks(lo, hi time.Time, days, months, years int) []time.Time {
	var out []time.Time
	switch {
	case days > 0:
		d0 := (lo.Unix() + 86399) / 86400 // first midnight ≥ lo
		d0 = (d0 + int64(days) - 1) / int64(days) * int64(days)
		for d := d0; d*86400 <= hi.Unix(); d += int64(days) {
			out = append(out, time.Unix(d*86400, 0).UTC())
		}
	case months > 0:
		t := time.Date(lo.Year(), lo.Month(), 1, 0, 0, 0, 0, time.UTC)
		if t.Before(lo) {
			t = t.AddDate(0, 1, 0)
		}
		for (int(t.Month())-1)%months != 0 {
			t = t.AddDate(0, 1, 0)
		}
		for ; !t.After(hi); t = t.AddDate(0, months, 0) {
			out = append(out, t)
		}
	default:
		y := lo.Year()
		if time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Before(lo) {
			y++
		}
		y = (y + years - 1) / years * years
		for ; !time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).After(hi); y += years {
			out = append(out, time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC))
		}
	}
	return out
}

// numTicks labels a numeric axis every 1, 2, 2.5 or 5 × 10^k, about six
// labels over the span (gonum's default gives three on a price axis), with
// thousands separators for large values so 106,146 reads at a glance.
type numTicks struct{}

// Ticks implements plot.Ticker.
func (numTicks) Ticks(min, max float64) []plot.Tick {
	span := max - min
	if !(span > 0) || math.IsInf(span, 0) {
		return plot.DefaultTicks{}.Ticks(min, max)
	}
	raw := span / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	k := int(math.Floor(math.Log10(step) + 1e-9))
	decimals := max0(-k)
	if m := step / math.Pow(10, float64(k)); k <= 0 && math.Abs(m-2.5) < 1e-9 {
		decimals++ // 0.25, 2.5: one more digit than the magnitude says
	}
	var ticks []plot.Tick
	first := math.Ceil(min/step - 1e-9)
	for i := 0.0; ; i++ {
		v := (first + i) * step
		if v > max+step*1e-9 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0 // no "-0"
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: groupThousands(strconv.FormatFloat(v, 'f', decimals, 64))})
	}
	return ticks
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// groupThousands inserts commas into the integer part of a formatted
// number of 5 or more integer digits ("106146.5" → "106,146.5"; "2025"
// stays as is, which keeps four-digit values compact).
func groupThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if frac != "" {
		frac = "." + frac
	}
	if len(intPart) < 5 {
		return sign + intPart + frac
	}
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + b.String() + frac
}
