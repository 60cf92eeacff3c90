package wire

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The codec is shared by the protocol core, the runtime and the simulator,
// so it must stay pure: standard library only, and nothing that touches the
// network, the file system, clocks or global randomness.
var allowedImports = []string{
	"bytes", "compress/lzw", "crypto/aes", "crypto/cipher", "crypto/rand", "encoding/binary",
	"errors", "fmt", "hash/crc32", "io", "math", "slices", "strconv", "strings", "sync", "unsafe",
}

func TestImportsStayPure(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !slices.Contains(allowedImports, path) {
				t.Errorf("%s imports %q; internal/wire may only import %v", f, path, allowedImports)
			}
		}
	}
}
