package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestServeIsHardenedAndStops checks the http.Server that Serve builds: a
// header block over maxHeaderBytes is refused with 431, a client that never
// finishes its headers is cut off, and cancelling ctx closes idle keep-alive
// connections and returns nil.
func TestServeIsHardenedAndStops(t *testing.T) {
	e := newTestEnv(t)
	e.srv.readHeaderTimeout = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	req, _ := http.NewRequest("GET", base+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("x", 2*maxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("huge header: %d, want 431", resp.StatusCode)
	}

	// A keep-alive connection left idle, and a request in progress.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err = (&http.Client{Transport: tr}).Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("healthz over TCP: %d", resp.StatusCode)
	}
	// Half a request line: the server must not wait forever for it.
	slow, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n"))
	// The deadline is only a hang guard: the server, not it, must end the read.
	slow.SetReadDeadline(time.Now().Add(30 * time.Second))
	if b, err := io.ReadAll(slow); os.IsTimeout(err) || len(b) > 0 && !strings.HasPrefix(string(b), "HTTP/1.1 408") {
		t.Errorf("slow client: %q, %v; want closed (or 408) by the server after the 300 ms header timeout", b, err)
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}
