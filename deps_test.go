package rumor

import (
	"os/exec"
	"strings"
	"testing"
)

// The library, and the agent's core, use the standard library only: every
// package they depend on, transitively, is either in it or in this module
// (which go list marks as not standard). The agent's third-party
// dependencies (kong, the Prometheus client, chromedp in tests) stay in
// cmd/rumor, internal/metrics and internal/dashboard's tests.
func TestLibraryDependsOnStdlibOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const module = "github.com/rumorproject/rumor"
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		".", "./transport", "./sim", "./internal/swim", "./internal/wire", "./internal/tags",
		"./internal/inspect", "./internal/agent", "./internal/api", "./internal/httpapi", "./internal/client")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, path := range strings.Fields(string(out)) {
		if path != module && !strings.HasPrefix(path, module+"/") {
			t.Errorf("the library depends on %s, which is not in the standard library", path)
		}
	}
}
