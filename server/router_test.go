package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHeadAnswersLikeGet sends HEAD and GET to every GET route (and a
// dashboard file, a miss, a /predict) through a real listener: HEAD gets the
// GET's status and headers, Content-Length included, and no body.
func TestHeadAnswersLikeGet(t *testing.T) {
	e := newTestEnv(t)
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	targets := []string{"/predict?date=2025-07-20", "/app.js", "/missing.js", "/api/accuracy"}
	for _, rt := range routes {
		if len(rt.methods) > 0 && rt.methods[0] == http.MethodGet {
			targets = append(targets, rt.path)
		}
	}
	for _, target := range targets {
		get := send(t, http.MethodGet, ts.URL+target)
		head := send(t, http.MethodHead, ts.URL+target)
		if head.status != get.status {
			t.Errorf("HEAD %s = %d, GET = %d", target, head.status, get.status)
		}
		for _, h := range []string{"Content-Type", "Content-Length", "Cache-Control", "ETag"} {
			if h == "Content-Length" && target == "/metrics" {
				continue // the counters move between the two requests
			}
			if head.header.Get(h) != get.header.Get(h) {
				t.Errorf("HEAD %s: %s %q, GET has %q", target, h, head.header.Get(h), get.header.Get(h))
			}
		}
		if len(head.body) != 0 || len(get.body) == 0 {
			t.Errorf("HEAD %s body %d bytes, GET %d", target, len(head.body), len(get.body))
		}
	}
	// In process (the Lambda adapter's path): no body either.
	if w := e.do(http.MethodHead, "/healthz", ""); w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") == "" {
		t.Errorf("in-process HEAD /healthz: %d, %d bytes, headers %v", w.Code, w.Body.Len(), w.Header())
	}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func send(t *testing.T, method, url string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity") // compare plain bodies' lengths
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return answer{resp.StatusCode, resp.Header, body}
}
