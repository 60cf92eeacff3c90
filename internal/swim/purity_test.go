package swim

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The core must stay a pure state machine: no goroutines, no clocks, no
// global randomness, no I/O. These tests read its source to keep it so.

var allowedImports = map[string]bool{
	"errors": true, "fmt": true, "math": true, "math/rand/v2": true, "net/netip": true,
	"sort": true, "strings": true, "time": true, "container/heap": true, "slices": true,
	"github.com/rumorproject/rumor/internal/wire": true,
}

// bannedTime are the time package's functions that read or wait on the clock.
var bannedTime = map[string]bool{
	"Now": true, "Sleep": true, "After": true, "AfterFunc": true, "NewTimer": true,
	"NewTicker": true, "Tick": true, "Since": true, "Until": true,
}

// allowedRand are math/rand/v2's names that do not use the global source.
var allowedRand = map[string]bool{
	"New": true, "Rand": true, "Source": true, "NewPCG": true, "PCG": true,
	"NewChaCha8": true, "ChaCha8": true, "NewZipf": true, "Zipf": true,
}

// impurities lists what in one file breaks the rules, by position.
func impurities(fset *token.FileSet, f *ast.File) []string {
	var bad []string
	report := func(n ast.Node, format string, args ...any) {
		bad = append(bad, fmt.Sprintf("%v: %s", fset.Position(n.Pos()), fmt.Sprintf(format, args...)))
	}
	imports := map[string]string{} // local name → path
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			report(imp, "bad import path %s", imp.Path.Value)
			continue
		}
		if !allowedImports[path] {
			report(imp, "import %q is not allowed", path)
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if path == "math/rand/v2" {
			name = "rand"
		}
		if imp.Name != nil {
			name = imp.Name.Name
		}
		if name == "." {
			report(imp, "dot import of %q hides what is used", path)
		}
		imports[name] = path
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n, "go statement")
		case *ast.SelectorExpr:
			id, ok := n.X.(*ast.Ident)
			if !ok || id.Obj != nil { // a local value, not a package
				return true
			}
			switch imports[id.Name] {
			case "time":
				if bannedTime[n.Sel.Name] {
					report(n, "time.%s reads or waits on the clock", n.Sel.Name)
				}
			case "math/rand/v2":
				if !allowedRand[n.Sel.Name] {
					report(n, "rand.%s uses the global random source", n.Sel.Name)
				}
			}
		}
		return true
	})
	return bad
}

func TestPurity(t *testing.T) {
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, path, src, 0) // object resolution tells locals from packages
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		if f.Name.Name != "swim" {
			continue
		}
		checked++
		for _, b := range impurities(fset, f) {
			t.Error(b)
		}
	}
	if checked < 10 {
		t.Errorf("checked %d files, want the whole package (at least 10)", checked)
	}
}

// TestPurityChecker makes sure the checker itself catches what it must.
func TestPurityChecker(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings of the reports, in order
	}{
		{"clean", `import ("time"; "math/rand/v2")
			func f(r *rand.Rand, t time.Time) time.Duration { _ = rand.New(rand.NewPCG(1, 2)); return t.Sub(t) + time.Second }`, nil},
		{"go statement", `func f() { go f() }`, []string{"go statement"}},
		{"import", `import ("os"; "sync"; "unsafe")`, []string{`"os"`, `"sync"`, `"unsafe"`}},
		{"time.Now", `import "time"
			func f() time.Time { return time.Now() }`, []string{"time.Now"}},
		{"aliased", `import tm "time"
			func f() { tm.Sleep(tm.Second) }`, []string{"time.Sleep"}},
		{"method value", `import "time"
			var now = time.Now`, []string{"time.Now"}},
		{"all clock functions", `import "time"
			func f() { time.After(0); time.AfterFunc(0, nil); time.NewTimer(0); time.NewTicker(1); time.Tick(1); time.Since(time.Time{}); time.Until(time.Time{}) }`,
			[]string{"time.After ", "time.AfterFunc", "time.NewTimer", "time.NewTicker", "time.Tick ", "time.Since", "time.Until"}},
		{"global rand", `import "math/rand/v2"
			func f() int { return rand.IntN(3) }`, []string{"rand.IntN"}},
		{"dot import", `import . "time"`, []string{"dot import"}},
		{"shadowed", `import "time"
			type clock struct{}
			func (clock) Now() int { return 0 }
			func f() int { time := clock{}; return time.Now() }`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "x.go", "package swim\n"+tc.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			got := impurities(fset, f)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d reports %q, want %d matching %q", len(got), got, len(tc.want), tc.want)
			}
			for i := range got {
				if !strings.Contains(got[i]+" ", tc.want[i]) {
					t.Errorf("report %d: got %q, want it to mention %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}
