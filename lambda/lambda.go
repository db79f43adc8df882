// Package lambda runs an http.Handler (closecast's *server.Server) as an AWS
// Lambda function behind API Gateway REST APIs (payload format 1.0), HTTP
// APIs (payload 2.0) and Lambda function URLs: it turns each event into an
// *http.Request, serves it, and turns the response back into the event
// source's response shape, so that the Lambda answers exactly the same
// status codes, headers and JSON bodies as `closecast serve`.
//
// Adapter implements aws-lambda-go's lambda.Handler (raw payload bytes in and
// out), which lets it recognise the event format itself instead of being
// bound to one event type.
package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Format is the shape of an event and of the response it expects.
type Format int

// The event formats Adapter understands.
const (
	// RESTv1 is an API Gateway REST API proxy event (payload format 1.0),
	// also sent by HTTP APIs configured for 1.0.
	RESTv1 Format = iota + 1
	// HTTPv2 is an API Gateway HTTP API event (payload format 2.0).
	HTTPv2
	// FunctionURL is a Lambda function URL event: the 2.0 shape, whose
	// requestContext.domainName is <id>.lambda-url.<region>.on.aws.
	FunctionURL
)

// String names the format as AWS documents it.
func (f Format) String() string {
	switch f {
	case RESTv1:
		return "API Gateway REST (1.0)"
	case HTTPv2:
		return "API Gateway HTTP API (2.0)"
	case FunctionURL:
		return "Lambda function URL"
	}
	return "unknown"
}

// ErrUnsupportedEvent is returned by Invoke for a payload that is not an
// HTTP event of a known format: Lambda reports it as a function error, since
// there is no HTTP client to answer.
var ErrUnsupportedEvent = errors.New("unsupported event: want an API Gateway REST (1.0), HTTP API (2.0) or Lambda function URL event")

// MaxBody bounds the decoded request body Adapter passes on. API Gateway
// allows 10 MB; the handler rejects anything above its own limit anyway, and
// this keeps a hostile event from making the adapter hold more.
const MaxBody = 6 << 20

// Adapter serves Lambda HTTP events with an http.Handler.
type Adapter struct {
	h http.Handler
}

// New returns an Adapter that serves events with h.
func New(h http.Handler) *Adapter { return &Adapter{h: h} }

// Invoke implements aws-lambda-go's lambda.Handler. It returns an error only
// for a payload that is not an HTTP event (ErrUnsupportedEvent, wrapped);
// anything wrong inside an HTTP event is answered as HTTP, in its format.
func (a *Adapter) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, f, err := Request(ctx, payload)
	if err != nil {
		if f == 0 {
			return nil, err
		}
		// A recognised event with a broken body: answer 400 as the server
		// would, in the event's own response shape.
		return Response(f, http.StatusBadRequest, http.Header{"Content-Type": {"application/json"}},
			[]byte(`{"error":"the event's body is not valid base64","code":"bad_json"}`+"\n"))
	}
	w := &responseWriter{header: http.Header{}, head: req.Method == http.MethodHead}
	a.h.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return Response(f, w.status, w.header, w.body.Bytes())
}

// probe holds the members that tell event formats apart.
type probe struct {
	Version        string `json:"version"`
	HTTPMethod     string `json:"httpMethod"`
	RequestContext struct {
		DomainName string `json:"domainName"`
		HTTP       struct {
			Method string `json:"method"`
		} `json:"http"`
	} `json:"requestContext"`
}

// Detect returns the format of an event payload, or 0 with an error saying
// why it is none of them.
func Detect(payload []byte) (Format, error) {
	var p probe
	if err := json.Unmarshal(payload, &p); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrUnsupportedEvent, err)
	}
	switch {
	case p.Version == "2.0" && p.RequestContext.HTTP.Method != "":
		if strings.Contains(p.RequestContext.DomainName, ".lambda-url.") {
			return FunctionURL, nil
		}
		return HTTPv2, nil
	case p.HTTPMethod != "" && (p.Version == "" || p.Version == "1.0"):
		return RESTv1, nil
	}
	return 0, ErrUnsupportedEvent
}

