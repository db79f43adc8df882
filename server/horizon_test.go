package server

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/pipeline"
)

// horizonBody is the 200 body of a horizon request, decoded loosely enough
// to see absent keys (nil pointers) and every key the server sent.
type horizonBody struct {
	PredictResponse
	Forecasts []struct {
		Date       closecast.Date `json:"date"`
		Prediction float64        `json:"prediction"`
		P10        *float64       `json:"p10"`
		P50        *float64       `json:"p50"`
		P90        *float64       `json:"p90"`
		Actual     *float64       `json:"actual"`
	} `json:"forecasts"`
	Interval *Interval `json:"interval"`
}

// TestHorizonWithTheShippedModel drives /predict's horizons through a
// predict.Service over the shipped model and the embedded data, the
// production wiring: day 1 is the plain answer exactly, the days are
// consecutive, quantiles are ordered, actuals appear only for known days.
func TestHorizonWithTheShippedModel(t *testing.T) {
	e, svc, m := shippedModelEnv(t)
	last, err := svc.LastKnown(context.Background(), m.Meta.Symbol)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name        string
		date        closecast.Date
		horizon     int
		extra       string // JSON members added to the body and the query ("" = defaults)
		wantMethod  string // "" = no interval
		wantSamples int
		knownDays   int // days of the horizon whose close the data has
	}{
		{"past week, default interval (conformal)", last - 10, 7, "", "conformal", 0, 7},
		{"straddling the last known day", last - 2, 7, "", "conformal", 0, 3},
		{"tomorrow, 30 days, 20 samples", last + 1, 30, `"samples":20`, "mc_dropout", 20, 0},
		{"no interval", last - 30, 5, `"samples":0`, "", 0, 5},
		{"interval none", last - 30, 5, `"interval":"none"`, "", 0, 5},
		{"one day with an MC interval", last - 30, 1, `"samples":50`, "mc_dropout", 50, 1},
		{"one day, conformal", last - 30, 1, `"interval":"conformal"`, "conformal", 0, 1},
		{"mc_dropout, default samples", last - 30, 3, `"interval":"mc_dropout"`, "mc_dropout", 100, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain := e.do("GET", "/predict?date="+tc.date.String(), "")
			if plain.Code != 200 {
				t.Fatalf("plain: %d %s", plain.Code, plain.Body)
			}
			target := "/predict?date=" + tc.date.String() + "&horizon=" + strconv.Itoa(tc.horizon)
			body := `{"date":"` + tc.date.String() + `","horizon":` + strconv.Itoa(tc.horizon)
			if tc.extra != "" {
				k, v, _ := strings.Cut(tc.extra, ":")
				target += "&" + strings.Trim(k, `"`) + "=" + strings.Trim(v, `"`)
				body += "," + tc.extra
			}
			get := e.do("GET", target, "")
			post := e.do("POST", "/predict", body+"}")
			if get.Code != 200 || post.Code != 200 {
				t.Fatalf("GET %d %s / POST %d %s", get.Code, get.Body, post.Code, post.Body)
			}
			if get.Body.String() != post.Body.String() {
				t.Fatalf("GET and POST differ:\n%s\n%s", get.Body, post.Body)
			}
			// Day 1 is the plain answer, field for field, bit for bit.
			var plainFields, horizonFields map[string]json.RawMessage
			_ = json.Unmarshal(plain.Body.Bytes(), &plainFields)
			_ = json.Unmarshal(get.Body.Bytes(), &horizonFields)
			for k, v := range plainFields {
				if string(horizonFields[k]) != string(v) {
					t.Errorf("%s: horizon %s, plain %s", k, horizonFields[k], v)
				}
			}
			var h horizonBody
			if err := json.Unmarshal(get.Body.Bytes(), &h); err != nil {
				t.Fatal(err)
			}
			if len(h.Forecasts) != tc.horizon {
				t.Fatalf("%d forecasts, want %d", len(h.Forecasts), tc.horizon)
			}
			if h.Forecasts[0].Prediction != h.Prediction || h.Forecasts[0].Date != h.Date {
				t.Errorf("forecasts[0] = %s %v, body's day 1 = %s %v", h.Forecasts[0].Date, h.Forecasts[0].Prediction, h.Date, h.Prediction)
			}
			known := 0
			for k, f := range h.Forecasts {
				if f.Date != tc.date.AddDays(k) {
					t.Errorf("forecasts[%d].date = %s, want %s", k, f.Date, tc.date.AddDays(k))
				}
				if !(f.Prediction > 0) || math.IsInf(f.Prediction, 0) {
					t.Errorf("forecasts[%d].prediction = %v", k, f.Prediction)
				}
				if f.Actual != nil {
					known++
				}
				if tc.wantMethod == "" {
					if f.P10 != nil || f.P50 != nil || f.P90 != nil {
						t.Errorf("forecasts[%d] has quantiles without an interval", k)
					}
					continue
				}
				if f.P10 == nil || f.P50 == nil || f.P90 == nil {
					t.Fatalf("forecasts[%d] lacks a quantile: %+v", k, f)
				}
				if !(*f.P10 <= *f.P50 && *f.P50 <= *f.P90) || !(*f.P10 > 0) {
					t.Errorf("forecasts[%d] quantiles not ordered: %v %v %v", k, *f.P10, *f.P50, *f.P90)
				}
			}
			if known != tc.knownDays {
				t.Errorf("%d days with an actual, want %d", known, tc.knownDays)
			}
			for k := range known { // known days are the first ones, with the data's closes
				if k < len(h.Forecasts) && h.Forecasts[k].Actual == nil {
					t.Errorf("forecasts[%d] has no actual but a later day has", k)
				}
			}
			if tc.wantMethod == "" {
				if h.Interval != nil {
					t.Errorf("interval %+v without one asked", h.Interval)
				}
				return
			}
			if h.Interval == nil || h.Interval.Method != tc.wantMethod || h.Interval.Samples != tc.wantSamples ||
				len(h.Interval.Quantiles) != 3 || h.Interval.Quantiles[0] != 10 || h.Interval.Quantiles[1] != 50 || h.Interval.Quantiles[2] != 90 {
				t.Fatalf("interval %+v, want %s with %d samples and [10 50 90]", h.Interval, tc.wantMethod, tc.wantSamples)
			}
			switch c := h.Interval.Calibration; tc.wantMethod {
			case "conformal":
				// The shipped model is calibrated on its training tail.
				if c == nil || c.From != m.Meta.Calibration.From || c.To != m.Meta.Calibration.To || c.Days != 210 || h.Interval.Seed != nil {
					t.Errorf("conformal interval %+v, calibration %+v, want the model's 210 tail days", h.Interval, c)
				}
				// Conformal bands widen with the days ahead.
				f0, fl := h.Forecasts[0], h.Forecasts[len(h.Forecasts)-1]
				if len(h.Forecasts) > 1 && !((*fl.P90-*fl.P10)/fl.Prediction > (*f0.P90-*f0.P10)/f0.Prediction) {
					t.Errorf("band of day %d (%v..%v) is not wider than day 1's (%v..%v)", len(h.Forecasts), *fl.P10, *fl.P90, *f0.P10, *f0.P90)
				}
			case "mc_dropout":
				if c != nil || h.Interval.Seed == nil || *h.Interval.Seed != 7 {
					t.Errorf("mc_dropout interval %+v", h.Interval)
				}
			}
		})
	}

	// Errors: the options are checked before the model runs, the date as
	// for a plain request.
	for _, tc := range []struct {
		method, target, body string
		status               int
		code                 string
	}{
		{"GET", "/predict?date=" + last.String() + "&horizon=0", "", 400, codeInvalidHorizon},
		{"GET", "/predict?date=" + last.String() + "&horizon=31", "", 400, codeInvalidHorizon},
		{"GET", "/predict?date=" + last.String() + "&horizon=", "", 400, codeInvalidHorizon},
		{"POST", "/predict", `{"date":"` + last.String() + `","horizon":"7"}`, 400, codeInvalidHorizon},
		{"POST", "/predict", `{"date":"` + last.String() + `","horizon":7.5}`, 400, codeInvalidHorizon},
		{"POST", "/predict", `{"date":"` + last.String() + `","horizon":7,"samples":1}`, 400, codeInvalidSamples},
		{"POST", "/predict", `{"date":"` + last.String() + `","samples":501}`, 400, codeInvalidSamples},
		{"POST", "/predict", `{"horizon":7}`, 400, codeMissingDate},
		{"POST", "/predict", `{"date":"` + last.String() + `","horizon":7,"interval":"bootstrap"}`, 400, codeInvalidInterval},
		{"POST", "/predict", `{"date":"` + last.String() + `","horizon":7,"interval":7}`, 400, codeInvalidInterval},
		{"GET", "/predict?date=" + last.String() + "&interval=", "", 400, codeInvalidInterval},
		{"POST", "/predict", `{"date":"` + last.String() + `","interval":"conformal","samples":20}`, 400, codeInvalidSamples},
		{"POST", "/predict", `{"date":"` + (last + 5).String() + `","horizon":7}`, 422, codeOutOfRange},
	} {
		w := e.do(tc.method, tc.target, tc.body)
		var eb errorBody
		_ = json.Unmarshal(w.Body.Bytes(), &eb)
		if w.Code != tc.status || eb.Code != tc.code || eb.Error == "" {
			t.Errorf("%s %s %s = %d %s, want %d %s", tc.method, tc.target, tc.body, w.Code, w.Body, tc.status, tc.code)
		}
		if tc.code == codeInvalidHorizon && !strings.Contains(eb.Error, "'horizon'") || tc.code == codeInvalidSamples && !strings.Contains(eb.Error, "'samples'") ||
			tc.code == codeInvalidInterval && !strings.Contains(eb.Error, "'interval'") {
			t.Errorf("error %q does not name the field", eb.Error)
		}
	}
}

