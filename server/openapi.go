package server

import _ "embed"

// openAPI is the OpenAPI 3 document of the API, served at /openapi.json.
// TestOpenAPIMatchesHandlers checks it against what the handlers answer.
//
//go:embed openapi.json
var openAPI []byte
