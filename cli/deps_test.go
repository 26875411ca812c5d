package cli

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestImports keeps the CLI framework a leaf of the dependency graph: it may use the client, never the
// server's internals or storage.
func TestImports(t *testing.T) {
	forbidden := []string{
		"github.com/keyhaven/keyhaven/internal",
		"github.com/keyhaven/keyhaven/storage",
		"github.com/keyhaven/keyhaven/cmd",
		"database/sql",
	}
	for _, dir := range []string{".", "output"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range ast.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				for _, bad := range forbidden {
					if path == bad || strings.HasPrefix(path, bad+"/") {
						t.Errorf("%s imports %s", f, path)
					}
				}
			}
		}
	}
}
