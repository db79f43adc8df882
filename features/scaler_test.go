package features

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/closecast/closecast"
)

func TestMinMaxHandCase(t *testing.T) {
	rows := [][]float64{{1, 10, -4}, {3, 10, 4}, {2, 10, 0}}
	s := FitMinMax(rows)
	if !eq(s.Min, []float64{1, 10, -4}) || !eq(s.Max, []float64{3, 10, 4}) {
		t.Fatalf("fit = %+v", s)
	}
	dst := make([]float64, 3)
	s.Transform([]float64{2, 10, 2}, dst)
	if !eq(dst, []float64{0.5, 0, 0.75}) {
		t.Errorf("transform = %v, want [0.5 0 0.75]", dst)
	}
	// outside the fitted range: no clipping; constant column divides by 1
	s.Transform([]float64{5, 12, -8}, dst)
	if !eq(dst, []float64{2, 2, -0.5}) {
		t.Errorf("transform outside range = %v, want [2 2 -0.5]", dst)
	}
	if v := s.Inverse(0, 0.5); v != 2 {
		t.Errorf("Inverse(0, 0.5) = %v, want 2", v)
	}
	if v := s.Inverse(1, 2); v != 12 {
		t.Errorf("Inverse on the constant column = %v, want 12", v)
	}
	if v := s.Inverse(2, -0.5); v != -8 {
		t.Errorf("Inverse(2, -0.5) = %v, want -8", v)
	}
	m := s.TransformRows(rows)
	if !eq(m[0], []float64{0, 0, 0}) || !eq(m[1], []float64{1, 0, 1}) || !eq(rows[1], []float64{3, 10, 4}) {
		t.Errorf("TransformRows = %v (input now %v)", m, rows)
	}
	c := s.Column(2)
	if c.Cols() != 1 || c.Scale(0, 0) != 0.5 {
		t.Errorf("Column(2) = %+v", c)
	}
}

