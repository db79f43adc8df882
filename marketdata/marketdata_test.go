package marketdata

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
)

var ctx = context.Background()

func TestEmbeddedBTC(t *testing.T) {
	s, err := EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 4214 {
		t.Errorf("BTC-USD has %d rows, want 4214", s.Len())
	}
	first, _ := s.First()
	last, _ := s.Last()
	if first != closecast.MustParseDate("2014-09-17") || last != closecast.MustParseDate("2026-03-31") {
		t.Errorf("BTC-USD spans %s..%s, want 2014-09-17..2026-03-31", first, last)
	}
	if g := s.Gaps(); len(g) != 0 {
		t.Errorf("BTC-USD has gaps %v", g)
	}
	// The reference notebook's describe() of Close, 2018-01-01..2025-04-30.
	sub, err := Embedded().Bars(ctx, "BTC-USD", closecast.MustParseDate("2018-01-01"), closecast.MustParseDate("2025-04-30"))
	if err != nil {
		t.Fatal(err)
	}
	closes := sub.Closes()
	sum := 0.0
	for _, c := range closes {
		sum += c
	}
	mean := sum / float64(len(closes))
	if len(closes) != 2677 {
		t.Errorf("count %d, want 2677", len(closes))
	}
	if got := strconv.FormatFloat(mean, 'f', 6, 64); got != "30935.255341" {
		t.Errorf("mean %s, want 30935.255341", got)
	}
	ss := 0.0
	for _, c := range closes {
		ss += (c - mean) * (c - mean)
	}
	if got := strconv.FormatFloat(math.Sqrt(ss/float64(len(closes)-1)), 'f', 6, 64); got != "25374.416157" {
		t.Errorf("std %s, want 25374.416157", got)
	}
}

func TestEmbeddedETH(t *testing.T) {
	s, err := Embedded().Bars(ctx, "eth-usd", 0, closecast.MustParseDate("9999-12-31"))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := s.First()
	last, _ := s.Last()
	if s.Symbol != "ETH-USD" || s.Len() != 3065 || first != closecast.MustParseDate("2017-11-09") || last != closecast.MustParseDate("2026-03-31") || len(s.Gaps()) != 0 {
		t.Errorf("ETH-USD: symbol %q, %d rows %s..%s, %d gaps; want ETH-USD, 3065 rows 2017-11-09..2026-03-31, none", s.Symbol, s.Len(), first, last, len(s.Gaps()))
	}
}

func TestSymbols(t *testing.T) {
	if got := Symbols(); !reflect.DeepEqual(got, []string{"BTC-USD", "ETH-USD"}) {
		t.Errorf("Symbols() = %v", got)
	}
}

func TestEmbeddedUnknownSymbol(t *testing.T) {
	_, err := Embedded().Bars(ctx, "DOGE-USD", 0, 100000)
	if !errors.Is(err, closecast.ErrUnknownSymbol) || !strings.Contains(err.Error(), `"DOGE-USD"`) {
		t.Errorf("err = %v, want ErrUnknownSymbol naming DOGE-USD", err)
	}
}

// Bars hands out a copy: scribbling on it must not change what the next
// caller gets.
func TestEmbeddedBarsAreCopies(t *testing.T) {
	d := closecast.MustParseDate("2020-01-01")
	a, _ := Embedded().Bars(ctx, "BTC-USD", d, d)
	want := a.Bars[0].Close
	a.Bars[0].Close = -1
	b, _ := Embedded().Bars(ctx, "BTC-USD", d, d)
	if b.Bars[0].Close != want {
		t.Errorf("shared data corrupted: close %v, want %v", b.Bars[0].Close, want)
	}
}

// The shipped files are in exactly the format WriteCSV writes, so writing
// the parsed bars reproduces them byte for byte: both the parser and the
// writer lose nothing.
func TestWriteCSVReproducesShippedFiles(t *testing.T) {
	for _, sym := range Symbols() {
		s, err := EmbeddedSeries(sym)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, s.Bars); err != nil {
			t.Fatal(err)
		}
		want, _ := data.ReadFile("data/" + strings.ToLower(sym) + fileSuffix)
		if !bytes.Equal(buf.Bytes(), want) {
			a, b := strings.Split(buf.String(), "\n"), strings.Split(string(want), "\n")
			for i := range min(len(a), len(b)) {
				if a[i] != b[i] {
					t.Fatalf("%s line %d: wrote %q, file has %q", sym, i+1, a[i], b[i])
				}
			}
			t.Fatalf("%s: wrote %d lines, file has %d", sym, len(a), len(b))
		}
	}
}

