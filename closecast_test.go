package closecast

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

func TestDateRoundTrip(t *testing.T) {
	for _, s := range []string{"1970-01-01", "1969-12-31", "2014-09-17", "2024-02-29", "2026-03-31"} {
		d, err := ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		if d.String() != s {
			t.Errorf("ParseDate(%q).String() = %q", s, d.String())
		}
		if got := DateOf(d.Time().Add(23*time.Hour + 59*time.Minute)); got != d {
			t.Errorf("DateOf(late %s) = %s", s, got)
		}
	}
	if MustParseDate("2020-01-02")-MustParseDate("2020-01-01") != 1 {
		t.Error("consecutive days must differ by 1")
	}
	for _, bad := range []string{"", "2025-02-30", "2025/01/01", "20250101", "2025-1-1"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
}

func TestDateJSON(t *testing.T) {
	b, err := json.Marshal(struct{ D Date }{MustParseDate("2025-07-20")})
	if err != nil || string(b) != `{"D":"2025-07-20"}` {
		t.Fatalf("got %s, %v", b, err)
	}
	var v struct{ D Date }
	if err := json.Unmarshal([]byte(`{"D":"2025-13-01"}`), &v); err == nil {
		t.Fatal("month 13 accepted")
	}
}

func TestBarValidate(t *testing.T) {
	good := Bar{Date: 1, Open: 10, High: 12, Low: 9, Close: 11, Volume: 5}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]Bar{
		"Open":   {Open: math.NaN(), High: 12, Low: 9, Close: 11},
		"Close":  {Open: 10, High: 12, Low: 9, Close: -1},
		"Low":    {Open: 10, High: 12, Low: 10.5, Close: 11},
		"High":   {Open: 10, High: 10.5, Low: 9, Close: 11},
		"Volume": {Open: 10, High: 12, Low: 9, Close: 11, Volume: -1},
	}
	for field, b := range cases {
		var fe *FieldError
		if err := b.Validate(); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
}

func TestSeries(t *testing.T) {
	bar := func(d string) Bar { return Bar{Date: MustParseDate(d), Open: 1, High: 1, Low: 1, Close: 1} }
	s, err := NewSeries("X", []Bar{bar("2020-01-01"), bar("2020-01-02"), bar("2020-01-05"), bar("2020-01-06"), bar("2020-01-08")})
	if err != nil {
		t.Fatal(err)
	}
	gaps := s.Gaps()
	if len(gaps) != 2 || gaps[0] != (Gap{MustParseDate("2020-01-03"), MustParseDate("2020-01-04")}) || s.MissingDays() != 3 {
		t.Fatalf("gaps %v missing %d", gaps, s.MissingDays())
	}
	if sub := s.Between(MustParseDate("2020-01-03"), MustParseDate("2020-01-06")); sub.Len() != 2 || sub.Bars[0].Date != MustParseDate("2020-01-05") {
		t.Fatalf("Between: %+v", sub)
	}
	if s.Index(MustParseDate("2020-01-04")) != -1 || s.Index(MustParseDate("2020-01-06")) != 3 {
		t.Fatal("Index")
	}
	if _, err := NewSeries("X", []Bar{bar("2020-01-02"), bar("2020-01-02")}); !errors.Is(err, ErrUnsorted) {
		t.Fatalf("duplicate date: %v", err)
	}
}

func TestNormalizeSymbol(t *testing.T) {
	if s, err := NormalizeSymbol("btc-usd"); err != nil || s != "BTC-USD" {
		t.Errorf("btc-usd → %q, %v", s, err)
	}
	if s, err := NormalizeSymbol("^bvsp"); err != nil || s != "^BVSP" {
		t.Errorf("^bvsp → %q, %v", s, err)
	}
	for _, bad := range []string{"", "BTC USD", "x\n", "a\x7f", string(make([]byte, MaxSymbolLen+1))} {
		if _, err := NormalizeSymbol(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