// TestPlainPredictBodyUnchangedByHorizons: a request without horizon and
// samples (or with horizon 1 and no samples) is answered by the plain path:
// the same bytes, the cache and the ledger as before horizons.
func TestPlainPredictBodyUnchangedByHorizons(t *testing.T) {
	e := newTestEnv(t)
	want := `{"prediction":`
	a := e.do("POST", "/predict", `{"date":"2025-05-01"}`)
	b := e.do("GET", "/predict?date=2025-05-01&horizon=1", "")
	c := e.do("POST", "/predict", `{"date":"2025-05-01","horizon":null,"samples":null}`)
	if a.Code != 200 || !strings.HasPrefix(a.Body.String(), want) || strings.Contains(a.Body.String(), "forecasts") {
		t.Fatalf("plain body %s", a.Body)
	}
	if b.Body.String() != a.Body.String() || c.Body.String() != a.Body.String() {
		t.Errorf("horizon 1 / null options changed the body:\n%s\n%s\n%s", a.Body, b.Body, c.Body)
	}
	// A horizon answer is a different body, with the plain one's fields first.
	h := e.do("POST", "/predict", `{"date":"2025-05-01","horizon":2}`)
	plain := strings.TrimSuffix(a.Body.String(), "}\n")
	if !strings.HasPrefix(h.Body.String(), plain+`,"forecasts":[`) {
		t.Errorf("horizon body does not extend the plain one:\n%s\n%s", a.Body, h.Body)
	}
}

