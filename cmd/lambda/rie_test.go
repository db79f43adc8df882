package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/predict"
)

// findRIE returns the path of aws-lambda-rie: on PATH, else in
// $(go env GOPATH)/bin where `go install` puts it. Outside CI its absence
// skips the test; in CI (CI=true) it fails it, since .ci/run installs it.
func findRIE(t *testing.T) string {
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "aws-lambda-rie")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	msg := "aws-lambda-rie is not installed: go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// dockerfileBuild returns the environment assignments and the `go build`
// arguments of deploy/Dockerfile's RUN line that builds ./cmd/lambda, so
// that the test builds the binary exactly as the image does.
func dockerfileBuild(t *testing.T) (env map[string]string, args []string) {
	t.Helper()
	b, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "RUN ") || !strings.Contains(line, " go build ") || !strings.HasSuffix(strings.TrimSpace(line), "./cmd/lambda") {
			continue
		}
		words := shellWords(strings.TrimPrefix(line, "RUN "))
		env = map[string]string{}
		i := 0
		for ; i < len(words) && strings.Contains(words[i], "="); i++ {
			k, v, _ := strings.Cut(words[i], "=")
			env[k] = v
		}
		if i+1 >= len(words) || words[i] != "go" || words[i+1] != "build" {
			t.Fatalf("Dockerfile build line %q: want [VAR=value…] go build …", line)
		}
		return env, words[i+2:]
	}
	t.Fatal("deploy/Dockerfile has no `RUN … go build … ./cmd/lambda` line")
	return nil, nil
}

// shellWords splits a shell command line into words, honouring double
// quotes (all the Dockerfile's build line uses).
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	in, has := false, false
	for _, r := range s {
		switch {
		case r == '"':
			in, has = !in, true
		case (r == ' ' || r == '\t') && !in:
			if has {
				words = append(words, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteRune(r)
			has = true
		}
	}
	if has {
		words = append(words, cur.String())
	}
	return words
}

// buildBootstrap builds ./cmd/lambda into dir/bootstrap as deploy/Dockerfile does.
func buildBootstrap(t *testing.T, dir string) string {
	t.Helper()
	env, args := dockerfileBuild(t)
	out := filepath.Join(dir, "bootstrap")
	for i := range args {
		if args[i] == "-o" && i+1 < len(args) {
			if args[i+1] != "/out/bootstrap" {
				t.Fatalf("Dockerfile writes %s; the image stage copies /out/bootstrap", args[i+1])
			}
			args[i+1] = out
		}
	}
	if env["CGO_ENABLED"] != "0" || env["GOOS"] != "linux" {
		t.Fatalf("Dockerfile builds with %v; want CGO_ENABLED=0 GOOS=linux", env)
	}
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", args, err, b)
	}
	return out
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lambdaReply is what RIE returns for one invocation: an HTTP response in
// the event's format, or a function error.
type lambdaReply struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
	Cookies           []string            `json:"cookies"`
	ErrorMessage      string              `json:"errorMessage"`
	ErrorType         string              `json:"errorType"`
}

