package api_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"

	"github.com/paligo/paligo-slack/api"
)

// openAPIModel builds the served document (JSON, with a version) with
// libopenapi and checks it against the OpenAPI 3.1 schema.
func openAPIModel(t *testing.T) *v3.Document {
	t.Helper()
	doc, err := api.OpenAPI("v9.9.9")
	if err != nil {
		t.Fatal(err)
	}
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	if d.GetVersion() != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", d.GetVersion())
	}
	m, err := d.BuildV3Model()
	if err != nil {
		t.Fatalf("build the model: %v", err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("not a valid OpenAPI 3.1 document: %s: %s", e.Message, e.Reason)
			for _, f := range e.SchemaValidationErrors {
				t.Errorf("  %s: %s", f.FieldPath, f.Reason)
			}
		}
		t.FailNow()
	}
	if m.Model.Info.Version != "v9.9.9" {
		t.Errorf("info.version = %q, want the program's", m.Model.Info.Version)
	}
	return &m.Model
}

// TestOpenAPIDescribesEveryRouteAndNothingElse: the document's operations
// are the listener's routes, one for one.
func TestOpenAPIDescribesEveryRouteAndNothingElse(t *testing.T) {
	m := openAPIModel(t)
	var documented []string
	for path, item := range m.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	served := api.Patterns()
	for _, p := range served {
		if !slices.Contains(documented, p) {
			t.Errorf("the listener serves %q; the document does not describe it", p)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("the document describes %q; the listener does not serve it", d)
		}
	}
	if len(served) < 20 {
		t.Fatalf("only %d routes: %v", len(served), served)
	}
}

// TestOpenAPIExamplesValidate: every example in the document, of a request
// or an answer, validates against its own schema.
func TestOpenAPIExamplesValidate(t *testing.T) {
	m := openAPIModel(t)
	sv := schema_validation.NewSchemaValidator()
	checked := 0
	check := func(where string, content *orderedmap.Map[string, *v3.MediaType]) {
		if content == nil {
			return
		}
		for mediaType, mt := range content.FromOldest() {
			var values []any
			if mt.Example != nil {
				var v any
				if err := mt.Example.Decode(&v); err != nil {
					t.Fatalf("%s %s: %v", where, mediaType, err)
				}
				values = append(values, v)
			}
			if mt.Examples != nil {
				for _, ex := range mt.Examples.FromOldest() {
					var v any
					if err := ex.Value.Decode(&v); err != nil {
						t.Fatalf("%s %s: %v", where, mediaType, err)
					}
					values = append(values, v)
				}
			}
			for _, v := range values {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				checked++
				if ok, errs := sv.ValidateSchemaBytes(mt.Schema.Schema(), b); !ok {
					for _, e := range errs {
						t.Errorf("%s %s: the example %s does not validate: %s %s", where, mediaType, b, e.Message, e.Reason)
						for _, f := range e.SchemaValidationErrors {
							t.Errorf("  %s: %s", f.FieldPath, f.Reason)
						}
					}
				}
			}
		}
	}
	for path, item := range m.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			where := strings.ToUpper(method) + " " + path
			if op.RequestBody != nil {
				check(where+" request", op.RequestBody.Content)
			}
			for code, r := range op.Responses.Codes.FromOldest() {
				check(where+" "+code, r.Content)
			}
		}
	}
	if checked < 15 {
		t.Errorf("only %d examples were checked", checked)
	}
}
