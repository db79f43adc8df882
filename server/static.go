package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

// static serves the dashboard: every file of the FS read once in New, with
// a strong ETag, and a gzip copy when that is smaller. The FS is embedded
// and small (a few hundred KB), so memory beats re-reading and
// re-compressing on each request.
type static struct {
	files map[string]*asset // by path relative to the root, "index.html"
}

type asset struct {
	body        []byte
	etag        string // quoted, of body
	ctype       string
	cacheCtl    string
	lengthPlain string

	// The gzip copy is made on the first request that accepts it, not in
	// New: compressing the dashboard takes ~30 ms, which would otherwise
	// be added to every Lambda cold start.
	gzOnce   sync.Once
	gz       []byte // nil when compression does not pay or is not applicable
	lengthGz string
}

// gzipped returns the gzip copy of a compressible asset, or nil.
func (a *asset) gzipped() []byte {
	if !compressible(a.ctype) {
		return nil
	}
	a.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(a.body)
		if zw.Close() == nil && buf.Len() < len(a.body) {
			a.gz = buf.Bytes()
			a.lengthGz = strconv.Itoa(len(a.gz))
		}
	})
	return a.gz
}

// newStatic reads every regular file of fsys.
func newStatic(fsys fs.FS) (*static, error) {
	st := &static{files: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: contentType(p),
			lengthPlain: strconv.Itoa(len(body))}
		// The vendored chart library changes only with its version; the
		// page's own files may change with any deploy, so the browser
		// revalidates them (a 304 when unchanged).
		a.cacheCtl = "no-cache"
		if strings.HasPrefix(p, "vendor/") {
			a.cacheCtl = "public, max-age=86400"
		}
		st.files[p] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	if st.files["index.html"] == nil {
		return nil, fmt.Errorf("dashboard has no index.html at its root")
	}
	return st, nil
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json":
		return "application/json"
	case ".md", ".txt", "":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.HasPrefix(ctype, "image/svg") || strings.HasPrefix(ctype, "application/json")
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip: listed
// (or "*") without q=0.
func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.TrimSpace(name)
		if !strings.EqualFold(name, "gzip") && name != "*" {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		if q == "q=0" || strings.HasPrefix(q, "q=0.0") && strings.Trim(q[4:], "0") == "" {
			return false
		}
		return true
	}
	return false
}

// handleStatic serves GET of a dashboard file ("/" is index.html, "/dir/"
// is dir/index.html); anything else is a JSON 404.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	var a *asset
	if s.static != nil && strings.HasPrefix(r.URL.Path, "/") {
		p := r.URL.Path[1:]
		if p == "" || strings.HasSuffix(p, "/") {
			p += "index.html"
		}
		a = s.static.files[p]
	}
	if a == nil {
		writeError(w, &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no such path: " + quote(r.URL.Path)})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, methodNotAllowed(allowHeader([]string{http.MethodGet})))
		return
	}
	h := w.Header()
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", a.cacheCtl)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.ctype)
	body, length := a.body, a.lengthPlain
	if acceptsGzip(r.Header.Get("Accept-Encoding")) && a.gzipped() != nil {
		body, length = a.gz, a.lengthGz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", length)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// etagMatch reports whether an If-None-Match list names etag (weak
// comparison, as RFC 9110 asks for If-None-Match) or is "*".
func etagMatch(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
