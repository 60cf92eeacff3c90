// Package dashboard serves the agent's web dashboard: one page, embedded in
// the binary, that reads the agent's HTTP API (/v1/...) from the browser.
// It shows this node, its health, the member table, the live event stream
// and, under `rumor demo`, every node's view of the cluster side by side.
//
// The page is plain HTML, CSS and JavaScript with no build step and no
// external resources, so the binary alone serves it, offline too.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"time"
)

//go:embed static
var static embed.FS

// asset is one file of the page, read once at start.
type asset struct {
	name  string
	ctype string
	body  []byte
	etag  string
}

// routes maps request paths to files; nothing else is served, so the
// handler can sit at "/" beside the API without shadowing it by accident.
var routes = map[string]struct{ file, ctype string }{
	"/":           {"index.html", "text/html; charset=utf-8"},
	"/index.html": {"index.html", "text/html; charset=utf-8"},
	"/app.js":     {"app.js", "text/javascript; charset=utf-8"},
	"/style.css":  {"style.css", "text/css; charset=utf-8"},
}

// csp allows the page's own files and its own origin's API only: the page
// shows names, tags and payloads that any member can choose, so injected
// markup must not be able to run or to load anything.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

// Handler serves the dashboard: GET or HEAD of "/" (or "/index.html"),
// "/app.js" and "/style.css". Other paths answer 404. Mount it at "/" of
// the API's mux, since the page calls the API at absolute /v1/ paths.
func Handler() http.Handler {
	assets, err := load()
	if err != nil {
		// The files are compiled in; a missing one is a build mistake.
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		// no-cache: revalidate every time (cheap, thanks to the ETag) so a
		// new binary's page is never mixed with an old cached script.
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		// The URL may hold the API token: never send it on as a referrer.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", csp)
		// ServeContent answers If-None-Match with 304 and handles HEAD.
		http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
	})
}

// load reads the routed files and computes their ETags.
func load() (map[string]*asset, error) {
	byFile := map[string]*asset{}
	out := make(map[string]*asset, len(routes))
	for path, rt := range routes {
		a := byFile[rt.file]
		if a == nil {
			body, err := fs.ReadFile(static, "static/"+rt.file)
			if err != nil {
				return nil, fmt.Errorf("dashboard: read embedded %s: %w", rt.file, err)
			}
			sum := sha256.Sum256(body)
			a = &asset{
				name:  rt.file,
				ctype: rt.ctype,
				body:  body,
				etag:  `"` + hex.EncodeToString(sum[:8]) + `"`,
			}
			byFile[rt.file] = a
		}
		out[path] = a
	}
	return out, nil
}
