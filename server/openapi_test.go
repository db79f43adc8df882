package server

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/closecast/closecast"
)

// openAPIDoc is the part of an OpenAPI 3 document this test reads.
type openAPIDoc struct {
	OpenAPI string `json:"openapi"`
	Paths   map[string]map[string]struct {
		OperationID string                     `json:"operationId"`
		Responses   map[string]json.RawMessage `json:"responses"`
	} `json:"paths"`
	Components struct {
		Responses map[string]json.RawMessage `json:"responses"`
		Schemas   map[string]json.RawMessage `json:"schemas"`
		Headers   map[string]json.RawMessage `json:"headers"`
	} `json:"components"`
}

// template maps a request path to the OpenAPI path that documents it.
func template(p string) string {
	for _, rt := range routes {
		if rt.path == p {
			return p
		}
	}
	return "/{file}"
}

// TestOpenAPIMatchesHandlers sends requests that make every handler give
// every answer it can, and checks that the set of (path, method, status)
// seen is exactly the set the document lists. The two rules the document
// states globally are checked separately: any other method on a documented
// path is a 405 whose Allow lists exactly the documented methods, and an
// unknown path is a 404.
func TestOpenAPIMatchesHandlers(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", m, p)
			}
			for code := range op.Responses {
				documented[fmt.Sprintf("%s %s %s", strings.ToUpper(m), p, code)] = true
			}
		}
	}
	checkRefs(t, &doc)

	e := newTestEnv(t)
	empty := &testEnv{srv: New(Config{})} // not ready: the 503s of /readyz and /api/model
	etag := e.do("GET", "/", "").Header().Get("ETag")
	jsEtag := e.do("GET", "/app.js", "").Header().Get("ETag")
	matrix := []struct {
		env            *testEnv
		method, target string
		body           string
		hdr            []string
	}{
		{e, "GET", "/predict?date=2025-05-01", "", nil},
		{e, "GET", "/predict", "", nil},
		{e, "GET", "/predict?date=2025-05-01&symbol=ETH-USD", "", nil},
		{e, "GET", "/predict?date=2024-05-01", "", nil},
		{e, "GET", "/predict?date=2025-05-01&symbol=BROKEN-USD", "", nil},
		{e, "GET", "/predict?date=2025-05-01&symbol=DOWN-USD", "", nil},
		{e, "POST", "/predict", `{"date":"2025-05-01"}`, nil},
		{e, "POST", "/predict", `{"date":"2025-05-01","horizon":7}`, nil},
		{e, "POST", "/predict", `{"date":"2025-05-01","horizon":31}`, nil},
		{e, "GET", "/predict?date=2025-05-01&horizon=7&samples=0", "", nil},
		{e, "GET", "/predict?date=2025-05-01&samples=1", "", nil},
		{e, "POST", "/predict", `{"date":`, nil},
		{e, "POST", "/predict", `{"date":"2025-05-01","symbol":"ETH-USD"}`, nil},
		{e, "POST", "/predict", `{"date":"2025-05-01","x":"` + strings.Repeat("x", maxBody) + `"}`, nil},
		{e, "POST", "/predict", `{"date":"2024-05-01"}`, nil},
		{e, "POST", "/predict", `{"date":"2025-05-01","symbol":"BROKEN-USD"}`, nil},
		{e, "POST", "/predict", `{"date":"2025-05-01","symbol":"DOWN-USD"}`, nil},
		{e, "GET", "/api/model", "", nil},
		{empty, "GET", "/api/model", "", nil},
		{e, "GET", "/api/model?symbol=SOL-USD", "", nil},
		{e, "GET", "/api/models", "", nil},
		{e, "GET", "/api/history", "", nil},
		{e, "GET", "/api/history?from=x", "", nil},
		{e, "GET", "/api/history?symbol=ETH-USD", "", nil},
		{e, "GET", "/api/history?symbol=BROKEN-USD", "", nil},
		{e, "GET", "/api/history?symbol=DOWN-USD", "", nil},
		{e, "GET", "/api/accuracy", "", nil},
		{e, "GET", "/api/accuracy?days=0", "", nil},
		{e, "GET", "/api/accuracy?symbol=BTC%20USD", "", nil},
		{empty, "GET", "/api/accuracy", "", nil},
		{e, "GET", "/api/accuracy?symbol=BROKEN-USD", "", nil},
		{e, "GET", "/api/accuracy?symbol=DOWN-USD", "", nil},
		{e, "GET", "/healthz", "", nil},
		{e, "GET", "/readyz", "", nil},
		{empty, "GET", "/readyz", "", nil},
		{e, "GET", "/metrics", "", nil},
		{e, "GET", "/openapi.json", "", nil},
		{e, "GET", "/", "", nil},
		{e, "GET", "/", "", []string{"If-None-Match", etag}},
		{empty, "GET", "/", "", nil},
		{e, "GET", "/app.js", "", nil},
		{e, "GET", "/app.js", "", []string{"If-None-Match", jsEtag}},
		{e, "GET", "/missing.js", "", nil},
	}
	seen := map[string]bool{}
	for _, m := range matrix {
		w := m.env.do(m.method, m.target, m.body, m.hdr...)
		path, _, _ := strings.Cut(m.target, "?")
		key := fmt.Sprintf("%s %s %d", m.method, template(path), w.Code)
		seen[key] = true
		if !documented[key] {
			t.Errorf("%s %s answered %d, which openapi.json does not document (%s)", m.method, m.target, w.Code, w.Body)
		}
	}
	for key := range documented {
		if !seen[key] {
			t.Errorf("openapi.json documents %q but no request in this test produced it", key)
		}
	}

	// Methods that are not documented: 405 with the documented ones in Allow.
	for p, ops := range doc.Paths {
		var allowed []string
		for m := range ops {
			allowed = append(allowed, strings.ToUpper(m))
			if m == "get" { // HEAD is answered wherever GET is (RFC 9110), undocumented
				allowed = append(allowed, "HEAD")
			}
		}
		sort.Strings(allowed)
		target := strings.ReplaceAll(p, "{file}", "app.js")
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} {
			if slices.Contains(allowed, m) {
				continue
			}
			w := e.do(m, target, "")
			if w.Code != 405 {
				t.Errorf("%s %s = %d, want 405", m, target, w.Code)
				continue
			}
			allow := strings.Split(w.Header().Get("Allow"), ", ")
			sort.Strings(allow)
			if !slices.Equal(allow, allowed) {
				t.Errorf("%s %s: Allow %v, openapi.json has %v", m, target, allow, allowed)
			}
			if decodeBody[errorBody](t, w).Code != codeMethodNotAllowed {
				t.Errorf("%s %s: body %s", m, target, w.Body)
			}
		}
	}
	// Every route the router knows is documented.
	for _, name := range routeNames {
		if name == "other" {
			continue
		}
		if _, ok := doc.Paths[name]; !ok {
			t.Errorf("route %s is not in openapi.json", name)
		}
	}

	// The served document is the embedded one.
	if w := e.do("GET", "/openapi.json", ""); w.Body.String() != string(openAPI) {
		t.Error("/openapi.json does not serve the embedded document")
	}
}

