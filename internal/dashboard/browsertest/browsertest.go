// Package browsertest drives the dashboard in a headless Chromium for tests:
// it finds the browser, starts it for one test, and waits, bounded, for what
// the page shows through its stable hooks (data-member and data-state on
// member rows, #agreement's data-agree, #health's data-score).
//
// Without a browser the tests skip, unless RUMOR_REQUIRE_BROWSER=1 (set by
// CI after scripts/install-chromium), when they fail instead.
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// WaitTimeout bounds each wait of this package.
const WaitTimeout = 20 * time.Second

// RequireEnv names the variable that turns a missing browser into a
// failure rather than a skip.
const RequireEnv = "RUMOR_REQUIRE_BROWSER"

// ScreenshotDirEnv names a directory where SaveScreenshot also writes its
// pictures, for a person to look at.
const ScreenshotDirEnv = "RUMOR_SCREENSHOT_DIR"

// browserNames are tried in order on PATH; scripts/install-chromium looks
// for the same ones.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"}

// FindChromium returns the path of the first Chromium-like browser on
// PATH, or "" when there is none.
func FindChromium() string {
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a headless browser for t and returns a context on a fresh
// tab; the browser stops when t ends. Without a browser t is skipped, or
// fails when RUMOR_REQUIRE_BROWSER=1. Uncaught exceptions and unhandled
// promise rejections in the page fail t, since they mean a broken page.
func New(t testing.TB) context.Context {
	t.Helper()
	path := FindChromium()
	if path == "" {
		msg := "no Chromium on PATH (tried " + strings.Join(browserNames, ", ") + "); run scripts/install-chromium"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s, and %s=1", msg, RequireEnv)
		}
		t.Skip(msg)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		// A profile of its own per test, removed with the test.
		chromedp.UserDataDir(t.TempDir()),
		// Loopback only: Chromium would otherwise look up Google hosts
		// (component updates, accounts, a preconnect) by itself. Every
		// name but the loopback ones (IP literals included) fails.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.*, EXCLUDE ::1"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to run its sandbox as root (CI, containers).
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})

	// The first Run starts the browser; bound it without tying the
	// browser's life to a timeout (see chromedp.Run).
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("browsertest: start %s: %v", path, err)
		}
	case <-time.After(WaitTimeout):
		t.Fatalf("browsertest: %s did not start within %v", path, WaitTimeout)
	}

	watchExceptions(t, ctx)
	return ctx
}

// watchExceptions fails t at its end for each exception the page threw
// and nothing caught.
func watchExceptions(t testing.TB, ctx context.Context) {
	var (
		mu   sync.Mutex
		seen []string
	)
	// Listen's func runs in the tab's reading loop, in the order of the
	// browser's messages: once a later command's reply is in, every earlier
	// exception has been seen.
	err := chromedp.Listen(ctx, func(ev any) {
		e, ok := ev.(*runtime.EventExceptionThrown)
		if !ok || e.ExceptionDetails == nil {
			return
		}
		d := e.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s (%s:%d)", text, d.URL, d.LineNumber+1))
		mu.Unlock()
	})
	if err != nil {
		t.Fatalf("browsertest: listen for exceptions: %v", err)
	}
	t.Cleanup(func() {
		// A round trip, so that exceptions thrown until now are in.
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, _ = chromedp.Run(fctx, chromedp.Evaluate[int](`1`)) // a dead tab has nothing more to say
		mu.Lock()
		defer mu.Unlock()
		for _, s := range seen {
			t.Errorf("browsertest: uncaught exception in the page: %s", s)
		}
	})
}

// Open loads url in the tab and waits until the page's document is ready.
func Open(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, WaitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		return fmt.Errorf("open %s: %w", url, err)
	}
	return nil
}

// poll waits until the JavaScript expression is truthy. On a timeout the
// error says what the page shows instead, from the expression show.
func poll(ctx context.Context, what, expr, show string) error {
	wctx, cancel := context.WithTimeout(ctx, WaitTimeout)
	defer cancel()
	_, err := chromedp.Run(wctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(WaitTimeout)))
	if err == nil {
		return nil
	}
	// A short, fresh deadline: wctx, or the caller's ctx, may be the one
	// that ran out, and the tab outlives both.
	sctx, cancel2 := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel2()
	now, serr := chromedp.Run(sctx, chromedp.Evaluate[string](show))
	if serr != nil {
		now = "(unreadable: " + serr.Error() + ")"
	}
	return fmt.Errorf("wait for %s: %w; the page shows %s", what, err, now)
}

