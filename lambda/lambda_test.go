package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// seen is what the echo handler observed of one request.
type seen struct {
	Method, Path, RawQuery, Host, Remote string
	Header                               http.Header
	Body                                 []byte
	Query                                url.Values
}

// echo records the request and answers with headers and a body chosen by
// the request: ?binary=1 sends gzip bytes, otherwise JSON; it always sets
// two cookies and a repeated header.
type echo struct{ last seen }

func (e *echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	e.last = seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.RemoteAddr, r.Header.Clone(), body, r.URL.Query()}
	w.Header().Add("Set-Cookie", "a=1; Path=/")
	w.Header().Add("Set-Cookie", "b=2; Path=/")
	w.Header().Add("X-Multi", "one")
	w.Header().Add("X-Multi", "two")
	if r.URL.Query().Get("binary") == "1" {
		w.Header().Set("Content-Type", "application/javascript")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte{0x1f, 0x8b, 0x08, 0x00, 0xff})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTeapot)
	w.Write([]byte(`{"ok":true,"é":"ü"}`))
}

func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDetect(t *testing.T) {
	for name, want := range map[string]Format{
		"apigw-v1.json":       RESTv1,
		"apigw-v2.json":       HTTPv2,
		"function-url.json":   FunctionURL,
		"apigw-v1-b64.json":   RESTv1,
		"apigw-v2-b64.json":   HTTPv2,
		"apigw-v2-stage.json": HTTPv2,
	} {
		if got, err := Detect(readEvent(t, name)); got != want || err != nil {
			t.Errorf("%s: %v, %v; want %v", name, got, err, want)
		}
	}
	for _, bad := range []string{`{}`, `{"hello":"world"}`, `[]`, `"x"`, `{"version":"2.0"}`, `{"httpMethod":"GET","version":"3.0"}`, `{"Records":[{"s3":{}}]}`, `not json`} {
		if f, err := Detect([]byte(bad)); f != 0 || !errors.Is(err, ErrUnsupportedEvent) {
			t.Errorf("%s: %v, %v; want ErrUnsupportedEvent", bad, f, err)
		}
	}
}

