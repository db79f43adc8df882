package marketdata

import (
	"bytes"
	"math"
	"reflect"
	"strconv"
	"testing"

	"github.com/closecast/closecast"
)

// FuzzReadCSV checks that the parser never panics and that whatever it
// accepts survives WriteCSV → ReadCSV unchanged.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-01,10,12,9,11,5,100\n"))
	f.Add([]byte(Header + "\n2020-01-01,10,12,9,11,1\n2020-01-02,11,1e300,10,1e300,1\n"))
	f.Add([]byte(Header + "\n2020-01-01,10,12,1e-310,11,1\n"))
	f.Add([]byte(Header + "\n2020-01-01,10,12,9,11,1\n2020-01-02,11,1000,10,999,1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		bars, err := ReadCSV(bytes.NewReader(in), "fuzz")
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %v is a %T, want *ParseError", err, err)
			}
			return
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, bars); err != nil {
			t.Fatalf("accepted bars do not write: %v", err)
		}
		back, err := ReadCSV(&buf, "rewritten")
		if err != nil {
			t.Fatalf("written bars do not read back: %v\n%s", err, buf.Bytes())
		}
		if len(bars) == 0 && len(back) == 0 {
			return
		}
		if !reflect.DeepEqual(back, bars) {
			t.Fatalf("round trip changed bars:\n%v\n%v", bars, back)
		}
	})
}

// FuzzParseDate checks the fast date parser against closecast.ParseDate:
// whatever it accepts, the domain parser accepts as the same day.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2020-02-29", "2021-02-29", "0000-01-01", "9999-12-31", "+999-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseDate([]byte(s))
		if !ok {
			return
		}
		want, err := closecast.ParseDate(s)
		if err != nil || want != got {
			t.Fatalf("parseDate(%q) = %d; ParseDate = %d, %v", s, got, want, err)
		}
	})
}

// FuzzParseNumber checks parseNumber, fast path included, against
// strconv.ParseFloat on every input both accept.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"468.17401123046875", "688.0", "21056800", "0.1", "1e-05", "9007199254740993", "12345678901234567890", ".5", "5."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseNumber([]byte(s))
		if err != nil {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseNumber(%q) = %v; strconv says %v, %v", s, got, want, err)
		}
	})
}
