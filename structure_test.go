package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// methodsByType counts the methods each type declares (exported or not),
// by package folder and type name, in the project's non-test Go files.
func methodsByType(t *testing.T) map[string]int {
	t.Helper()
	methods := map[string]int{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
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
			if idx, ok := typ.(*ast.IndexExpr); ok {
				typ = idx.X
			}
			if id, ok := typ.(*ast.Ident); ok {
				methods[filepath.ToSlash(filepath.Dir(path))+"."+id.Name]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return methods
}

// No type grows into a house of its own: a responsibility of its own is a
// type of its own. The Deliverer is the delivery's core (the lanes, and a
// job to its stages); the store is cut by the records it keeps
// (store/parts.go). The fake Slack's server is aside: one method per
// Slack API method it speaks.
func TestTypesStaySmall(t *testing.T) {
	methods := methodsByType(t)
	if methods["delivery.Deliverer"] == 0 || methods["store.outboxRecords"] == 0 {
		t.Fatalf("the count found no Deliverer or store part: %v", methods)
	}
	if n := methods["delivery.Deliverer"]; n > 30 {
		t.Errorf("delivery.Deliverer declares %d methods; keep it at most 30", n)
	}
	var names []string
	for typ := range methods {
		names = append(names, typ)
	}
	sort.Slice(names, func(i, j int) bool { return methods[names[i]] > methods[names[j]] })
	for _, typ := range names {
		if n := methods[typ]; n > 40 && typ != "fakeslack.Server" {
			t.Errorf("%s declares %d methods; keep each type at most 40", typ, n)
		}
	}
	if len(names) > 8 {
		names = names[:8]
	}
	for _, typ := range names {
		t.Logf("%s: %d methods", typ, methods[typ])
	}
}
