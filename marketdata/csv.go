package marketdata

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/internal/atomicfile"
)

// Header is the first line of every CSV closecast reads and writes. The
// layout is one row per UTC calendar day, dates ascending and unique:
//
//	Date,Open,High,Low,Close,Volume
//	2014-09-17,465.864013671875,468.17401123046875,452.4219970703125,457.3340148925781,21056800
//
// Date is ISO 8601 YYYY-MM-DD; prices and volume are decimal numbers
// (plain or with an exponent, as Go's strconv and Python's repr write them).
const Header = "Date,Open,High,Low,Close,Volume"

// YahooHeader is the header of Yahoo Finance's own "Download" CSV export.
// ReadCSV accepts it too: the Adj Close column must hold a number (so a
// broken file still fails loudly) but its value is discarded, because a bar's
// Close is Yahoo's Close (split-adjusted only); for crypto the two columns are
// identical anyway.
const YahooHeader = "Date,Open,High,Low,Close,Adj Close,Volume"

// ParseError locates a bad CSV row: the source name, the 1-based line number
// (the header is line 1), the field ("" when the row as a whole is wrong) and
// what is wrong with it. Its text reads like a compiler error:
//
//	btc.csv:17: field Close: "abc" is not a number
type ParseError struct {
	Name  string
	Line  int
	Field string
	Err   error
}

// Error formats the error as "name:line: field F: reason".
func (e *ParseError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %v", e.Name, e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d: field %s: %v", e.Name, e.Line, e.Field, e.Err)
}

// Unwrap returns the underlying error (e.g. closecast.ErrUnsorted).
func (e *ParseError) Unwrap() error { return e.Err }

// column indexes of the six values of a bar within a row, per header.
var (
	plainCols = [6]int{0, 1, 2, 3, 4, 5} // Date,Open,High,Low,Close,Volume
	yahooCols = [6]int{0, 1, 2, 3, 4, 6} // Date,Open,High,Low,Close,(Adj Close),Volume
)

var fieldNames = [6]string{"Date", "Open", "High", "Low", "Close", "Volume"}

// ReadCSV reads daily bars in the Header (or YahooHeader) layout from r.
// name is used in errors only ("btc.csv:17: field Close: ..."). Every row is
// checked: seven or six fields as the header says, a valid date, decimal
// numbers, closecast.Bar.Validate, dates strictly ascending, and no close
// beyond closecast.MaxJump() times the previous one. The first bad row is
// returned as a *ParseError; no row is ever skipped silently. Gaps
// between dates are allowed (closecast.Series.Gaps reports them). A file with
// only the header yields no bars and no error. A UTF-8 BOM, CRLF line ends and
// blank lines at the very end are tolerated.
func ReadCSV(r io.Reader, name string) ([]closecast.Bar, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	maxJump, err := closecast.MaxJump()
	if err != nil {
		return nil, &ParseError{Name: name, Err: err}
	}
	return parseCSV(data, name, maxJump)
}