func v2Event(method, path, query, body string) string {
	ev := map[string]any{
		"version": "2.0", "routeKey": method + " " + path, "rawPath": path, "rawQueryString": query,
		"headers": map[string]string{"content-type": "application/json", "user-agent": "curl/8.5.0"},
		"requestContext": map[string]any{
			"http":      map[string]string{"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.9"},
			"requestId": "rie-v2-" + method, "stage": "$default", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
		},
		"body": body, "isBase64Encoded": false,
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

func v1Event(method, path string, query map[string]string, body string) string {
	mvq := map[string][]string{}
	for k, v := range query {
		mvq[k] = []string{v}
	}
	ev := map[string]any{
		"resource": path, "path": path, "httpMethod": method,
		"headers":                         map[string]string{"Content-Type": "application/json"},
		"multiValueHeaders":               map[string][]string{"Content-Type": {"application/json"}},
		"queryStringParameters":           query,
		"multiValueQueryStringParameters": mvq,
		"requestContext": map[string]any{
			"requestId": "rie-v1-" + method, "stage": "prod", "httpMethod": method,
			"identity": map[string]string{"sourceIp": "203.0.113.7"},
		},
		"body": body, "isBase64Encoded": false,
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

// TestBootstrapUnderRIE builds bootstrap as deploy/Dockerfile does, runs it
// under the AWS Lambda Runtime Interface Emulator, invokes it with API
// Gateway 1.0 and 2.0 and function URL events, good and bad, and checks the
// answers against the contract and against the same model run in-process.
// It logs the cold start RIE measured and the bootstrap's peak RSS.
func TestBootstrapUnderRIE(t *testing.T) {
	rie := findRIE(t)
	dir := t.TempDir()
	bootstrap := buildBootstrap(t, dir)

	// Offline: the bootstrap must answer from what is embedded, and a test
	// never reaches the Internet. The Yahoo URL points at a closed loopback
	// port in case anything tried.
	invoke, logs, pid := startRIE(t, rie, dir, bootstrap, "CLOSECAST_OFFLINE=1", "CLOSECAST_YAHOO_URL=http://"+freePort(t))

	// What the model says in-process, for the same day.
	model, err := models.Load(os.Getenv("CLOSECAST_MODEL_DIR"))
	if err != nil {
		t.Fatalf("loading the model the bootstrap embeds: %v", err)
	}
	series, err := marketdata.EmbeddedSeries(model.Meta.Symbol)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := series.Last()
	day := last.AddDays(-30) // inside the data: "actual" is known
	want, err := predict.New(model, history.New(marketdata.Embedded(), nil, nil)).Predict(context.Background(), model.Meta.Symbol, day)
	if err != nil {
		t.Fatal(err)
	}

	type prediction struct {
		Prediction float64        `json:"prediction"`
		Symbol     string         `json:"symbol"`
		Date       closecast.Date `json:"date"`
		Model      string         `json:"model"`
		LastClose  float64        `json:"last_close"`
		Actual     *float64       `json:"actual"`
		Inputs     struct {
			From, To closecast.Date
			Days     int
		} `json:"inputs"`
	}
	checkPrediction := func(name string, r lambdaReply) {
		t.Helper()
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d %s %s", name, r.StatusCode, r.Body, r.ErrorMessage)
		}
		var p prediction
		if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
			t.Fatalf("%s: body %q: %v", name, r.Body, err)
		}
		if p.Prediction != want.Value || p.Date != day || p.Symbol != model.Meta.Symbol || p.Model != model.Meta.Version ||
			p.LastClose != want.LastClose || p.Actual == nil || *p.Actual != *want.Actual || p.Inputs.To != day-1 {
			t.Errorf("%s: %+v, want the in-process %+v", name, p, want)
		}
		if math.IsNaN(p.Prediction) || p.Prediction <= 0 {
			t.Errorf("%s: prediction %v", name, p.Prediction)
		}
	}
	date := fmt.Sprintf(`{"date": %q}`, day)

	// Good requests, in each event format.
	checkPrediction("2.0 POST /predict", invoke(v2Event("POST", "/predict", "", date)))
	checkPrediction("1.0 POST /predict", invoke(v1Event("POST", "/predict", nil, date)))
	checkPrediction("1.0 GET /predict", invoke(v1Event("GET", "/predict", map[string]string{"date": day.String()}, "")))
	checkPrediction("2.0 GET /predict", invoke(v2Event("GET", "/predict", "date="+day.String(), "")))
	fu := strings.Replace(v2Event("GET", "/predict", "date="+day.String(), ""), "abc123.execute-api.us-east-1.amazonaws.com", "a1b2.lambda-url.us-east-1.on.aws", 1)
	checkPrediction("function URL GET /predict", invoke(fu))
	// The ensemble interval, as in-process.
	ens, err := predict.New(model, history.New(marketdata.Embedded(), nil, nil)).PredictHorizon(context.Background(), model.Meta.Symbol, day,
		closecast.HorizonOptions{Horizon: 1, Interval: closecast.IntervalEnsemble})
	if err != nil {
		t.Fatal(err)
	}
	if r := invoke(v2Event("GET", "/predict", "interval=ensemble&date="+day.String(), "")); r.StatusCode != 200 ||
		!strings.Contains(r.Body, `"method":"ensemble"`) || !strings.Contains(r.Body, fmt.Sprintf(`"p10":%v,`, ens.Days[0].Quantiles[0])) {
		t.Errorf("GET /predict?interval=ensemble: %d %.300s; want p10 %v", r.StatusCode, r.Body, ens.Days[0].Quantiles[0])
	}
	if r := invoke(v2Event("GET", "/api/model", "", "")); r.StatusCode != 200 || !strings.Contains(r.Body, `"version":"`+model.Meta.Version+`"`) {
		t.Errorf("GET /api/model: %d %.200s", r.StatusCode, r.Body)
	}
	// The dashboard page, gzip-encoded when asked: binary, so base64 in the event.
	page := strings.Replace(v2Event("GET", "/", "", ""), `"content-type":"application/json"`, `"accept-encoding":"gzip"`, 1)
	if r := invoke(page); r.StatusCode != 200 || !r.IsBase64Encoded || r.Headers["Content-Encoding"] != "gzip" || !strings.HasPrefix(r.Headers["Content-Type"], "text/html") {
		t.Errorf("GET / (gzip): %d base64=%v %v", r.StatusCode, r.IsBase64Encoded, r.Headers)
	} else if html := gunzipBase64(t, r.Body); !strings.Contains(html, "<html") {
		t.Errorf("GET / is not the page: %.100q", html)
	}
	if r := invoke(v1Event("GET", "/healthz", nil, "")); r.StatusCode != 200 || strings.TrimSpace(r.Body) != `{"status":"ok"}` {
		t.Errorf("GET /healthz: %d %s", r.StatusCode, r.Body)
	}

	// Bad requests: the server's status codes and JSON errors, through Lambda.
	for _, tc := range []struct {
		name, event string
		status      int
		code, has   string
	}{
		{"2.0 missing date", v2Event("POST", "/predict", "", `{}`), 400, "missing_date", "Missing 'date' field"},
		{"1.0 missing date", v1Event("POST", "/predict", nil, `{"symbol":"BTC-USD"}`), 400, "missing_date", "Missing 'date' field"},
		{"2.0 malformed JSON", v2Event("POST", "/predict", "", `{"date":`), 400, "bad_json", "not valid JSON"},
		{"1.0 date of wrong type", v1Event("POST", "/predict", nil, `{"date":20250720}`), 400, "bad_json", `"date" must be a string`},
		{"2.0 bad date", v2Event("POST", "/predict", "", `{"date":"20/07/2025"}`), 400, "invalid_date", "YYYY-MM-DD"},
		{"1.0 out of range", v1Event("POST", "/predict", nil, `{"date":"1999-01-01"}`), 422, "out_of_range", "can be forecast"},
		{"2.0 past the data, offline", v2Event("POST", "/predict", "", fmt.Sprintf(`{"date":%q}`, last.AddDays(5))), 422, "out_of_range", last.AddDays(1).String()},
		{"2.0 unknown symbol", v2Event("POST", "/predict", "", fmt.Sprintf(`{"date":%q,"symbol":"DOGE-USD"}`, day)), 404, "unknown_symbol", "DOGE-USD"},
		{"1.0 wrong method", v1Event("DELETE", "/predict", nil, ""), 405, "method_not_allowed", "GET, HEAD, POST"},
		{"2.0 too large", v2Event("POST", "/predict", "", `{"date":"2025-07-20","pad":"`+strings.Repeat("x", 70<<10)+`"}`), 413, "too_large", "64 KiB"},
		{"2.0 no such path", v2Event("GET", "/nope", "", ""), 404, "not_found", "/nope"},
		{"2.0 no ledger in a Lambda", v2Event("GET", "/api/accuracy", "", ""), 404, "no_ledger", "no ledger"},
	} {
		r := invoke(tc.event)
		var e struct{ Error, Code string }
		if r.StatusCode != tc.status || json.Unmarshal([]byte(r.Body), &e) != nil || e.Code != tc.code || !strings.Contains(e.Error, tc.has) {
			t.Errorf("%s: %d %s, want %d %s with %q", tc.name, r.StatusCode, r.Body, tc.status, tc.code, tc.has)
		}
		if tc.status == 405 && r.Headers["Allow"] != "GET, HEAD, POST" {
			t.Errorf("%s: Allow %q", tc.name, r.Headers["Allow"])
		}
	}
	// An event that is not HTTP: a function error, and the function lives on.
	if r := invoke(`{"Records":[{"eventSource":"aws:sqs","body":"x"}]}`); r.StatusCode != 0 || !strings.Contains(r.ErrorMessage, "unsupported event") {
		t.Errorf("SQS event: %+v", r)
	}
	checkPrediction("after a function error", invoke(v2Event("POST", "/predict", "", date)))

	// Cold start as RIE reports it, and the bootstrap's peak memory.
	out := logs.String()
	initMs, reportInit := parseInit(out)
	if initMs <= 0 {
		t.Errorf("no INIT REPORT duration in RIE's output")
	}
	rss := peakRSS(pid)
	t.Logf("RIE: init (process start → runtime ready, model load included) %.2f ms; REPORT \"Init Duration\" %s; bootstrap peak RSS %.1f MB", initMs, reportInit, float64(rss)/(1<<20))
	if !strings.Contains(out, `"msg":"request"`) || !strings.Contains(out, `"request_id":"rie-v2-POST"`) {
		t.Errorf("the bootstrap's JSON request logs with API Gateway's request id are missing")
	}
}

func gunzipBase64(t *testing.T, s string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("RIE does not listen on %s", addr)
}

var (
	initReportRE = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	initDurRE    = regexp.MustCompile(`Init Duration: ([0-9.]+ ms)`)
)

// parseInit returns the init phase's duration from RIE's "INIT REPORT"
// line (runtime process start until it asks for the first event: the Go
// runtime, the model and data loaded and verified) and the "Init Duration"
// of the first REPORT line as printed (this RIE measures only its own
// bookkeeping there, well under a millisecond).
func parseInit(out string) (float64, string) {
	var ms float64
	if m := initReportRE.FindStringSubmatch(out); m != nil {
		ms, _ = strconv.ParseFloat(m[1], 64)
	}
	rep := "absent"
	if m := initDurRE.FindStringSubmatch(out); m != nil {
		rep = m[1]
	}
	return ms, rep
}

// peakRSS returns the VmHWM (peak resident set) of the child of pid named
// bootstrap, in bytes; 0 if it cannot be read.
func peakRSS(rie int) int64 {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "(bootstrap") {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(rie) {
			continue
		}
		st, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return 0
		}
		defer st.Close()
		sc := bufio.NewScanner(st)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// startRIE runs bootstrap (in dir) under the emulator rie with the extra
// environment, until the test ends, and returns a function invoking it
// with an event, the emulator's output and its process id.
func startRIE(t *testing.T, rie, dir, bootstrap string, env ...string) (func(payload string) lambdaReply, *syncBuffer, int) {
	t.Helper()
	addr, apiAddr := freePort(t), freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), env...), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_LAMBDA_FUNCTION_TIMEOUT=15")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("RIE output:\n%s", logs.String())
		}
	})
	waitListening(t, addr)

	invokeURL := "http://" + addr + "/2015-03-31/functions/function/invocations"
	return func(payload string) lambdaReply {
		t.Helper()
		resp, err := http.Post(invokeURL, "application/json", strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r lambdaReply
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatalf("RIE answered %d with a body that is not JSON: %v", resp.StatusCode, err)
		}
		return r
	}, logs, cmd.Process.Pid
}
