package delivery

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// The Deliverer is the delivery's core (the lanes, and a job to its
// stages); each other responsibility is a part of its own, with its own
// methods: the workspace a job runs in (inWorkspace), the leases between
// replicas (laneLeases), the backlog left in the outbox (backlog), the
// platform's callbacks (callbacks), the starter of lanes and directory
// reads (starter).
func TestTheDelivererStaysSmall(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	methods := map[string]int{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil {
				continue
			}
			typ := fn.Recv.List[0].Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			if id, ok := typ.(*ast.Ident); ok {
				methods[id.Name]++
			}
		}
	}
	if n := methods["Deliverer"]; n > 30 {
		t.Errorf("Deliverer declares %d methods; keep it at most 30 (a responsibility of its own is a part of its own)", n)
	}
	for typ, n := range methods {
		if n > 40 {
			t.Errorf("%s declares %d methods; keep each type at most 40", typ, n)
		}
	}
	t.Logf("methods by type: %v", methods)
}