// parseCSV is the hand-written parser behind ReadCSV. It avoids encoding/csv
// (quoting rules the format never uses, a []string per row) and time.Parse:
// the embedded data is parsed on every cold start of a Lambda, so this runs
// in well under a millisecond for the 4214 BTC-USD rows (see BenchmarkParse).
func parseCSV(data []byte, name string, maxJump float64) ([]closecast.Bar, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	line, rest := cutLine(data)
	cols := plainCols
	nfields := 6
	switch string(line) {
	case Header:
	case YahooHeader:
		cols, nfields = yahooCols, 7
	default:
		if len(line) == 0 && len(rest) == 0 {
			return nil, &ParseError{Name: name, Line: 1, Err: fmt.Errorf("empty file, want header %q", Header)}
		}
		return nil, &ParseError{Name: name, Line: 1, Err: fmt.Errorf("header %q, want %q (or Yahoo's %q)", clip(line), Header, YahooHeader)}
	}
	// One row per ~85 bytes in the shipped files; preallocating avoids
	// regrowing the slice a dozen times on a cold start.
	bars := make([]closecast.Bar, 0, len(rest)/64+1)
	var fields [7][]byte
	for lineNo := 2; len(rest) > 0; lineNo++ {
		line, rest = cutLine(rest)
		if len(line) == 0 {
			if len(bytes.TrimSpace(rest)) == 0 {
				break // trailing blank lines at the end of the file
			}
			return nil, &ParseError{Name: name, Line: lineNo, Err: errors.New("empty row")}
		}
		n := 0
		for n < nfields-1 {
			i := bytes.IndexByte(line, ',')
			if i < 0 {
				break
			}
			fields[n], line = line[:i], line[i+1:]
			n++
		}
		fields[n] = line
		n++
		if extra := bytes.Count(line, []byte{','}); n != nfields || extra > 0 {
			return nil, &ParseError{Name: name, Line: lineNo, Err: fmt.Errorf("%d fields, want %d", n+extra, nfields)}
		}
		var b closecast.Bar
		d, ok := parseDate(fields[0])
		if !ok {
			return nil, &ParseError{Name: name, Line: lineNo, Field: "Date", Err: fmt.Errorf("%q is not a valid YYYY-MM-DD date", clip(fields[0]))}
		}
		b.Date = d
		var vals [5]float64
		for k := 1; k < 6; k++ {
			v, err := parseNumber(fields[cols[k]])
			if err != nil {
				return nil, &ParseError{Name: name, Line: lineNo, Field: fieldNames[k], Err: err}
			}
			vals[k-1] = v
		}
		if nfields == 7 {
			if _, err := parseNumber(fields[5]); err != nil {
				return nil, &ParseError{Name: name, Line: lineNo, Field: "Adj Close", Err: err}
			}
		}
		b.Open, b.High, b.Low, b.Close, b.Volume = vals[0], vals[1], vals[2], vals[3], vals[4]
		if err := b.Validate(); err != nil {
			var fe *closecast.FieldError
			if errors.As(err, &fe) {
				return nil, &ParseError{Name: name, Line: lineNo, Field: fe.Field, Err: errors.New(fe.Reason)}
			}
			return nil, &ParseError{Name: name, Line: lineNo, Err: err}
		}
		if k := len(bars); k > 0 && b.Date <= bars[k-1].Date {
			what := "comes before"
			if b.Date == bars[k-1].Date {
				what = "repeats"
			}
			return nil, &ParseError{Name: name, Line: lineNo, Field: "Date",
				Err: fmt.Errorf("%w: %s %s %s on line %d", closecast.ErrUnsorted, b.Date, what, bars[k-1].Date, lineNo-1)}
		}
		bars = append(bars, b)
	}
	if err := closecast.CheckJumps(bars, maxJump); err != nil {
		var be *closecast.BarError
		errors.As(err, &be)
		return nil, &ParseError{Name: name, Line: be.Index + 2, Field: "Close", Err: be.Err}
	}
	return bars, nil
}

// cutLine splits off the first line of data, without its "\n" or "\r\n".
func cutLine(data []byte) (line, rest []byte) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		line, rest = data, nil
	} else {
		line, rest = data[:i], data[i+1:]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// clip shortens a value quoted in an error so a garbage megabyte line does
// not become a megabyte error message.
func clip(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// parseNumber parses a decimal number: optional sign, digits with an optional
// fraction, optional exponent. It refuses what strconv.ParseFloat would also
// take but no market data file should hold: "NaN", "Inf", hex floats and
// underscores.
func parseNumber(b []byte) (float64, error) {
	if v, ok := parseExactDecimal(b); ok {
		return v, nil
	}
	ok := len(b) > 0
	digits := false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-':
		default:
			ok = false
		}
	}
	if ok && digits {
		// string(b) does not escape (strconv clones its input into errors),
		// so short numbers convert without allocating.
		v, err := strconv.ParseFloat(string(b), 64)
		if err == nil {
			return v, nil
		}
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is out of range", clip(b))
		}
	}
	return 0, fmt.Errorf("%q is not a number", clip(b))
}

// inv5 and max5 make "is m divisible by 5^k, and by what quotient" one
// multiplication instead of a 64-bit division (Granlund & Montgomery): 5^k
// is odd, so it has an inverse inv5[k] modulo 2^64, and m·inv5[k] mod 2^64
// is the exact quotient m / 5^k iff that product is ≤ max5[k] = ⌊(2^64−1)/5^k⌋.
// k runs over 0..27, the powers of five that fit in a uint64.
var inv5, max5 = func() (inv, lim [28]uint64) {
	p := uint64(1)
	for k := range inv {
		// Newton's iteration x ← x(2 − px) doubles the correct low bits
		// of the inverse each step; x = p is already right in 3 bits.
		x := p
		for range 5 {
			x *= 2 - p*x
		}
		inv[k], lim[k] = x, ^uint64(0)/p
		p *= 5
	}
	return inv, lim
}()