// referenceParse is a slow, obviously-correct parser built on encoding/csv,
// time.Parse and strconv, to check the hand-written one against.
func referenceParse(t testing.TB, data []byte) []closecast.Bar {
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var bars []closecast.Bar
	for _, r := range recs[1:] {
		d, err := time.Parse("2006-01-02", r[0])
		if err != nil {
			t.Fatal(err)
		}
		var v [5]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(r[i+1], 64); err != nil {
				t.Fatal(err)
			}
		}
		bars = append(bars, closecast.Bar{Date: closecast.DateOf(d), Open: v[0], High: v[1], Low: v[2], Close: v[3], Volume: v[4]})
	}
	return bars
}

func TestParseMatchesReference(t *testing.T) {
	for _, sym := range Symbols() {
		raw, _ := data.ReadFile("data/" + strings.ToLower(sym) + fileSuffix)
		got, err := parseCSV(raw, sym, closecast.DefaultMaxJump)
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceParse(t, raw); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: hand-written parser disagrees with encoding/csv+strconv", sym)
		}
	}
}

const good = "Date,Open,High,Low,Close,Volume\n" +
	"2020-01-01,10,12,9,11,100\n" +
	"2020-01-02,11,13,10,12,200\n"

func TestReadCSVErrors(t *testing.T) {
	row := func(s string) string { return Header + "\n2019-12-31,10,12,9,11,100\n" + s + "\n" }
	for _, tc := range []struct{ in, want string }{
		{"", `x.csv:1: empty file, want header "Date,Open,High,Low,Close,Volume"`},
		{"date,open,high,low,close,volume\n", `x.csv:1: header "date,open,high,low,close,volume", want "Date,Open,High,Low,Close,Volume" (or Yahoo's "Date,Open,High,Low,Close,Adj Close,Volume")`},
		{row("2020-01-01,10,12,9,abc,100"), `x.csv:3: field Close: "abc" is not a number`},
		{row("2020-01-01,10,12,9,11"), `x.csv:3: 5 fields, want 6`},
		{row("2020-01-01,10,12,9,11,100,7"), `x.csv:3: 7 fields, want 6`},
		{row("2020-02-30,10,12,9,11,100"), `x.csv:3: field Date: "2020-02-30" is not a valid YYYY-MM-DD date`},
		{row("2020/01/01,10,12,9,11,100"), `x.csv:3: field Date: "2020/01/01" is not a valid YYYY-MM-DD date`},
		{row("2020-01-01,NaN,12,9,11,100"), `x.csv:3: field Open: "NaN" is not a number`},
		{row("2020-01-01,0x10,12,9,11,100"), `x.csv:3: field Open: "0x10" is not a number`},
		{row("2020-01-01,10,12,9,11,"), `x.csv:3: field Volume: "" is not a number`},
		{row("2020-01-01,10,12,9,11,1e400"), `x.csv:3: field Volume: "1e400" is out of range`},
		{row("2020-01-01,10,12,9,11,-1"), `x.csv:3: field Volume: -1 is not a finite volume ≥ 0`},
		{row("2020-01-01,0,12,9,11,100"), `x.csv:3: field Open: 0 is not a positive price`},
		{row("2020-01-01,10,12,10.5,11,100"), `x.csv:3: field Low: 10.5 is above min(Open, Close) = 10`},
		{row("2020-01-01,10,10.9,9,11,100"), `x.csv:3: field High: 10.9 is below max(Open, Close) = 11`},
		{row("2019-12-31,10,12,9,11,100"), `x.csv:3: field Date: dates not strictly ascending: 2019-12-31 repeats 2019-12-31 on line 2`},
		{row("2019-12-30,10,12,9,11,100"), `x.csv:3: field Date: dates not strictly ascending: 2019-12-30 comes before 2019-12-31 on line 2`},
		{row("\n2020-01-01,10,12,9,11,100"), `x.csv:3: empty row`},
		{Header + "\n" + strings.Repeat("9", 100) + ",1,1,1,1,1\n", `x.csv:2: field Date: "9999999999999999999999999999999999999999…" is not a valid YYYY-MM-DD date`},
	} {
		_, err := ReadCSV(strings.NewReader(tc.in), "x.csv")
		if err == nil || err.Error() != tc.want {
			t.Errorf("ReadCSV(%q):\n got %v\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestReadCSVErrorsAreTyped(t *testing.T) {
	_, err := ReadCSV(strings.NewReader(good+"2020-01-01,10,12,9,11,100\n"), "x.csv")
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 4 || pe.Field != "Date" || !errors.Is(err, closecast.ErrUnsorted) {
		t.Errorf("err = %#v, want *ParseError line 4 field Date wrapping ErrUnsorted", err)
	}
}

func TestReadCSVTolerates(t *testing.T) {
	want, err := ReadCSV(strings.NewReader(good), "x.csv")
	if err != nil || len(want) != 2 {
		t.Fatalf("good input: %v, %d bars", err, len(want))
	}
	if want[1] != (closecast.Bar{Date: closecast.MustParseDate("2020-01-02"), Open: 11, High: 13, Low: 10, Close: 12, Volume: 200}) {
		t.Errorf("bar 2 = %+v", want[1])
	}
	for name, in := range map[string]string{
		"BOM":               "\xef\xbb\xbf" + good,
		"CRLF":              strings.ReplaceAll(good, "\n", "\r\n"),
		"no final newline":  strings.TrimSuffix(good, "\n"),
		"trailing blanks":   good + "\n\r\n\n",
		"exponents":         strings.Replace(good, ",200\n", ",2e2\n", 1),
		"Yahoo's Adj Close": "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-01,10,12,9,11,5,100\n2020-01-02,11,13,10,12,6,200\n",
	} {
		got, err := ReadCSV(strings.NewReader(in), "x.csv")
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, %v; want %v", name, got, err, want)
		}
	}
	// Adj Close is discarded, but must still be a number.
	_, err = ReadCSV(strings.NewReader("Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-01,10,12,9,11,null,100\n"), "y.csv")
	if err == nil || err.Error() != `y.csv:2: field Adj Close: "null" is not a number` {
		t.Errorf("bad Adj Close: %v", err)
	}
	// Header only: no bars, no error.
	if got, err := ReadCSV(strings.NewReader(Header+"\n"), "x.csv"); err != nil || len(got) != 0 {
		t.Errorf("header only: %v, %v", got, err)
	}
}

func TestReadCSVGapsAllowed(t *testing.T) {
	bars, err := ReadCSV(strings.NewReader(Header+"\n2020-01-03,10,12,9,11,1\n2020-01-06,10,12,9,11,1\n"), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	s := closecast.Series{Bars: bars}
	if g := s.Gaps(); len(g) != 1 || g[0].Days() != 2 || g[0].From != closecast.MustParseDate("2020-01-04") {
		t.Errorf("gaps %v, want 2020-01-04..05", g)
	}
}

func TestWriteCSVFormat(t *testing.T) {
	bars := []closecast.Bar{
		{Date: closecast.MustParseDate("1999-12-31"), Open: 457.3340148925781, High: 2e8, Low: 0.00001, Close: 0.5, Volume: 21056800},
		{Date: closecast.MustParseDate("2000-02-29"), Open: 1, High: 1, Low: 1, Close: 1, Volume: 0},
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, bars); err != nil {
		t.Fatal(err)
	}
	want := Header + "\n1999-12-31,457.3340148925781,200000000.0,1e-05,0.5,21056800\n2000-02-29,1.0,1.0,1.0,1.0,0\n"
	if buf.String() != want {
		t.Errorf("wrote\n%s\nwant\n%s", buf.String(), want)
	}
	back, err := ReadCSV(&buf, "buf")
	if err != nil || !reflect.DeepEqual(back, bars) {
		t.Errorf("round trip: %v, %v", back, err)
	}
}

func TestWriteCSVRefusesInvalid(t *testing.T) {
	var buf bytes.Buffer
	err := WriteCSV(&buf, []closecast.Bar{{Date: 1, Open: 1, High: 1, Low: 2, Close: 1}})
	if err == nil || buf.Len() != 0 {
		t.Errorf("invalid bar: err %v, wrote %q", err, buf.String())
	}
	err = WriteCSV(&buf, []closecast.Bar{{Date: 2, Open: 1, High: 1, Low: 1, Close: 1}, {Date: 1, Open: 1, High: 1, Low: 1, Close: 1}})
	if !errors.Is(err, closecast.ErrUnsorted) || buf.Len() != 0 {
		t.Errorf("unsorted: err %v, wrote %q", err, buf.String())
	}
}

func TestWriteCSVFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.csv")
	bars, _ := ReadCSV(strings.NewReader(good), "good")
	if err := WriteCSVFile(p, bars); err != nil {
		t.Fatal(err)
	}
	want := Header + "\n2020-01-01,10.0,12.0,9.0,11.0,100\n2020-01-02,11.0,13.0,10.0,12.0,200\n"
	if b, _ := os.ReadFile(p); string(b) != want {
		t.Errorf("file = %q, want %q", b, want)
	}
	// A failed write leaves the old file and no temporary behind.
	if err := WriteCSVFile(p, []closecast.Bar{{Date: 1}}); err == nil {
		t.Fatal("invalid bars written")
	}
	if b, _ := os.ReadFile(p); string(b) != want {
		t.Errorf("failed write changed the file to %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only out.csv", len(ents))
	}
}

func TestCSVFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "any.csv")
	if err := os.WriteFile(p, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	src := CSVFile(p)
	var _ closecast.Source = src
	s, err := src.Bars(ctx, "^BVSP", closecast.MustParseDate("2020-01-02"), closecast.MustParseDate("2020-12-31"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Symbol != "^BVSP" || s.Len() != 1 || s.Bars[0].Close != 12 {
		t.Errorf("got %+v", s)
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte(good+"2020-01-03,1,1,1,x,1\n"), 0o644)
	if _, err := CSVFile(bad).Bars(ctx, "X", 0, 99999); err == nil || err.Error() != bad+`:4: field Close: "x" is not a number` {
		t.Errorf("bad file: %v", err)
	}
	if _, err := CSVFile(filepath.Join(t.TempDir(), "missing.csv")).Bars(ctx, "X", 0, 1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestParseDateMatchesDomain(t *testing.T) {
	for _, s := range []string{"1970-01-01", "0000-01-01", "0000-03-01", "0001-01-01", "1900-02-28", "2000-02-29", "2024-12-31", "9999-12-31", "1969-12-31"} {
		got, ok := parseDate([]byte(s))
		if want := closecast.MustParseDate(s); !ok || got != want {
			t.Errorf("parseDate(%s) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"1900-02-29", "2023-02-29", "2024-04-31", "2024-00-10", "2024-13-01", "2024-01-00", "+024-01-01", "2024-1-01", "2024-01-1 "} {
		if _, ok := parseDate([]byte(s)); ok {
			t.Errorf("parseDate(%q) accepted", s)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	raw, _ := data.ReadFile("data/btc-usd-daily.csv")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := parseCSV(raw, "btc", closecast.DefaultMaxJump); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseEncodingCSV is the alternative the hand-written parser was
// measured against.
func BenchmarkParseEncodingCSV(b *testing.B) {
	raw, _ := data.ReadFile("data/btc-usd-daily.csv")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		referenceParse(b, raw)
	}
}

// The shipped data passes every rule, the jump limit included (its largest
// daily moves are 1.59× for BTC-USD and 1.73× for ETH-USD, 2020-03-12).
func TestEmbeddedPassesValidation(t *testing.T) {
	for _, sym := range Symbols() {
		s, err := EmbeddedSeries(sym)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := closecast.NewSeries(sym, s.Bars); err != nil {
			t.Errorf("%s: %v", sym, err)
		}
		if err := closecast.CheckJumps(s.Bars, closecast.DefaultMaxJump); err != nil {
			t.Errorf("%s: %v", sym, err)
		}
		if err := closecast.CheckJumps(s.Bars, 1.5); err == nil {
			t.Errorf("%s: no daily move above 1.5×; the test no longer shows the limit's headroom", sym)
		}
	}
}

func TestReadCSVRefusesAbsurdData(t *testing.T) {
	for _, tc := range []struct {
		name, rows string
		line       int
		field      string
	}{
		{"huge close", "2020-01-01,10,12,9,11,1\n2020-01-02,11,1e300,10,1e300,1\n", 3, "High"},
		{"tiny close", "2020-01-01,10,12,9,11,1\n2020-01-02,11,12,1e-300,1e-300,1\n", 3, "Low"},
		{"denormal", "2020-01-01,10,12,1e-310,11,1\n", 2, "Low"},
		{"jump", "2020-01-01,10,12,9,11,1\n2020-01-02,11,1000,10,999,1\n2020-01-03,11,12,10,11,1\n", 3, "Close"},
		{"open above high", "2020-01-01,13,12,9,11,1\n", 2, "High"},
	} {
		_, err := ReadCSV(strings.NewReader(Header+"\n"+tc.rows), "x.csv")
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != tc.line || pe.Field != tc.field {
			t.Errorf("%s: got %v, want line %d field %s", tc.name, err, tc.line, tc.field)
		}
	}
}

func TestReadCSVMaxJumpFromEnv(t *testing.T) {
	in := Header + "\n2020-01-01,10,12,9,11,1\n2020-01-02,11,100,10,99,1\n"
	if _, err := ReadCSV(strings.NewReader(in), "x.csv"); err == nil {
		t.Fatal("a 9× jump passed the default limit")
	}
	t.Setenv(closecast.EnvMaxJump, "10")
	if _, err := ReadCSV(strings.NewReader(in), "x.csv"); err != nil {
		t.Errorf("with %s=10: %v", closecast.EnvMaxJump, err)
	}
	t.Setenv(closecast.EnvMaxJump, "0.5")
	if _, err := ReadCSV(strings.NewReader(in), "x.csv"); err == nil || !strings.Contains(err.Error(), closecast.EnvMaxJump) {
		t.Errorf("a bad %s: %v", closecast.EnvMaxJump, err)
	}
}
