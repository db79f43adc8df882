package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/yahoo"
	"github.com/closecast/closecast/yahoo/yahootest"
)

// lockedBuffer is a bytes.Buffer that a running server and the test can
// share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var servingRE = regexp.MustCompile(`on http://([^/\s]+)/`)

// startServe runs `closecast serve --offline` on a loopback port with home
// as CLOSECAST_HOME and returns its base URL and a stop function that
// shuts it down gracefully and returns its exit status.
func startServe(t *testing.T, home string, srv *yahootest.Server) (string, func() int) {
	t.Helper()
	base, _, stop := startServeWith(t, map[string]string{"CLOSECAST_HOME": home, yahooURLEnv: srv.URL},
		func(c *yahoo.Client) { c.Now = srv.Now }, "--cache-ttl", "0")
	return base, stop
}

// startServeWith runs `closecast serve --offline` on a loopback port with
// the environment vars and the extra args, and returns its base URL, its
// stderr and a stop function as startServe does.
func startServeWith(t *testing.T, vars map[string]string, tune func(*yahoo.Client), args ...string) (string, *lockedBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lockedBuffer{}
	e := &env{stdout: io.Discard, stderr: stderr,
		getenv:    func(k string) string { return vars[k] },
		tuneYahoo: tune,
	}
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, append([]string{"serve", "--offline", "--addr", "127.0.0.1:0"}, args...), e)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := servingRE.FindStringSubmatch(stderr.String()); m != nil {
			return "http://" + m[1], stderr, func() int { cancel(); return <-code }
		}
		select {
		case c := <-code:
			t.Fatalf("serve exited %d before listening: %s", c, stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start: %s", stderr)
		}
	}
}

func getJSON[T any](t *testing.T, method, url, body string) T {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s %s: %s: %v", method, url, b, err)
	}
	return v
}

type accuracyReply struct {
	N     int `json:"n"`
	Model *struct {
		MAE, MAPE float64
	} `json:"model"`
	Persistence *struct {
		MAE, MAPE float64
	} `json:"persistence"`
	Rows []struct {
		Date      closecast.Date `json:"date"`
		Predicted float64        `json:"predicted"`
		Actual    float64        `json:"actual"`
		LastClose float64        `json:"last_close"`
		Error     float64        `json:"error"`
		Model     string         `json:"model"`
		P10       *float64       `json:"p10"`
		P90       *float64       `json:"p90"`
		Covered   *bool          `json:"covered"`
	} `json:"rows"`
	Distribution *struct {
		N int `json:"n"`
	} `json:"distribution"`
}

// TestServeLedgerIsScoredByFetch is the live-accuracy loop through the
// binary's wiring: serve answers a forecast of the day after the data, the
// forecast is in the store after a graceful stop, `closecast fetch` brings
// that day's close, and the next serve's /api/accuracy shows the error.
func TestServeLedgerIsScoredByFetch(t *testing.T) {
	yh, bars := fakeYahoo(t, 3)
	home := t.TempDir()
	embeddedLast := bars[len(bars)-4]
	target := embeddedLast.Date.AddDays(1)

	base, stop := startServe(t, home, yh)
	p := getJSON[struct {
		Prediction float64  `json:"prediction"`
		LastClose  float64  `json:"last_close"`
		Model      string   `json:"model"`
		Actual     *float64 `json:"actual"`
	}](t, "POST", base+"/predict", fmt.Sprintf(`{"date":%q}`, target))
	if p.Actual != nil || p.LastClose != embeddedLast.Close {
		t.Fatalf("forecast of %s: %+v; want a live one from the close %v", target, p, embeddedLast.Close)
	}
	if a := getJSON[accuracyReply](t, "GET", base+"/api/accuracy", ""); a.N != 0 || a.Model != nil {
		t.Fatalf("accuracy before the close: %+v", a)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exit %d", code)
	}

	if code, out, errOut := cliWith(t, home, yh, "fetch"); code != 0 || !strings.Contains(out, "3 added") {
		t.Fatalf("fetch: %d %q %q", code, out, errOut)
	}

	base, stop = startServe(t, home, yh)
	defer stop()
	a := getJSON[accuracyReply](t, "GET", base+"/api/accuracy?days=7", "")
	actual := bars[len(bars)-3].Close
	if a.N != 1 || len(a.Rows) != 1 {
		t.Fatalf("accuracy after fetch: %+v; want one scored forecast", a)
	}
	r := a.Rows[0]
	if r.Date != target || r.Predicted != p.Prediction || r.Actual != actual || r.LastClose != embeddedLast.Close ||
		r.Error != p.Prediction-actual || r.Model != p.Model {
		t.Errorf("row %+v; want %s predicted %v actual %v", r, target, p.Prediction, actual)
	}
	if a.Model == nil || a.Model.MAE != math.Abs(p.Prediction-actual) || a.Persistence == nil || a.Persistence.MAE != math.Abs(actual-embeddedLast.Close) {
		t.Errorf("rolling errors %+v %+v", a.Model, a.Persistence)
	}
	// serve recorded the forecast's distribution: its 80 % interval is
	// around the forecast, and the one day is distribution-scored.
	if r.P10 == nil || r.P90 == nil || !(*r.P10 < r.Predicted && r.Predicted < *r.P90) || r.Covered == nil ||
		*r.Covered != (*r.P10 <= actual && actual <= *r.P90) || a.Distribution == nil || a.Distribution.N != 1 {
		t.Errorf("row %+v, distribution %+v; want the recorded 80 %% interval and one day scored", r, a.Distribution)
	}
}

// TestServeAndPredictFlagErrors: flag values that cannot work are usage
// errors (exit 2) saying what is accepted, before anything is served.
func TestServeAndPredictFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--offline", "--cache-ttl", "-1s"}, "--cache-ttl -1s"},
		{[]string{"serve", "--offline", "--max-forecasts", "0"}, "want 1 to"},
		{[]string{"serve", "--offline", "--forecast-wait", "0s"}, "--forecast-wait"},
		{[]string{"serve", "--offline", "--symbols", "ETH-USD,not a ticker"}, `"not a ticker"`},
		{[]string{"serve", "--offline", "--adaptive", "fast"}, `--adaptive "fast": want aci, faci or none`},
		{[]string{"serve", "--offline", "--interval", "mc_dropout"}, `--interval "mc_dropout": want conformal or ensemble`},
		{[]string{"predict", "--offline", "--interval", "bogus"}, "auto, conformal, mc_dropout, ensemble or none"},
	} {
		code, _, errOut := cli(t, nil, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}