// Request converts an event payload to the *http.Request it stands for,
// with ctx as its context, and reports the event's format. On error the
// format is 0 if the payload is no known event, else the event's format
// (its body could not be decoded).
func Request(ctx context.Context, payload []byte) (*http.Request, Format, error) {
	f, err := Detect(payload)
	if err != nil {
		return nil, 0, err
	}
	var (
		method, path, rawQuery, host, remote, reqID, body string
		b64                                               bool
		header                                            = http.Header{}
	)
	switch f {
	case RESTv1:
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, 0, fmt.Errorf("%w: %v", ErrUnsupportedEvent, err)
		}
		method, path, body, b64 = ev.HTTPMethod, ev.Path, ev.Body, ev.IsBase64Encoded
		remote, reqID, host = ev.RequestContext.Identity.SourceIP, ev.RequestContext.RequestID, ev.RequestContext.DomainName
		// The multi-value maps hold everything the single-value ones do
		// (API Gateway sends both); use them when present.
		if len(ev.MultiValueHeaders) > 0 {
			for k, vs := range ev.MultiValueHeaders {
				for _, v := range vs {
					header.Add(k, v)
				}
			}
		} else {
			for k, v := range ev.Headers {
				header.Add(k, v)
			}
		}
		q := url.Values{}
		if len(ev.MultiValueQueryStringParameters) > 0 {
			for k, vs := range ev.MultiValueQueryStringParameters {
				q[k] = append(q[k], vs...)
			}
		} else {
			for k, v := range ev.QueryStringParameters {
				q.Set(k, v)
			}
		}
		rawQuery = q.Encode()
	case HTTPv2, FunctionURL:
		// A function URL event has the 2.0 shape; one type serves both.
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, 0, fmt.Errorf("%w: %v", ErrUnsupportedEvent, err)
		}
		method, path, rawQuery, body, b64 = ev.RequestContext.HTTP.Method, ev.RawPath, ev.RawQueryString, ev.Body, ev.IsBase64Encoded
		remote, reqID, host = ev.RequestContext.HTTP.SourceIP, ev.RequestContext.RequestID, ev.RequestContext.DomainName
		if path == "" {
			path = ev.RequestContext.HTTP.Path
		}
		// A named stage prefixes the raw path ("/prod/predict"); the
		// handler's routes do not know it. $default has no prefix.
		if st := ev.RequestContext.Stage; st != "" && st != "$default" {
			if rest, ok := strings.CutPrefix(path, "/"+st); ok && (rest == "" || rest[0] == '/') {
				path = rest
			}
		}
		for k, v := range ev.Headers {
			header.Add(k, v) // 2.0 joins repeated headers with commas: keep them so
		}
		if len(ev.Cookies) > 0 {
			header.Set("Cookie", strings.Join(ev.Cookies, "; "))
		}
	}

	var raw []byte
	if b64 {
		raw, err = base64.StdEncoding.DecodeString(body)
		if err != nil {
			return nil, f, fmt.Errorf("event body: %w", err)
		}
	} else {
		raw = []byte(body)
	}
	if len(raw) > MaxBody {
		raw = raw[:MaxBody+1] // the handler sees a body over any limit it has, and says 413
	}

	if !validMethod(method) {
		method = "INVALID" // the handler answers 405 to a method it does not serve
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Path: path, RawQuery: rawQuery}
	if f != RESTv1 {
		// 2.0's rawPath is as the client sent it, percent-encoded; 1.0's
		// path is already decoded.
		if p, err := url.PathUnescape(path); err == nil && p != path {
			u.Path, u.RawPath = p, path
		}
	}
	if h := header.Get("Host"); h != "" {
		host = h
	}
	if header.Get("X-Request-Id") == "" {
		if reqID == "" {
			if lc, ok := lambdacontext.FromContext(ctx); ok {
				reqID = lc.AwsRequestID
			}
		}
		if reqID != "" {
			header.Set("X-Request-Id", reqID)
		}
	}
	if remote != "" {
		remote += ":0" // RemoteAddr is host:port; API Gateway gives no port
	}
	req := (&http.Request{
		Method:        method,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(raw)),
		ContentLength: int64(len(raw)),
		Host:          host,
		RemoteAddr:    remote,
		RequestURI:    u.RequestURI(),
	}).WithContext(ctx)
	if len(raw) == 0 {
		req.Body = http.NoBody
	}
	return req, f, nil
}

// validMethod reports whether m is an HTTP token (RFC 9110 §5.6.2).
func validMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Response encodes an HTTP response as the response of event format f.
// Textual bodies (JSON, text, JavaScript, SVG; not content-encoded) are sent
// as strings, anything else base64-encoded. Set-Cookie headers become the
// 2.0 formats' cookies list; in 1.0 repeated headers use multiValueHeaders.
func Response(f Format, status int, header http.Header, body []byte) ([]byte, error) {
	text := isText(header) && utf8.Valid(body)
	encBody := string(body)
	if !text {
		encBody = base64.StdEncoding.EncodeToString(body)
	}
	switch f {
	case RESTv1:
		r := events.APIGatewayProxyResponse{StatusCode: status, Headers: map[string]string{}, Body: encBody, IsBase64Encoded: !text}
		for k, vs := range header {
			if len(vs) == 1 {
				r.Headers[k] = vs[0]
			} else if len(vs) > 1 {
				if r.MultiValueHeaders == nil {
					r.MultiValueHeaders = map[string][]string{}
				}
				r.MultiValueHeaders[k] = vs
			}
		}
		return json.Marshal(r)
	case HTTPv2, FunctionURL:
		headers := map[string]string{}
		var cookies []string
		for k, vs := range header {
			if k == "Set-Cookie" {
				cookies = append(cookies, vs...)
				continue
			}
			headers[k] = strings.Join(vs, ",")
		}
		if cookies == nil {
			cookies = []string{}
		}
		if f == FunctionURL {
			return json.Marshal(events.LambdaFunctionURLResponse{StatusCode: status, Headers: headers, Body: encBody, IsBase64Encoded: !text, Cookies: cookies})
		}
		return json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers, Body: encBody, IsBase64Encoded: !text, Cookies: cookies})
	}
	return nil, fmt.Errorf("lambda: response for unknown format %d", int(f))
}

// isText reports whether a response body with these headers can travel as
// a JSON string unchanged.
func isText(h http.Header) bool {
	if ce := h.Get("Content-Encoding"); ce != "" && ce != "identity" {
		return false
	}
	ct := strings.ToLower(h.Get("Content-Type"))
	if ct == "" {
		return true // no body type: status-only answers such as 304
	}
	return strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "application/json") ||
		strings.Contains(ct, "javascript") || strings.Contains(ct, "xml") || strings.HasSuffix(strings.SplitN(ct, ";", 2)[0], "+json")
}

// responseWriter collects a handler's response in memory: Lambda answers
// with the whole response at once.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
	head   bool // a HEAD request: the handler's body is dropped, as net/http does (RFC 9110)
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.head {
		return len(b), nil
	}
	return w.body.Write(b)
}
