package server

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// TestJSONMembersAreMatchedExactly: a member whose name differs from a
// field only in case is not that field, as in the query string: {"DATE": …}
// is a missing date like ?DATE=, {"Symbol": …} leaves the default symbol.
// Escapes in a name are JSON, so "d\u0061te" is "date".
func TestJSONMembersAreMatchedExactly(t *testing.T) {
	e := newTestEnv(t)
	for _, body := range []string{`{"DATE":"2025-07-20"}`, `{"Date":"2025-07-20"}`} {
		w := e.do("POST", "/predict", body)
		if w.Code != 400 || decodeBody[errorBody](t, w).Code != codeMissingDate {
			t.Errorf("%s: %d %s, want 400 missing_date", body, w.Code, w.Body)
		}
	}
	if w := e.do("GET", "/predict?DATE=2025-07-20", ""); w.Code != 400 || decodeBody[errorBody](t, w).Code != codeMissingDate {
		t.Errorf("?DATE=: %d %s", w.Code, w.Body)
	}
	p, ae := decodePredict([]byte(`{"date":"2025-07-20","SYMBOL":"ETH-USD","Horizon":9}`))
	if ae != nil || p.symbol != "" || p.horizon != 1 {
		t.Errorf("case-folded members were taken: %+v %v", p, ae)
	}
	if p, ae := decodePredict([]byte(`{"d\u0061te":"2025-07-20"}`)); ae != nil || p.date.String() != "2025-07-20" {
		t.Errorf("an escaped exact name: %+v %v", p, ae)
	}
}

// TestBadQueryEncodingIsNamed: a field whose percent-encoding is broken is
// reported as such with that field's code, not dropped into "missing".
func TestBadQueryEncodingIsNamed(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		target, code string
		status       int
	}{
		{"/predict?date=%zz", codeInvalidDate, 400},
		{"/predict?date=2025-07-20&horizon=%2", codeInvalidHorizon, 400},
		{"/predict?date=2025-07-20;horizon=2", codeInvalidDate, 400},
		{"/predict?date=2025-07-20&symbol=%G0", codeUnknownSymbol, 404},
		{"/api/history?from=%zz", codeInvalidDate, 400},
	} {
		w := e.do("GET", tc.target, "")
		b := decodeBody[errorBody](t, w)
		if w.Code != tc.status || b.Code != tc.code || !strings.Contains(b.Error, "query") {
			t.Errorf("%s: %d %s, want %d %s about the encoding", tc.target, w.Code, w.Body, tc.status, tc.code)
		}
	}
	// A broken pair of a field the route does not know is ignored, as
	// unknown fields are.
	if w := e.do("GET", "/predict?date=2025-07-20&utm=%zz", ""); w.Code != 200 {
		t.Errorf("unknown broken field: %d %s", w.Code, w.Body)
	}
}

// FuzzParseQuery: any query string gives either url.ParseQuery's values
// (all of them when it parses) or a 400/404 with the code of the broken
// field; never a panic.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"date=2025-07-20", "date=%zz", "date=2025-07-20;horizon=2", "symbol=%G0&date=x", "a=%zz&date=1", "%zz=1", "date", "&&=&", "date=%2", "d%61te=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, e := parseQuery(raw, predictQueryCodes)
		want, err := url.ParseQuery(raw)
		switch {
		case e != nil:
			if err == nil || (e.Status != 400 && e.Status != 404) || e.Message == "" {
				t.Fatalf("%q: error %+v, url.ParseQuery %v", raw, e, err)
			}
			known := false
			for _, code := range predictQueryCodes {
				known = known || e.Code == code
			}
			if !known {
				t.Fatalf("%q: code %s is no field's", raw, e.Code)
			}
		case err == nil && !reflect.DeepEqual(v, want):
			t.Fatalf("%q: %v, url.ParseQuery %v", raw, v, want)
		}
	})
}
