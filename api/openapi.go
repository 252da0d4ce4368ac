package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"sigs.k8s.io/yaml"
)

// OpenAPIYAML is the OpenAPI 3.1 document of every route NewHTTP serves,
// as written (openapi.yaml); the tests hold the two to each other.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// OpenAPI returns the document as JSON, its info.version set to version.
func OpenAPI(version string) ([]byte, error) {
	j, err := yaml.YAMLToJSON(OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(j, &doc); err != nil {
		return nil, err
	}
	if version != "" {
		doc["info"].(map[string]any)["version"] = version
	}
	return json.Marshal(doc)
}

// openAPIHandler serves the document, made at its first request (not at
// every start, nor for Patterns' table) and kept.
func openAPIHandler(version string) http.Handler {
	made := sync.OnceValues(func() ([]byte, error) { return OpenAPI(version) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, err := made()
		if err != nil { // the embedded document is checked by the tests
			writeJSON(w, http.StatusInternalServerError, apiError{Error: err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	})
}