// TestHorizonNeedsAHorizonPredictor: a predictor with Predict only answers
// plain requests and turns horizons down with a 400 that says why.
func TestHorizonNeedsAHorizonPredictor(t *testing.T) {
	pred := &fakePredictor{series: testSeries(), window: 60}
	e := &testEnv{srv: New(Config{Predictor: onlyPredict{pred}, Model: map[string]any{"v": 1}})}
	if w := e.do("GET", "/predict?date=2025-05-01", ""); w.Code != 200 {
		t.Fatalf("plain: %d %s", w.Code, w.Body)
	}
	w := e.do("GET", "/predict?date=2025-05-01&horizon=7", "")
	if w.Code != 400 || !strings.Contains(w.Body.String(), codeInvalidHorizon) || !strings.Contains(w.Body.String(), "one day at a time") {
		t.Errorf("horizon on a one-day predictor: %d %s", w.Code, w.Body)
	}
}

// onlyPredict hides every method of a predictor but Predict.
type onlyPredict struct{ p closecast.Predictor }

func (o onlyPredict) Predict(ctx context.Context, symbol string, date closecast.Date) (closecast.Prediction, error) {
	return o.p.Predict(ctx, symbol, date)
}

// TestHorizonCachedAndRecorded: a horizon answer is cached per horizon and
// samples (the model runs once for a repeat, again for another horizon),
// and its first day, when live, reaches the ledger as a plain forecast
// would; a past day does not.
func TestHorizonCachedAndRecorded(t *testing.T) {
	pred := &fakePredictor{series: testSeries(), window: 60}
	ledger := &memLedger{}
	srv := New(Config{Predictor: pred, Model: map[string]any{"v": 1}, CacheTTL: time.Minute, Ledger: ledger})
	e := &testEnv{srv: srv}
	live := `{"date":"2025-07-20","horizon":7}` // the series ends 2025-07-19
	first := e.do("POST", "/predict", live)
	again := e.do("POST", "/predict", live)
	if first.Code != 200 || again.Body.String() != first.Body.String() || pred.calls != 1 {
		t.Fatalf("repeat: %d, same body %v, %d model runs (want 1)", first.Code, again.Body.String() == first.Body.String(), pred.calls)
	}
	if w := e.do("POST", "/predict", `{"date":"2025-07-20","horizon":7,"samples":0}`); w.Code != 200 || pred.calls != 2 || strings.Contains(w.Body.String(), `"p10"`) {
		t.Errorf("samples 0: %d, %d model runs (want 2), body %s", w.Code, pred.calls, w.Body)
	}
	if w := e.do("POST", "/predict", `{"date":"2025-07-20"}`); w.Code != 200 || pred.calls != 3 || strings.Contains(w.Body.String(), "forecasts") {
		t.Errorf("plain after a horizon: %d, %d model runs (want 3: its own cache entry), body %s", w.Code, pred.calls, w.Body)
	}
	e.do("POST", "/predict", `{"date":"2025-05-01","horizon":3}`) // actual known: not live
	if err := srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var h horizonBody
	_ = json.Unmarshal(first.Body.Bytes(), &h)
	var got []closecast.Prediction
	for _, b := range ledger.batches {
		got = append(got, b...)
	}
	// The horizon's day 1 and the plain request are the same forecast; the
	// ledger writer may drop the repeat, so one or two records, all of
	// 2025-07-20 with day 1's value.
	if len(got) == 0 || len(got) > 2 {
		t.Fatalf("ledger got %d forecasts: %+v", len(got), got)
	}
	for _, p := range got {
		if p.Date != closecast.MustParseDate("2025-07-20") || p.Value != h.Forecasts[0].Prediction {
			t.Errorf("ledger got %s %v, want 2025-07-20 %v", p.Date, p.Value, h.Forecasts[0].Prediction)
		}
	}
}