// parseExactDecimal is the fast path of parseNumber for "digits[.digits]"
// whose value is exactly a float64, which is every price in the shipped
// files: Yahoo serves float32 values and pandas wrote them out in full, e.g.
// 468.17401123046875. strconv.ParseFloat is slow on exactly these inputs
// (~500 ns: its Eisel-Lemire step cannot tell an exact value from a halfway
// case and falls back to big-decimal arithmetic). m / 10^k is exact when
// m = q·5^k with q < 2^53: the value is then q / 2^k, one exact division.
// ok is false whenever that does not hold; the caller then uses strconv.
func parseExactDecimal(b []byte) (v float64, ok bool) {
	var m uint64
	k, digits, dot := 0, 0, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits == 19 {
				return 0, false // would overflow uint64
			}
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				k++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || k >= len(inv5) {
		return 0, false
	}
	q := m * inv5[k]
	if q > max5[k] || q >= 1<<53 {
		return 0, false
	}
	return float64(q) / float64(uint64(1)<<k), true
}

// parseDate parses exactly "YYYY-MM-DD" (four, two and two ASCII digits) into
// days since 1970-01-01, rejecting impossible days such as 2025-02-30. It
// agrees with closecast.ParseDate on everything it accepts (a fuzz test checks
// this) and is ~20× faster than time.Parse.
func parseDate(b []byte) (closecast.Date, bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	m, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return closecast.Date(daysFromCivil(y, m, d)), true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns days since 1970-01-01 of the proleptic Gregorian date
// y-m-d, for 0 ≤ y ≤ 9999 (Howard Hinnant's algorithm, with eras of 400
// years starting on March 1 so that the leap day is the last of the year).
func daysFromCivil(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// WriteCSV writes bars in the Header layout, one row per bar. It first checks
// what ReadCSV would check (each bar valid, dates strictly ascending) and
// writes nothing if that fails, so it never produces a file closecast cannot
// read back. Numbers are written in the shortest form that parses back to the
// same float64, in plain decimal notation (exponent only below 1e-4 or from
// 1e21 up): 457.3340148925781 stays as is, an integral price is written
// 688.0 and an integral volume 81145504. ReadCSV(WriteCSV(bars)) returns bars
// exactly, and WriteCSV reproduces the shipped files byte for byte.
func WriteCSV(w io.Writer, bars []closecast.Bar) error {
	if _, err := closecast.NewSeries("", bars); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	buf := make([]byte, 0, 128)
	buf = append(buf, Header...)
	buf = append(buf, '\n')
	for _, b := range bars {
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
		buf = b.Date.Time().AppendFormat(buf, closecast.DateLayout)
		for _, v := range [4]float64{b.Open, b.High, b.Low, b.Close} {
			buf = append(buf, ',')
			buf = appendNumber(buf, v, true)
		}
		buf = append(buf, ',')
		buf = appendNumber(buf, b.Volume, false)
		buf = append(buf, '\n')
	}
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	return bw.Flush()
}

// appendNumber appends the shortest round-tripping decimal form of v. An
// integral price gets a ".0" (688.0), as pandas wrote the shipped files, so
// that they round-trip byte for byte; an integral volume does not.
func appendNumber(buf []byte, v float64, price bool) []byte {
	if a := math.Abs(v); a == 0 || (a >= 1e-4 && a < 1e21) {
		buf = strconv.AppendFloat(buf, v, 'f', -1, 64)
		if price && v == math.Trunc(v) {
			buf = append(buf, ".0"...)
		}
		return buf
	}
	return strconv.AppendFloat(buf, v, 'g', -1, 64)
}

// WriteCSVFile writes bars to path atomically: into a temporary file in the
// same directory, synced, then renamed over path, so a reader never sees a
// half-written file and a failure leaves any previous file untouched.
func WriteCSVFile(path string, bars []closecast.Bar) error {
	return atomicfile.WriteFunc(path, func(w io.Writer) error { return WriteCSV(w, bars) })
}