// WaitJS waits until the JavaScript expression expr is truthy in the
// page; what names the wait in the error.
func WaitJS(ctx context.Context, what, expr string) error {
	return poll(ctx, what, expr, `JSON.stringify(document.body.innerText.slice(0, 600))`)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Go string always marshals
	}
	return string(b)
}

// rowsNow describes the member rows for error messages.
const rowsNow = `JSON.stringify([...document.querySelectorAll("[data-member]")].map(e => e.dataset.member + "=" + e.dataset.state))`

// WaitRows waits until the member table has exactly n rows.
func WaitRows(ctx context.Context, n int) error {
	expr := fmt.Sprintf(`document.querySelectorAll("[data-member]").length === %d`, n)
	return poll(ctx, fmt.Sprintf("%d member rows", n), expr, rowsNow)
}

// WaitState waits until the member table shows member name in state.
func WaitState(ctx context.Context, name, state string) error {
	expr := fmt.Sprintf(`[...document.querySelectorAll("[data-member]")].some(e => e.dataset.member === %s && e.dataset.state === %s)`,
		jsString(name), jsString(state))
	return poll(ctx, fmt.Sprintf("member %q %s", name, state), expr, rowsNow)
}

// WaitAgreement waits until the views banner says the views agree (or
// differ, for agree false) and returns the banner's text.
func WaitAgreement(ctx context.Context, agree bool) (string, error) {
	const banner = `(document.getElementById("agreement") || {})`
	expr := fmt.Sprintf(`%s.dataset?.agree === "%t"`, banner, agree)
	show := `JSON.stringify([` + banner + `.dataset?.agree, ` + banner + `.textContent])`
	if err := poll(ctx, fmt.Sprintf("views agree=%t", agree), expr, show); err != nil {
		return "", err
	}
	return Text(ctx, "#agreement")
}

// WaitHealthScore waits until the health element shows score.
func WaitHealthScore(ctx context.Context, score int) error {
	const h = `(document.getElementById("health") || {dataset: {}})`
	expr := fmt.Sprintf(`%s.dataset.score === "%d"`, h, score)
	return poll(ctx, fmt.Sprintf("health score %d", score), expr, `JSON.stringify(`+h+`.dataset)`)
}

// WaitEvent waits until the event log holds an entry of type typ whose
// text contains substr.
func WaitEvent(ctx context.Context, typ, substr string) error {
	expr := fmt.Sprintf(`[...document.querySelectorAll("#events li")].some(e => e.dataset.eventType === %s && e.textContent.includes(%s))`,
		jsString(typ), jsString(substr))
	show := `JSON.stringify([...document.querySelectorAll("#events li")].slice(0, 10).map(e => e.textContent))`
	return poll(ctx, fmt.Sprintf("a %s event with %q", typ, substr), expr, show)
}

// Text returns the text content of the first element matching the CSS
// selector.
func Text(ctx context.Context, selector string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, WaitTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		fmt.Sprintf(`(document.querySelector(%s) || {textContent: ""}).textContent`, jsString(selector))))
	if err != nil {
		return "", fmt.Errorf("text of %s: %w", selector, err)
	}
	return s, nil
}

// Screenshot writes a PNG of the whole page, beyond the viewport too, to
// path.
func Screenshot(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, WaitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return nil
}

// pngMagic starts every PNG file.
var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// CheckPNG reports an error unless path holds a non-empty PNG.
func CheckPNG(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("check png: %w", err)
	}
	if len(b) <= len(pngMagic) || !bytes.HasPrefix(b, pngMagic) {
		return fmt.Errorf("check png: %s is not a PNG (%d bytes)", path, len(b))
	}
	return nil
}

// SaveScreenshot takes a screenshot into t's temporary directory as name
// (say "cluster.png"), and into $RUMOR_SCREENSHOT_DIR too when that is
// set, checks it is a PNG and returns the temporary file's path.
func SaveScreenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := Screenshot(ctx, path); err != nil {
		t.Fatal(err)
	}
	if err := CheckPNG(path); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv(ScreenshotDirEnv); dir != "" {
		if err := copyFile(path, filepath.Join(dir, name)); err != nil {
			t.Fatalf("%s: %v", ScreenshotDirEnv, err)
		}
		t.Logf("screenshot: %s", filepath.Join(dir, name))
	}
	return path
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return nil
}