// TestHorizonOfAModelWithoutDropout: the default samples give way to none
// (the days without a band), but samples asked for are a 400 that says why.
func TestHorizonOfAModelWithoutDropout(t *testing.T) {
	pred := &fakePredictor{series: testSeries(), window: 60, noDropout: true}
	e := &testEnv{srv: New(Config{Predictor: pred, Model: map[string]any{"v": 1}})}
	w := e.do("POST", "/predict", `{"date":"2025-05-01","horizon":7}`)
	var h horizonBody
	if err := json.Unmarshal(w.Body.Bytes(), &h); w.Code != 200 || err != nil || len(h.Forecasts) != 7 || h.Interval != nil || h.Forecasts[0].P10 != nil {
		t.Errorf("default samples on a model without dropout: %d %s", w.Code, w.Body)
	}
	w = e.do("POST", "/predict", `{"date":"2025-05-01","horizon":7,"samples":50}`)
	if w.Code != 400 || !strings.Contains(w.Body.String(), codeInvalidSamples) || !strings.Contains(w.Body.String(), "without dropout") {
		t.Errorf("samples asked of a model without dropout: %d %s", w.Code, w.Body)
	}
}

// TestHorizonLongerThanADirectHead: a model whose head forecasts N days at
// once answers up to N and refuses more with a 400 that says how many.
func TestHorizonLongerThanADirectHead(t *testing.T) {
	pred := &fakePredictor{series: testSeries(), window: 60, directHead: 5}
	e := &testEnv{srv: New(Config{Predictor: pred, Model: map[string]any{"v": 1}})}
	w := e.do("POST", "/predict", `{"date":"2025-05-01","horizon":5}`)
	var h horizonBody
	if err := json.Unmarshal(w.Body.Bytes(), &h); w.Code != 200 || err != nil || len(h.Forecasts) != 5 {
		t.Errorf("5 days of a 5-day head: %d %s", w.Code, w.Body)
	}
	w = e.do("POST", "/predict", `{"date":"2025-05-01","horizon":6}`)
	var eb errorBody
	_ = json.Unmarshal(w.Body.Bytes(), &eb)
	if w.Code != 400 || eb.Code != codeInvalidHorizon || !strings.Contains(eb.Error, "'horizon'") || !strings.Contains(eb.Error, "forecasts 5 days") {
		t.Errorf("6 days of a 5-day head: %d %s", w.Code, w.Body)
	}
}

