package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/rumorproject/rumor/internal/dashboard"
)

func get(t *testing.T, h http.Handler, method, path string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandlerServesAssets(t *testing.T) {
	h := dashboard.Handler()
	for _, tc := range []struct {
		path, ctype, marker string
	}{
		{"/", "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"/index.html", "text/html; charset=utf-8", `id="members"`},
		{"/app.js", "text/javascript; charset=utf-8", `new EventSource(`},
		{"/style.css", "text/css; charset=utf-8", `.state-dead`},
	} {
		res := get(t, h, http.MethodGet, tc.path, nil)
		b := body(t, res)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", tc.path, res.StatusCode)
			continue
		}
		for k, want := range map[string]string{
			"Content-Type":           tc.ctype,
			"Cache-Control":          "no-cache",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
		} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", tc.path, k, got, want)
			}
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy = %q", tc.path, csp)
		}
		if !strings.Contains(b, tc.marker) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.marker)
		}

		// The ETag lets a no-cache client revalidate for free.
		etag := res.Header.Get("ETag")
		if etag == "" {
			t.Errorf("GET %s: no ETag", tc.path)
			continue
		}
		again := get(t, h, http.MethodGet, tc.path, map[string]string{"If-None-Match": etag})
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match: status %d, want 304", tc.path, again.StatusCode)
		}

		head := get(t, h, http.MethodHead, tc.path, nil)
		if head.StatusCode != http.StatusOK || body(t, head) != "" {
			t.Errorf("HEAD %s: status %d", tc.path, head.StatusCode)
		}
	}
}

func TestHandlerRefusesTheRest(t *testing.T) {
	h := dashboard.Handler()
	for _, path := range []string{"/v1/members", "/static/app.js", "/app.js/", "/favicon.ico", "/nope"} {
		if res := get(t, h, http.MethodGet, path, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, res.StatusCode)
		}
	}
	res := get(t, h, http.MethodPost, "/", nil)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: status %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
}

// TestPageIsSelfContained guards the promises that cannot be seen in a
// browser on a networked machine: nothing is fetched from elsewhere, and
// cluster data never becomes markup.
func TestPageIsSelfContained(t *testing.T) {
	h := dashboard.Handler()
	external := regexp.MustCompile(`(?i:(https?:)?//[a-z0-9.-]+\.[a-z]{2,})|@import|url\(`)
	for _, path := range []string{"/", "/app.js", "/style.css"} {
		b := body(t, get(t, h, http.MethodGet, path, nil))
		if m := external.FindString(b); m != "" {
			t.Errorf("%s refers outside the page: %q", path, m)
		}
	}
	js := body(t, get(t, h, http.MethodGet, "/app.js", nil))
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js uses %s; build DOM nodes with textContent instead", bad)
		}
	}
	html := body(t, get(t, h, http.MethodGet, "/", nil))
	for _, hook := range []string{`id="health"`, `id="agreement"`, `data-agree=""`, `id="events"`, `id="broadcast"`} {
		if !strings.Contains(html, hook) {
			t.Errorf("index.html lacks the hook %s", hook)
		}
	}
	for _, hook := range []string{`"data-member"`, `"data-state"`} {
		if !strings.Contains(js, hook) {
			t.Errorf("app.js never sets %s", hook)
		}
	}
}
