package server

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/closecast/closecast"
)

// Gapped windows, empty ranges and non-finite forecasts each get a clear
// JSON error: a 422 naming the missing days, a 422 without an upside-down
// valid range, a 500 saying what is not finite (and keeping the cause for
// the log).
func TestFromDomainDataErrors(t *testing.T) {
	d := closecast.MustParseDate("2025-06-01")
	gap := &closecast.GapError{Symbol: "BTC-USD", Date: d, Window: 61, Missing: []closecast.Gap{{From: d - 12, To: d - 10}}}
	e := fromDomain(fmt.Errorf("predict: %w", gap))
	if e.Status != http.StatusUnprocessableEntity || e.Code != codeMissingDays || e.Valid != nil || !strings.Contains(e.Message, "2025-05-20 to 2025-05-22") {
		t.Errorf("gap: %+v", e)
	}
	empty := &closecast.RangeError{Symbol: "BTC-USD", Date: d, Earliest: d + 60, Latest: d + 1}
	if e := fromDomain(empty); e.Status != http.StatusUnprocessableEntity || e.Valid != nil || !strings.Contains(e.Message, "too few bars") {
		t.Errorf("empty range: %+v", e)
	}
	nf := &closecast.NonFiniteError{Stage: "price after inverse scaling", Date: d, Value: math.Inf(1)}
	e = fromDomain(fmt.Errorf("predict: %w", nf))
	if e.Status != http.StatusInternalServerError || e.Code != codeNonFinite || e.cause == nil || !strings.Contains(e.Message, "price after inverse scaling is +Inf") {
		t.Errorf("non-finite: %+v", e)
	}
}