// TestIntervalOfAnUncalibratedModel: auto falls back to Monte-Carlo
// dropout, and a conformal interval asked of it is a 400 that says why.
func TestIntervalOfAnUncalibratedModel(t *testing.T) {
	pred := &fakePredictor{series: testSeries(), window: 60}
	e := &testEnv{srv: New(Config{Predictor: pred, Model: map[string]any{"v": 1}})}
	w := e.do("POST", "/predict", `{"date":"2025-05-01","horizon":3}`)
	var h horizonBody
	if err := json.Unmarshal(w.Body.Bytes(), &h); w.Code != 200 || err != nil || h.Interval == nil || h.Interval.Method != "mc_dropout" || h.Interval.Samples != 100 {
		t.Errorf("auto on an uncalibrated model: %d %s", w.Code, w.Body)
	}
	w = e.do("POST", "/predict", `{"date":"2025-05-01","horizon":3,"interval":"conformal"}`)
	if w.Code != 400 || !strings.Contains(w.Body.String(), codeInvalidInterval) || !strings.Contains(w.Body.String(), "no conformal calibration") {
		t.Errorf("conformal asked of an uncalibrated model: %d %s", w.Code, w.Body)
	}
	pred.calibration = &pipeline.Calibration{From: 100, To: 109, Scores: [][]float32{{-1, 0, 1}}}
	w = e.do("POST", "/predict", `{"date":"2025-05-01","horizon":3}`)
	h = horizonBody{}
	if err := json.Unmarshal(w.Body.Bytes(), &h); w.Code != 200 || err != nil || h.Interval == nil || h.Interval.Method != "conformal" ||
		h.Interval.Calibration == nil || h.Interval.Calibration.Days != 3 || h.Interval.Samples != 0 {
		t.Errorf("auto on a calibrated model: %d %s", w.Code, w.Body)
	}
}
