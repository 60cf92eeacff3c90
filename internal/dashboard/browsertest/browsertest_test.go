package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// recTB records what New and the waits report instead of failing the
// test, so that the failures themselves can be tested. Skip and Fatal end
// the goroutine, as they do on a real T; use run.
type recTB struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	fatals   []string
	skips    []string
	cleanups []func()
}

func (r *recTB) Helper() {}

func (r *recTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recTB) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

func (r *recTB) Skip(args ...any) {
	r.mu.Lock()
	r.skips = append(r.skips, fmt.Sprint(args...))
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recTB) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// run calls f on a goroutine of its own, which Skip and Fatal may end.
func (r *recTB) run(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

// finish runs the cleanups, last first, as a test's end would.
func (r *recTB) finish() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}

func TestNewSkipsWithoutBrowser(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(RequireEnv, "")
	rec := &recTB{TB: t}
	rec.run(func() { New(rec) })
	defer rec.finish()
	if len(rec.skips) != 1 || !strings.Contains(rec.skips[0], "install-chromium") || len(rec.fatals) != 0 {
		t.Fatalf("skips %q, fatals %q; want one skip that names the install script", rec.skips, rec.fatals)
	}
}

func TestNewFailsWithoutBrowserWhenRequired(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(RequireEnv, "1")
	rec := &recTB{TB: t}
	rec.run(func() { New(rec) })
	defer rec.finish()
	if len(rec.fatals) != 1 || !strings.Contains(rec.fatals[0], RequireEnv) || len(rec.skips) != 0 {
		t.Fatalf("skips %q, fatals %q; want one failure that names %s", rec.skips, rec.fatals, RequireEnv)
	}
}

// page serves html at / on loopback.
func page(t *testing.T, html string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, html)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestUncaughtExceptionsFailTheTest(t *testing.T) {
	url := page(t, `<!doctype html><body><script>
		setTimeout(() => { document.body.dataset.thrown = "yes"; throw new Error("boom in the page"); }, 0);
	</script></body>`)
	rec := &recTB{TB: t}
	defer rec.finish()
	rec.run(func() {
		ctx := New(rec)
		if err := Open(ctx, url); err != nil {
			rec.Fatal(err)
		}
		if err := WaitJS(ctx, "the throw", `document.body.dataset.thrown === "yes"`); err != nil {
			rec.Fatal(err)
		}
	})
	if len(rec.skips) > 0 {
		t.Skip(rec.skips[0])
	}
	if len(rec.fatals) > 0 {
		t.Fatal(rec.fatals)
	}
	rec.finish()
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "boom in the page") {
		t.Fatalf("errors %q; want one that reports the page's exception", rec.errs)
	}
}

func TestWaitErrorsSayWhatThePageShows(t *testing.T) {
	ctx := New(t)
	url := page(t, `<!doctype html><body><table>
		<tr data-member="alpha" data-state="alive"><td>alpha</td></tr>
		<tr data-member="bravo" data-state="dead"><td>bravo</td></tr>
	</table></body>`)
	if err := Open(ctx, url); err != nil {
		t.Fatal(err)
	}
	if err := WaitRows(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := WaitState(ctx, "bravo", "dead"); err != nil {
		t.Fatal(err)
	}

	// The caller's deadline bounds the wait; the error still tells.
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := WaitState(short, "bravo", "alive")
	if err == nil {
		t.Fatal("WaitState bravo alive: no error, but bravo is dead")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("WaitState ignored the caller's deadline: took %v", took)
	}
	if !strings.Contains(err.Error(), `alpha=alive`) || !strings.Contains(err.Error(), `bravo=dead`) {
		t.Errorf("error %q does not show the rows", err)
	}
}
