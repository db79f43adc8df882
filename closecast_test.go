package closecast

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
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

func TestBarValidateRefusesAbsurdMagnitudes(t *testing.T) {
	for _, tc := range []struct {
		field string
		bar   Bar
	}{
		{"High", Bar{Open: 100, High: 1e300, Low: 90, Close: 1e300, Volume: 1}},
		{"Open", Bar{Open: 1e-300, High: 100, Low: 1e-300, Close: 100, Volume: 1}},
		{"Open", Bar{Open: 1e-310, High: 100, Low: 1e-310, Close: 50, Volume: 1}},
		{"Volume", Bar{Open: 100, High: 110, Low: 90, Close: 100, Volume: 1e300}},
	} {
		err := tc.bar.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%+v: got %v, want a FieldError on %s", tc.bar, err, tc.field)
		}
	}
	ok := Bar{Open: MinPrice, High: MaxPrice, Low: MinPrice, Close: MaxPrice, Volume: MaxVolume}
	if err := ok.Validate(); err != nil {
		t.Errorf("bar at the limits: %v", err)
	}
}

func TestCheckJumps(t *testing.T) {
	d := MustParseDate("2025-01-01")
	bars := func(closes ...float64) []Bar {
		out := make([]Bar, len(closes))
		for i, c := range closes {
			out[i] = Bar{Date: d.AddDays(i), Open: c, High: c, Low: c, Close: c}
		}
		return out
	}
	if err := CheckJumps(bars(100, 150, 60, 200), 0); err != nil {
		t.Errorf("moves within 4×: %v", err)
	}
	for _, tc := range []struct {
		closes []float64
		max    float64
		day    int
	}{
		{[]float64{100, 101, 1e8, 100}, 0, 2},
		{[]float64{100, 101, 24}, 0, 2},
		{[]float64{100, 150}, 1.2, 1},
	} {
		err := CheckJumps(bars(tc.closes...), tc.max)
		var be *BarError
		var je *JumpError
		if !errors.As(err, &be) || !errors.As(err, &je) || be.Date != d.AddDays(tc.day) {
			t.Errorf("%v (max %v): got %v, want a jump on %s", tc.closes, tc.max, err, d.AddDays(tc.day))
		}
	}
	if err := CheckJumps(bars(100, 150), 2); err != nil {
		t.Errorf("a raised limit: %v", err)
	}
}

func TestParseMaxJump(t *testing.T) {
	if f, err := ParseMaxJump(""); err != nil || f != DefaultMaxJump {
		t.Errorf(`"" = %v, %v`, f, err)
	}
	if f, err := ParseMaxJump("10"); err != nil || f != 10 {
		t.Errorf(`"10" = %v, %v`, f, err)
	}
	for _, s := range []string{"1", "0.5", "NaN", "+Inf", "x"} {
		if _, err := ParseMaxJump(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestRangeErrorEmptyAndGapError(t *testing.T) {
	d := MustParseDate("2025-01-10")
	re := &RangeError{Symbol: "X", Date: d, Earliest: d.AddDays(30), Latest: d.AddDays(1)}
	if !re.Empty() || !strings.Contains(re.Error(), "too few bars") {
		t.Errorf("inverted range: %v", re)
	}
	ge := &GapError{Symbol: "X", Date: d, Window: 5, Missing: []Gap{{From: d.AddDays(-3), To: d.AddDays(-3)}}}
	if !strings.Contains(ge.Error(), "2025-01-07 is missing") {
		t.Errorf("gap error: %v", ge)
	}
	if err := Finite("price", d, math.Inf(1)); err == nil || !strings.Contains(err.Error(), "price is +Inf") {
		t.Errorf("Finite(+Inf) = %v", err)
	}
	if err := Finite("price", d, 1); err != nil {
		t.Errorf("Finite(1) = %v", err)
	}
}