// checkRefs resolves every "$ref" of the document.
func checkRefs(t *testing.T, doc *openAPIDoc) {
	t.Helper()
	var all any
	if err := json.Unmarshal(openAPI, &all); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
				var found bool
				if len(parts) == 2 {
					switch parts[0] {
					case "responses":
						_, found = doc.Components.Responses[parts[1]]
					case "schemas":
						_, found = doc.Components.Schemas[parts[1]]
					case "headers":
						_, found = doc.Components.Headers[parts[1]]
					}
				}
				if !found {
					t.Errorf("unresolved $ref %q", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(all)
}

// TestOpenAPIListsEveryErrorCode: the Error schema's code enum is exactly
// the codes errors.go declares, so a new code cannot go undocumented.
func TestOpenAPIListsEveryErrorCode(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Code struct {
				Enum []string `json:"enum"`
			} `json:"code"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["Error"], &schema); err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			for i, name := range v.Names {
				if lit, ok := v.Values[i].(*ast.BasicLit); ok && strings.HasPrefix(name.Name, "code") && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					declared = append(declared, s)
				}
			}
		}
	}
	slices.Sort(declared)
	enum := slices.Sorted(slices.Values(schema.Properties.Code.Enum))
	if len(declared) < 10 || !slices.Equal(declared, enum) {
		t.Errorf("error codes in errors.go %v; openapi.json's enum %v", declared, enum)
	}
}

// TestOpenAPIDocumentsPredictFields: the document lists exactly the
// members POST /predict reads, the query fields GET /predict reads, and
// every key of a horizon day and of interval.method, so a new field (such
// as quantiles) cannot go undocumented.
func TestOpenAPIDocumentsPredictFields(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name string `json:"name"`
			} `json:"parameters"`
		} `json:"paths"`
		Components struct {
			Schemas struct {
				PredictRequest struct {
					Properties map[string]json.RawMessage `json:"properties"`
				} `json:"PredictRequest"`
				Prediction struct {
					Properties struct {
						Forecasts struct {
							Items struct {
								Properties map[string]json.RawMessage `json:"properties"`
							} `json:"items"`
						} `json:"forecasts"`
						Interval struct {
							Properties struct {
								Method struct {
									Enum []string `json:"enum"`
								} `json:"method"`
							} `json:"properties"`
						} `json:"interval"`
					} `json:"properties"`
				} `json:"Prediction"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	tags := func(v any) []string {
		var out []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			if name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
				out = append(out, name)
			}
		}
		return slices.Sorted(slices.Values(out))
	}
	keys := func(m map[string]json.RawMessage) []string { return slices.Sorted(maps.Keys(m)) }

	if got, want := keys(doc.Components.Schemas.PredictRequest.Properties), tags(predictRequest{}); !slices.Equal(got, want) {
		t.Errorf("PredictRequest documents %v; the body's members are %v", got, want)
	}
	var params []string
	for _, p := range doc.Paths["/predict"]["get"].Parameters {
		params = append(params, p.Name)
	}
	if got, want := slices.Sorted(slices.Values(params)), slices.Sorted(maps.Keys(predictQueryCodes)); !slices.Equal(got, want) {
		t.Errorf("GET /predict documents %v; the query fields are %v", got, want)
	}
	if got, want := keys(doc.Components.Schemas.Prediction.Properties.Forecasts.Items.Properties), tags(HorizonForecast{}); !slices.Equal(got, want) {
		t.Errorf("a forecast day documents %v; HorizonForecast's keys are %v", got, want)
	}
	methods := doc.Components.Schemas.Prediction.Properties.Interval.Properties.Method.Enum
	for _, m := range []string{closecast.IntervalConformal, closecast.IntervalMCDropout, closecast.IntervalQuantileHead} {
		if !slices.Contains(methods, m) {
			t.Errorf("interval.method documents %v, not %s", methods, m)
		}
	}
}

// TestOpenAPIDocumentsAccuracyKeys: the schemas of /api/accuracy and of
// /predict's adaptive key list exactly the members their types encode.
func TestOpenAPIDocumentsAccuracyKeys(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{
		"Accuracy":             accuracyResponse{},
		"ScoredForecast":       accuracyRow{},
		"DistributionAccuracy": closecast.DistributionAccuracy{},
		"DistributionScore":    closecast.DistributionScore{},
		"Adaptive":             closecast.Adaptive{},
	} {
		var want []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			if n, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ","); n != "" && n != "-" {
				want = append(want, n)
			}
		}
		if got := slices.Sorted(maps.Keys(doc.Components.Schemas[name].Properties)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Errorf("schema %s documents %v; the type encodes %v", name, got, slices.Sorted(slices.Values(want)))
		}
	}
}
