package server

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/internal/testmodel"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/predict"
)

// quantilesBody is a horizon answer with each day's quantiles map.
type quantilesBody struct {
	Forecasts []struct {
		Date      closecast.Date     `json:"date"`
		P10       *float64           `json:"p10"`
		P50       *float64           `json:"p50"`
		P90       *float64           `json:"p90"`
		Quantiles map[string]float64 `json:"quantiles"`
	} `json:"forecasts"`
	Interval *Interval `json:"interval"`
}

// askQuantiles sends the same quantiles request as GET and POST, checks
// the two answers are identical and returns the decoded body.
func askQuantiles(t *testing.T, e *testEnv, query, body string) quantilesBody {
	t.Helper()
	get := e.do("GET", "/predict?"+query, "")
	post := e.do("POST", "/predict", body)
	if get.Code != 200 || post.Code != 200 {
		t.Fatalf("GET %s: %d %s\nPOST %s: %d %s", query, get.Code, get.Body, body, post.Code, post.Body)
	}
	if get.Body.String() != post.Body.String() {
		t.Fatalf("GET and POST differ:\n%s\n%s", get.Body, post.Body)
	}
	var b quantilesBody
	if err := json.Unmarshal(get.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// cliQuantiles is what `closecast predict --quantiles pct` computes: the
// service's horizon at the levels pct/100 and nothing else.
func cliQuantiles(t *testing.T, svc *predict.Service, date closecast.Date, opt closecast.HorizonOptions, pct []float64) closecast.Horizon {
	t.Helper()
	for _, v := range pct {
		opt.Levels = append(opt.Levels, v/100)
	}
	opt.Seed = closecast.DefaultSeed
	h, err := svc.PredictHorizon(context.Background(), "", date, opt)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestQuantilesOfAPointModel: "quantiles" on the shipped (conformal) model
// answers each day's asked levels exactly as `closecast predict
// --quantiles` computes them (conformal and Monte-Carlo dropout alike),
// keyed as the dashboard reads them, while p10/p50/p90 stay those of the
// same request without quantiles.
func TestQuantilesOfAPointModel(t *testing.T) {
	e, svc, m := shippedModelEnv(t)
	last, err := svc.LastKnown(context.Background(), m.Meta.Symbol)
	if err != nil {
		t.Fatal(err)
	}
	date := last - 3
	pct := []float64{2.5, 5, 50, 95, 97.5}
	keys := []string{"2.5", "5", "50", "95", "97.5"}
	for _, tc := range []struct {
		name, query, body, without string
		opt                        closecast.HorizonOptions
		method                     string
	}{
		{"one day, auto", "quantiles=2.5,5,50,95,97.5", `"quantiles":[2.5,5,50,95,97.5]`, "interval=auto",
			closecast.HorizonOptions{Horizon: 1, Interval: closecast.IntervalAuto}, closecast.IntervalConformal},
		{"7 days, conformal", "horizon=7&interval=conformal&quantiles=2.5,5,50,95,97.5", `"horizon":7,"interval":"conformal","quantiles":[2.5,5,50,95,97.5]`, "horizon=7&interval=conformal",
			closecast.HorizonOptions{Horizon: 7, Interval: closecast.IntervalConformal}, closecast.IntervalConformal},
		{"3 days, 20 MC paths", "horizon=3&samples=20&quantiles=2.5,5,50,95,97.5", `"horizon":3,"samples":20,"quantiles":[2.5,5,50,95,97.5]`, "horizon=3&samples=20",
			closecast.HorizonOptions{Horizon: 3, Samples: 20}, closecast.IntervalMCDropout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := askQuantiles(t, e, "date="+date.String()+"&"+tc.query, `{"date":"`+date.String()+`",`+tc.body+`}`)
			want := cliQuantiles(t, svc, date, tc.opt, pct)
			var plain quantilesBody
			w := e.do("GET", "/predict?date="+date.String()+"&"+tc.without, "")
			if err := json.Unmarshal(w.Body.Bytes(), &plain); w.Code != 200 || err != nil {
				t.Fatalf("without quantiles: %d %s", w.Code, w.Body)
			}
			if len(b.Forecasts) != len(want.Days) || len(plain.Forecasts) != len(want.Days) {
				t.Fatalf("%d days, want %d", len(b.Forecasts), len(want.Days))
			}
			for k, f := range b.Forecasts {
				if len(f.Quantiles) != len(keys) {
					t.Errorf("day %d: quantiles %v, want the keys %v", k, f.Quantiles, keys)
				}
				for j, key := range keys {
					if got, ok := f.Quantiles[key]; !ok || got != want.Days[k].Quantiles[j] {
						t.Errorf("day %d level %s: %v, predict --quantiles gives %v", k, key, got, want.Days[k].Quantiles[j])
					}
				}
				pf := plain.Forecasts[k]
				if f.P10 == nil || pf.P10 == nil || *f.P10 != *pf.P10 || *f.P50 != *pf.P50 || *f.P90 != *pf.P90 || pf.Quantiles != nil {
					t.Errorf("day %d: p10/p50/p90 changed by asking quantiles: %+v vs %+v", k, f, pf)
				}
			}
			if b.Interval == nil || b.Interval.Method != tc.method || !slices.Equal(b.Interval.Quantiles, []float64{2.5, 5, 10, 50, 90, 95, 97.5}) {
				t.Errorf("interval %+v", b.Interval)
			}
			if plain.Interval == nil || !slices.Equal(plain.Interval.Quantiles, []float64{10, 50, 90}) {
				t.Errorf("interval without quantiles %+v", plain.Interval)
			}
		})
	}

	// Bad levels are 400 invalid_quantiles saying what is wrong, before
	// the model runs.
	d := `{"date":"` + date.String() + `",`
	q := "/predict?date=" + date.String() + "&quantiles="
	many := make([]string, 22)
	for k := range many {
		many[k] = strconv.Itoa(k + 1)
	}
	for _, tc := range []struct{ method, target, body, says string }{
		{"POST", "/predict", d + `"quantiles":[0,50]}`, "strictly between 0 and 100"},
		{"POST", "/predict", d + `"quantiles":[50,100]}`, "strictly between 0 and 100"},
		{"POST", "/predict", d + `"quantiles":[-5]}`, "strictly between 0 and 100"},
		{"POST", "/predict", d + `"quantiles":[50,10]}`, "ascending"},
		{"POST", "/predict", d + `"quantiles":[5,5]}`, "ascending"},
		{"POST", "/predict", d + `"quantiles":[]}`, "at least one"},
		{"POST", "/predict", d + `"quantiles":"5,50"}`, "array"},
		{"POST", "/predict", d + `"quantiles":["5"]}`, "array"},
		{"POST", "/predict", d + `"quantiles":[` + strings.Join(many, ",") + `]}`, "at most 21"},
		{"POST", "/predict", d + `"quantiles":[5,95],"interval":"none"}`, "need an interval"},
		{"GET", q + "ten", "", "not a number"},
		{"GET", q + "5,,95", "", "not a number"},
		{"GET", q + "NaN", "", "strictly between"},
		{"GET", q, "", "not a number"},
		{"GET", q + "95,5", "", "ascending"},
		{"GET", q + "5,95&samples=0", "", "need an interval"},
		{"GET", q + "%zz", "", "percent-encoding"},
	} {
		w := e.do(tc.method, tc.target, tc.body)
		var eb errorBody
		_ = json.Unmarshal(w.Body.Bytes(), &eb)
		if w.Code != 400 || eb.Code != codeInvalidQuantiles || !strings.Contains(eb.Error, tc.says) {
			t.Errorf("%s %s %s = %d %s, want 400 invalid_quantiles saying %q", tc.method, tc.target, tc.body, w.Code, w.Body, tc.says)
		}
	}
}

// TestQuantilesOfAQuantileHead serves a quantile head (the shipped
// quantile config, cut to seconds): its answer carries the head's own
// quantiles at the asked levels, as `closecast predict --quantiles` gives
// them, interval quantile_head; a level the head lacks is a 400 naming
// the ones it has, and a conformal interval a 400.
func TestQuantilesOfAQuantileHead(t *testing.T) {
	m, s := testmodel.QuantileHead(t)
	e, svc := modelEnv(m)
	date := closecast.MustParseDate("2025-07-16")

	b := askQuantiles(t, e, "date=2025-07-16&quantiles=2.5,5,50,95,97.5", `{"date":"2025-07-16","quantiles":[2.5,5,50,95,97.5]}`)
	want := cliQuantiles(t, svc, date, closecast.HorizonOptions{Horizon: 1, Interval: closecast.IntervalAuto}, []float64{2.5, 5, 50, 95, 97.5})
	// Independently: the head's raw quantiles of that day, at its levels.
	i := s.Index(date)
	own, err := m.Pipeline.QuantilesAt(s.Bars, []int{i}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Forecasts) != 1 || b.Interval == nil || b.Interval.Method != closecast.IntervalQuantileHead {
		t.Fatalf("answer %+v", b)
	}
	f := b.Forecasts[0]
	for j, key := range []string{"2.5", "5", "50", "95", "97.5"} {
		col := []int{0, 1, 10, 19, 20}[j]
		if f.Quantiles[key] != want.Days[0].Quantiles[j] || f.Quantiles[key] != own[0][col] {
			t.Errorf("level %s: %v, predict --quantiles %v, the head %v", key, f.Quantiles[key], want.Days[0].Quantiles[j], own[0][col])
		}
	}
	if f.P10 == nil || *f.P10 != own[0][2] || *f.P50 != own[0][10] || *f.P90 != own[0][18] {
		t.Errorf("p10/p50/p90 %v %v %v, the head's %v %v %v", f.P10, f.P50, f.P90, own[0][2], own[0][10], own[0][18])
	}
	// Without quantiles, an interval request answers the head's p10/p50/p90
	// and says so.
	w := e.do("GET", "/predict?date=2025-07-16&interval=auto", "")
	var plain quantilesBody
	if err := json.Unmarshal(w.Body.Bytes(), &plain); w.Code != 200 || err != nil || plain.Interval == nil || plain.Interval.Method != closecast.IntervalQuantileHead ||
		!slices.Equal(plain.Interval.Quantiles, []float64{10, 50, 90}) || *plain.Forecasts[0].P90 != own[0][18] {
		t.Errorf("interval auto: %d %s", w.Code, w.Body)
	}

	for _, tc := range []struct{ target, code, says string }{
		{"/predict?date=2025-07-16&quantiles=7,50", codeInvalidQuantiles, "2.5, 5, 10, 15"},
		{"/predict?date=2025-07-16&quantiles=7,50", codeInvalidQuantiles, "7 is not one of them"},
		{"/predict?date=2025-07-16&quantiles=5,95&interval=conformal", codeInvalidInterval, "quantile head"},
		{"/predict?date=2025-07-16&quantiles=5,95&samples=20", codeInvalidInterval, "quantile head"},
	} {
		w := e.do("GET", tc.target, "")
		var eb errorBody
		_ = json.Unmarshal(w.Body.Bytes(), &eb)
		if w.Code != 400 || eb.Code != tc.code || !strings.Contains(eb.Error, tc.says) {
			t.Errorf("GET %s = %d %s, want 400 %s saying %q", tc.target, w.Code, w.Body, tc.code, tc.says)
		}
	}
}

// shippedModelEnv is the production wiring over the shipped BTC-USD model
// and the embedded data: a predict.Service and a server on it.
func shippedModelEnv(t *testing.T) (*testEnv, *predict.Service, *artifact.Model) {
	t.Helper()
	m, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	e, svc := modelEnv(m)
	return e, svc, m
}

// modelEnv is a server on a predict.Service of m over the embedded data.
func modelEnv(m *artifact.Model) (*testEnv, *predict.Service) {
	bars := history.New(marketdata.Embedded(), nil, nil)
	svc := predict.New(m, bars)
	return &testEnv{srv: New(Config{Predictor: svc, History: bars, Model: m.Meta, Symbol: m.Meta.Symbol})}, svc
}
