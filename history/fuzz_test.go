package history

import (
	"testing"

	"github.com/closecast/closecast"
)

// FuzzMerge checks merge against its definition: the result is ascending
// with unique dates, holds every date of either input, and on a date both
// have it holds hi's bar. Each input byte adds one day to hi, lo or both
// (low two bits) after a gap (the other bits).
// go test -run '^$' -fuzz FuzzMerge ./history
func FuzzMerge(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 1, 1, 2, 2, 2, 3, 3})
	f.Add([]byte{0x13, 0x02, 0xff, 0x01, 0x00, 0x03})
	f.Fuzz(func(t *testing.T, in []byte) {
		var hi, lo []closecast.Bar
		inHi := map[closecast.Date]bool{}
		all := map[closecast.Date]bool{}
		d := closecast.Date(0)
		for _, b := range in {
			d += closecast.Date(b>>2) + 1
			if b&1 != 0 {
				hi = append(hi, closecast.Bar{Date: d, Close: 2})
				inHi[d] = true
				all[d] = true
			}
			if b&2 != 0 {
				lo = append(lo, closecast.Bar{Date: d, Close: 1})
				all[d] = true
			}
		}
		out := merge(hi, lo)
		if len(out) != len(all) {
			t.Fatalf("merge of %d and %d bars gave %d, want %d", len(hi), len(lo), len(out), len(all))
		}
		for i, b := range out {
			if i > 0 && b.Date <= out[i-1].Date {
				t.Fatalf("bar %d dated %s after %s", i, b.Date, out[i-1].Date)
			}
			if !all[b.Date] {
				t.Fatalf("bar %d dated %s is in neither input", i, b.Date)
			}
			if want := map[bool]float64{true: 2, false: 1}[inHi[b.Date]]; b.Close != want {
				t.Fatalf("bar %d (%s) came from the wrong input", i, b.Date)
			}
		}
	})
}