func TestMinMaxRoundTripAndJSON(t *testing.T) {
	s := FitMinMaxColumn([]float64{3236.761719, 106146.265625, 50000})
	for _, v := range []float64{3236.761719, 77777.7, 120000} {
		if back := s.Inverse(0, s.Scale(0, v)); math.Abs(back-v) > 1e-9 {
			t.Errorf("round trip %v → %v", v, back)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"min":[3236.761719],"max":[106146.265625]}` {
		t.Errorf("json = %s", b)
	}
	var back MinMaxScaler
	if err := json.Unmarshal(b, &back); err != nil || back.Validate() != nil || back.Max[0] != s.Max[0] {
		t.Errorf("unmarshal: %+v, %v", back, err)
	}
}

func TestMinMaxValidate(t *testing.T) {
	for _, c := range []struct {
		s    MinMaxScaler
		want string
	}{
		{MinMaxScaler{Min: []float64{1}, Max: []float64{2, 3}}, "1 min and 2 max"},
		{MinMaxScaler{}, "no columns"},
		{MinMaxScaler{Min: []float64{0, 5}, Max: []float64{1, 4}}, "column 1: min 5 is above max 4"},
		{MinMaxScaler{Min: []float64{math.NaN()}, Max: []float64{1}}, "not finite"},
	} {
		if err := c.s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want %q", c.s, err, c.want)
		}
	}
}

func TestFitMinMaxPanicsOnRaggedRows(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "row 1 has 1 columns") {
			t.Errorf("panic = %v", r)
		}
	}()
	FitMinMax([][]float64{{1, 2}, {3}})
}

func TestWindowsAlignment(t *testing.T) {
	const n, window, cols = 10, 3, 2
	rows := make([][]float64, n)
	target := make([]float64, n)
	for i := range rows {
		rows[i] = []float64{float64(i), 100 + float64(i)}
		target[i] = 1000 + float64(i)
	}
	target[0] = math.NaN() // like log_return: never used, since y starts at row window
	x, y, err := Windows(rows, target, window)
	if err != nil {
		t.Fatal(err)
	}
	if len(y) != n-window || len(x) != (n-window)*window*cols {
		t.Fatalf("%d samples, %d x values", len(y), len(x))
	}
	for k := range n - window {
		for s := range window {
			if x[(k*window+s)*cols] != float32(k+s) || x[(k*window+s)*cols+1] != float32(100+k+s) {
				t.Errorf("sample %d step %d = %v", k, s, x[(k*window+s)*cols:(k*window+s+1)*cols])
			}
		}
		if y[k] != float32(1000+k+window) {
			t.Errorf("y[%d] = %v, want the row right after the window, %d", k, y[k], 1000+k+window)
		}
	}
	// the input predicting the day after the last row: rows 7, 8, 9
	dst := make([]float32, window*cols)
	if err := Window(rows, n, window, dst); err != nil {
		t.Fatal(err)
	}
	if dst[0] != 7 || dst[5] != 109 {
		t.Errorf("last window = %v", dst)
	}
	if err := Window(rows, 2, window, dst); err == nil {
		t.Error("a window ending before row 2 has only 2 rows: want an error")
	}
}

func TestWindowsErrors(t *testing.T) {
	rows := [][]float64{{1}, {2}, {3}}
	for _, c := range []struct {
		rows   [][]float64
		target []float64
		window int
		want   string
	}{
		{rows, []float64{1, 2}, 1, "2 target values for 3 rows"},
		{rows, []float64{1, 2, 3}, 3, "no sample"},
		{rows, []float64{1, 2, 3}, 0, "must be ≥ 1"},
		{rows, []float64{1, math.NaN(), 3}, 1, "target of row 1 is NaN"},
		{[][]float64{{1}, {2, 2}, {3}}, []float64{1, 2, 3}, 1, "row 1 has 2 columns"},
		{[][]float64{{1}, {math.Inf(1)}, {3}}, []float64{1, 2, 3}, 1, "row 1 column 0 is +Inf"},
	} {
		if _, _, err := Windows(c.rows, c.target, c.window); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
	}
}

func TestTargets(t *testing.T) {
	bars := []closecast.Bar{{Close: 100}, {Close: 110}, {Close: 99}}
	lr := TargetLogReturn.Column(bars)
	if !math.IsNaN(lr[0]) || math.Abs(lr[1]-math.Log(1.1)) > 1e-15 || math.Abs(lr[2]-math.Log(0.9)) > 1e-15 {
		t.Errorf("log_return column = %v", lr)
	}
	if c := TargetClose.Column(bars); !eq(c, []float64{100, 110, 99}) {
		t.Errorf("close column = %v", c)
	}
	// a model output equal to the true target gives back the true close
	if p := TargetLogReturn.Price(lr[2], 110); math.Abs(p-99) > 1e-9 {
		t.Errorf("log_return price = %v, want 99", p)
	}
	if p := TargetLogReturn.Price(0, 110); p != 110 {
		t.Errorf("a zero return must predict the last close: %v", p)
	}
	if p := TargetClose.Price(123, 110); p != 123 {
		t.Errorf("close price = %v", p)
	}
	if v := TargetLogReturn.Value(99, 110); math.Abs(v-lr[2]) > 1e-15 {
		t.Errorf("Value = %v", v)
	}
	if TargetLogReturn.Warmup() != 1 || TargetClose.Warmup() != 0 {
		t.Error("target warm-ups")
	}
	if _, err := ParseTarget("price"); err == nil || !strings.Contains(err.Error(), `"log_return"`) {
		t.Errorf("ParseTarget: %v", err)
	}
	if tg, err := ParseTarget("log_return"); err != nil || tg != TargetLogReturn {
		t.Errorf("ParseTarget(log_return) = %v, %v", tg, err)
	}
}

func eq(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12 {
			return false
		}
	}
	return true
}

// Symmetric widens each column to −a..a around zero: a zero scales to 0.5.
func TestMinMaxSymmetric(t *testing.T) {
	s := MinMaxScaler{Min: []float64{-0.46, -0.1, 2, 0}, Max: []float64{0.17, 0.3, 5, 0}}
	got := s.Symmetric()
	if !eq(got.Min, []float64{-0.46, -0.3, -5, 0}) || !eq(got.Max, []float64{0.46, 0.3, 5, 0}) {
		t.Fatalf("symmetric %+v", got)
	}
	if v := got.Scale(0, 0); v != 0.5 {
		t.Errorf("zero scales to %v, want 0.5", v)
	}
	if s.Min[0] != -0.46 {
		t.Error("Symmetric modified its receiver")
	}
}
