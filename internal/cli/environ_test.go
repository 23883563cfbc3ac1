package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// processEnvReaders are the functions that read the process environment.
// Only this package may use them; every other package takes the
// environment from its caller (WithEnviron, config.Env), so that Run with
// WithEnviron decides what the whole program sees.
var processEnvReaders = map[string][]string{
	"os":      {"Getenv", "Environ", "LookupEnv", "ExpandEnv"},
	"syscall": {"Getenv", "Environ"},
}

// TestOnlyCLIReadsTheEnvironment fails when a package under internal other
// than cli uses os.Getenv, os.Environ, os.LookupEnv, os.ExpandEnv or their
// syscall forms outside its tests. A library that reads the environment
// itself (a Docker or Kubernetes client) is not ours to change; code of
// ours must not.
func TestOnlyCLIReadsTheEnvironment(t *testing.T) {
	t.Parallel()
	root := ".."
	fset := token.NewFileSet()
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// testdata holds programs that run inside containers, not skiff.
			if path != root && (d.Name() == "cli" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		found = append(found, envReads(fset, f)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("%s: library code reads the process environment; take it from the caller instead (the CLI passes a.environ or config.Env down)", f)
	}
}

// envReads lists where f uses a function of processEnvReaders, as
// "file:line: os.Getenv".
func envReads(fset *token.FileSet, f *ast.File) []string {
	// The names the file gives the packages of processEnvReaders.
	local := map[string]string{}
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil || processEnvReaders[p] == nil {
			continue
		}
		name := p
		if imp.Name != nil {
			name = imp.Name.Name
		}
		local[name] = p
	}
	if len(local) == 0 {
		return nil
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		x, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		pkg, ok := local[x.Name]
		if !ok {
			return true
		}
		for _, fn := range processEnvReaders[pkg] {
			if sel.Sel.Name == fn {
				out = append(out, fset.Position(sel.Pos()).String()+": "+pkg+"."+fn)
			}
		}
		return true
	})
	return out
}