func TestRESTv1RoundTrip(t *testing.T) {
	h := &echo{}
	out, err := New(h).Invoke(context.Background(), readEvent(t, "apigw-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := h.last
	if s.Method != "POST" || s.Path != "/predict" || s.Host != "abc123.execute-api.us-east-1.amazonaws.com" || s.Remote != "203.0.113.7:0" {
		t.Errorf("request line: %+v", s)
	}
	// Multi-value query and headers win over the single-value maps.
	if q := s.Query["tag"]; len(q) != 2 || q[0] != "a b" || q[1] != "c&d" || s.Query.Get("symbol") != "BTC-USD" {
		t.Errorf("query %v (raw %q)", s.Query, s.RawQuery)
	}
	if v := s.Header.Values("Accept"); len(v) != 2 || s.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", s.Header)
	}
	if s.Header.Get("X-Request-Id") != "c6af9ac6-7b61-11e6-9a41-93e8deadbeef" {
		t.Errorf("request id from requestContext: %q", s.Header.Get("X-Request-Id"))
	}
	if string(s.Body) != `{"date": "2025-07-20"}` {
		t.Errorf("body %q", s.Body)
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 418 || resp.IsBase64Encoded || resp.Body != `{"ok":true,"é":"ü"}` || resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("response %+v", resp)
	}
	if c := resp.MultiValueHeaders["Set-Cookie"]; len(c) != 2 || c[1] != "b=2; Path=/" || len(resp.MultiValueHeaders["X-Multi"]) != 2 {
		t.Errorf("multi-value headers %v", resp.MultiValueHeaders)
	}
	if _, dup := resp.Headers["Set-Cookie"]; dup {
		t.Error("Set-Cookie in both header maps")
	}
}

func TestHTTPv2RoundTrip(t *testing.T) {
	for _, tc := range []struct {
		file   string
		format Format
	}{{"apigw-v2.json", HTTPv2}, {"function-url.json", FunctionURL}} {
		h := &echo{}
		lc := &lambdacontext.LambdaContext{AwsRequestID: "from-lambda-context"}
		out, err := New(h).Invoke(lambdacontext.NewContext(context.Background(), lc), readEvent(t, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		s := h.last
		if s.Method != "GET" || s.Path != "/api/history" || s.RawQuery != "symbol=BTC-USD&from=2025-01-01&tag=a&tag=b" {
			t.Errorf("%s: request line %+v", tc.file, s)
		}
		if s.Header.Get("Cookie") != "session=xyz; theme=dark" || s.Header.Get("Accept") != "application/json,text/plain" {
			t.Errorf("%s: headers %v", tc.file, s.Header)
		}
		if s.Header.Get("X-Request-Id") != "client-chosen-id" {
			t.Errorf("%s: the client's request id was not kept: %q", tc.file, s.Header.Get("X-Request-Id"))
		}
		if s.Remote != "198.51.100.9:0" || len(s.Body) != 0 {
			t.Errorf("%s: remote %q body %q", tc.file, s.Remote, s.Body)
		}
		// Both 2.0 response shapes decode the same way.
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 418 || resp.Body != `{"ok":true,"é":"ü"}` || resp.IsBase64Encoded {
			t.Errorf("%s: response %+v", tc.file, resp)
		}
		if len(resp.Cookies) != 2 || resp.Cookies[0] != "a=1; Path=/" || resp.Headers["X-Multi"] != "one,two" {
			t.Errorf("%s: cookies %v headers %v", tc.file, resp.Cookies, resp.Headers)
		}
		if _, ok := resp.Headers["Set-Cookie"]; ok {
			t.Errorf("%s: Set-Cookie left in headers", tc.file)
		}
	}
}

func TestBase64BodiesBothWays(t *testing.T) {
	for _, file := range []string{"apigw-v1-b64.json", "apigw-v2-b64.json"} {
		h := &echo{}
		out, err := New(h).Invoke(context.Background(), readEvent(t, file))
		if err != nil {
			t.Fatal(err)
		}
		if string(h.last.Body) != `{"date":"2025-07-20"}` {
			t.Errorf("%s: decoded body %q", file, h.last.Body)
		}
		var resp struct {
			Body            string `json:"body"`
			IsBase64Encoded bool   `json:"isBase64Encoded"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		got, err := base64.StdEncoding.DecodeString(resp.Body)
		if !resp.IsBase64Encoded || err != nil || !bytes.Equal(got, []byte{0x1f, 0x8b, 0x08, 0x00, 0xff}) {
			t.Errorf("%s: gzip body sent as %+v", file, resp)
		}
	}
	// A body flagged base64 that is not: 400 in the event's own shape.
	ev := strings.Replace(string(readEvent(t, "apigw-v2-b64.json")), `"eyJkYXRlIjoiMjAyNS0wNy0yMCJ9"`, `"%%%not base64"`, 1)
	out, err := New(&echo{}).Invoke(context.Background(), []byte(ev))
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if json.Unmarshal(out, &resp) != nil || resp.StatusCode != 400 || !strings.Contains(resp.Body, `"code":"bad_json"`) {
		t.Errorf("bad base64: %s", out)
	}
}

func TestEncodedPathIsDecoded(t *testing.T) {
	h := &echo{}
	ev := `{"version":"2.0","rawPath":"/vendor/a%20b.js","requestContext":{"http":{"method":"GET"}}}`
	if _, err := New(h).Invoke(context.Background(), []byte(ev)); err != nil {
		t.Fatal(err)
	}
	if h.last.Path != "/vendor/a b.js" {
		t.Errorf("path %q", h.last.Path)
	}
}

func TestStagePrefixIsStripped(t *testing.T) {
	h := &echo{}
	if _, err := New(h).Invoke(context.Background(), readEvent(t, "apigw-v2-stage.json")); err != nil {
		t.Fatal(err)
	}
	if h.last.Path != "/predict" {
		t.Errorf("path %q, want /predict", h.last.Path)
	}
}

func TestUnsupportedEventIsAFunctionError(t *testing.T) {
	h := &echo{}
	_, err := New(h).Invoke(context.Background(), []byte(`{"Records":[{"eventSource":"aws:sqs","body":"x"}]}`))
	if !errors.Is(err, ErrUnsupportedEvent) {
		t.Fatalf("err = %v", err)
	}
	if h.last.Method != "" {
		t.Error("the handler was called for a non-HTTP event")
	}
}

func TestLambdaContextRequestIDIsTheFallback(t *testing.T) {
	h := &echo{}
	ev := `{"version":"2.0","rawPath":"/healthz","requestContext":{"http":{"method":"GET"}}}`
	lc := &lambdacontext.LambdaContext{AwsRequestID: "aws-req-1"}
	if _, err := New(h).Invoke(lambdacontext.NewContext(context.Background(), lc), []byte(ev)); err != nil {
		t.Fatal(err)
	}
	if h.last.Header.Get("X-Request-Id") != "aws-req-1" || h.last.Path != "/healthz" {
		t.Errorf("request %+v", h.last)
	}
}

// FuzzInvoke: any payload either is refused as a non-HTTP event, or yields
// a request the handler can serve and a response that is valid JSON with a
// status code; never a panic.
func FuzzInvoke(f *testing.F) {
	for _, name := range []string{"apigw-v1.json", "apigw-v2.json", "function-url.json", "apigw-v1-b64.json", "apigw-v2-b64.json", "apigw-v2-stage.json"} {
		f.Add(readEvent(f, name))
	}
	f.Add([]byte(`{"version":"2.0","requestContext":{"http":{"method":"G E T"}},"rawPath":"no-slash"}`))
	f.Add([]byte(`{"httpMethod":"GET","path":"","isBase64Encoded":true,"body":"=="}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		h := &echo{}
		out, err := New(h).Invoke(context.Background(), payload)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedEvent) {
				t.Fatalf("error %v is not ErrUnsupportedEvent", err)
			}
			return
		}
		var resp struct {
			StatusCode int               `json:"statusCode"`
			Headers    map[string]string `json:"headers"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("response is not JSON: %v: %s", err, out)
		}
		if resp.StatusCode < 100 || resp.StatusCode > 599 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if resp.StatusCode != 400 && (h.last.Method == "" || !strings.HasPrefix(h.last.Path, "/")) {
			t.Fatalf("handler saw method %q path %q", h.last.Method, h.last.Path)
		}
	})
}

// TestHeadAnswersLikeGetWithoutBody: a HEAD event gets the handler's status
// and headers, and no body, whatever the handler writes.
func TestHeadAnswersLikeGetWithoutBody(t *testing.T) {
	for _, method := range []string{"GET", "HEAD"} {
		h := &echo{}
		ev := `{"version":"2.0","rawPath":"/healthz","requestContext":{"http":{"method":"` + method + `"}}}`
		out, err := New(h).Invoke(context.Background(), []byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		if h.last.Method != method || resp.StatusCode != 418 || resp.Headers["Content-Type"] != "application/json" {
			t.Errorf("%s: handler saw %s, response %+v", method, h.last.Method, resp)
		}
		if wantBody := method == "GET"; (resp.Body != "") != wantBody {
			t.Errorf("%s: body %q", method, resp.Body)
		}
	}
}
