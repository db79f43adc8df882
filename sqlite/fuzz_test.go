package sqlite

import (
	"context"
	"errors"
	"testing"

	"github.com/closecast/closecast"
)

// FuzzUpsert runs a sequence of upserts decoded from the input against the
// store and against a map, and checks the reported added/updated counts and
// the stored bars. Each op is 3 bytes: a 16-bit mask of the days (of a
// 16-day window) to write, and a price level; level 0 prices every third day at 0,
// an invalid bar that must leave the store unchanged.
// go test -run '^$' -fuzz FuzzUpsert ./sqlite
func FuzzUpsert(f *testing.F) {
	f.Add([]byte{0xff, 0xff, 10})
	f.Add([]byte{0x0f, 0x00, 10, 0x0f, 0x00, 10, 0xf0, 0x0f, 11})
	f.Add([]byte{0x03, 0x00, 5, 0x01, 0x80, 0, 0x02, 0x00, 6})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 3*32 {
			in = in[:3*32]
		}
		ctx := context.Background()
		db, err := OpenMemory()
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		model := map[closecast.Date]closecast.Bar{}
		for ; len(in) >= 3; in = in[3:] {
			mask := uint16(in[0]) | uint16(in[1])<<8
			level := float64(in[2])
			var bars []closecast.Bar
			invalid := false // a bar priced 0
			for i := 0; i < 16; i++ {
				if mask&(1<<i) == 0 {
					continue
				}
				c := level + float64(i%3)
				invalid = invalid || c == 0
				bars = append(bars, closecast.Bar{Date: day0.AddDays(i), Open: c, High: c + 1, Low: c, Close: c, Volume: float64(i)})
			}
			wantAdded, wantUpdated := 0, 0
			for _, b := range bars {
				old, ok := model[b.Date]
				switch {
				case !ok:
					wantAdded++
				case old != b:
					wantUpdated++
				}
			}
			added, updated, err := db.Upsert(ctx, "X", bars)
			if invalid {
				var be *closecast.BarError
				if !errors.As(err, &be) {
					t.Fatalf("invalid bars accepted: err = %v", err)
				}
			} else {
				if err != nil || added != wantAdded || updated != wantUpdated {
					t.Fatalf("upsert of %d bars: added %d, updated %d, %v; want %d, %d", len(bars), added, updated, err, wantAdded, wantUpdated)
				}
				for _, b := range bars {
					model[b.Date] = b
				}
			}
			s, err := db.Bars(ctx, "X", day0, day0.AddDays(15))
			if len(model) == 0 {
				if !errors.Is(err, closecast.ErrUnknownSymbol) {
					t.Fatalf("empty store: err = %v; want ErrUnknownSymbol", err)
				}
				continue
			}
			if err != nil || s.Len() != len(model) {
				t.Fatalf("stored %d bars, %v; want %d", s.Len(), err, len(model))
			}
			for _, b := range s.Bars {
				if model[b.Date] != b {
					t.Fatalf("stored %+v, want %+v", b, model[b.Date])
				}
			}
		}
	})
}

// FuzzDecodeQuantiles reads any bytes as a ledger row's quantiles column:
// either an error or a valid distribution that encodes back to the same
// bytes; never a panic or an implausible distribution.
// go test -run '^$' -fuzz FuzzDecodeQuantiles ./sqlite
func FuzzDecodeQuantiles(f *testing.F) {
	q := new(closecast.Distribution)
	for k, l := range closecast.DistributionLevels {
		q[k] = 100 + 10*l
	}
	f.Add(encodeQuantiles(q))
	f.Add(encodeQuantiles(q)[:160])
	q[3] = q[4] + 1 // crossing
	f.Add(encodeQuantiles(q))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeQuantiles(b)
		if err != nil {
			return
		}
		if b == nil {
			if got != nil {
				t.Fatalf("NULL read as %v", got)
			}
			return
		}
		if verr := closecast.ValidateDistribution(got); verr != nil || string(encodeQuantiles(got)) != string(b) {
			t.Fatalf("%x read as %v (%v), which does not encode back", b, got, verr)
		}
	})
}
