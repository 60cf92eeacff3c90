package dashboard_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/dashboard/browsertest"
)

const testToken = "s3cret token/+?" // needs escaping in a URL, on purpose

// serve starts the fake behind a loopback test server; the event streams
// end before the server closes, which waits for them.
func serve(t *testing.T, f *fakeAPI) string {
	t.Helper()
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	t.Cleanup(f.close) // runs first
	return srv.URL
}

func fourMembers() []api.Member {
	return []api.Member{
		member("alpha", 7946, map[string]string{"role": "api", "zone": "eu-1"}),
		member("bravo", 7947, map[string]string{"role": "db"}),
		member("charlie", 7948, nil),
		member("delta", 7949, map[string]string{"role": "worker", "version": "1.4.2"}),
	}
}

// TestDashboardInBrowser drives the page against the fake API: the table
// fills, follows the event stream, the views banner tracks agreement, the
// health score updates and the broadcast form posts.
func TestDashboardInBrowser(t *testing.T) {
	ctx := browsertest.New(t)
	f := newFakeAPI(testToken, true, fourMembers()...)
	base := serve(t, f)

	if err := browsertest.Open(ctx, base+"/?token="+url.QueryEscape(testToken)); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitRows(ctx, 4); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alpha", "bravo", "charlie", "delta"} {
		if err := browsertest.WaitState(ctx, name, "alive"); err != nil {
			t.Fatal(err)
		}
	}
	order, err := browsertest.Text(ctx, "#members tbody")
	if err != nil {
		t.Fatal(err)
	}
	if !inOrder(order, "alpha", "bravo", "charlie", "delta") {
		t.Errorf("rows not sorted by name: %q", order)
	}
	banner, err := browsertest.WaitAgreement(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(banner, "all 4 views agree") {
		t.Errorf("agreement banner = %q, want it to say all 4 views agree", banner)
	}
	if err := browsertest.WaitHealthScore(ctx, 0); err != nil {
		t.Fatal(err)
	}
	// The change below must arrive through the stream, so wait for it.
	if err := browsertest.WaitJS(ctx, "the event stream, and no refetch pending",
		`document.getElementById("stream").dataset.connected === "true" &&
		 document.getElementById("members").dataset.syncing === "false"`); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitJS(ctx, "header and tags",
		`document.getElementById("self-name").textContent === "alpha" &&
		 document.getElementById("self-addr").textContent.startsWith("127.0.0.1:7946") &&
		 [...document.querySelectorAll('[data-member="delta"] .chip')].map(c => c.textContent).join(",") === "role=worker,version=1.4.2" &&
		 document.querySelector('[data-member="bravo"] td:last-child').textContent.endsWith(" ms")`); err != nil {
		t.Fatal(err)
	}

	// charlie dies; delta has not heard yet and still suspects it.
	dead := f.setState("charlie", api.StateDead)
	f.seeAs("delta", "charlie", api.StateSuspect)
	f.push(api.Event{Type: api.EventDead, Member: &dead})
	if err := browsertest.WaitState(ctx, "charlie", "dead"); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitEvent(ctx, "dead", "charlie is dead"); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitJS(ctx, "the dead count", `document.querySelector('[data-count-state="dead"] .n').textContent === "1"`); err != nil {
		t.Fatal(err)
	}
	banner, err = browsertest.WaitAgreement(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(banner, "charlie") || !strings.Contains(banner, "suspect on delta") {
		t.Errorf("disagreement banner = %q, want it to name charlie and delta's suspicion", banner)
	}

	// Payloads are shown as text, never as markup.
	f.push(api.Event{Type: api.EventBroadcast, From: "bravo", Text: "<b>deploy</b> done", Payload: []byte("<b>deploy</b> done")})
	if err := browsertest.WaitEvent(ctx, "broadcast", "<b>deploy</b> done"); err != nil {
		t.Fatal(err)
	}

	// A refresh that changes nothing in a row keeps the row itself, so
	// that a reader's text selection survives the 2 s health poll.
	if err := browsertest.WaitJS(ctx, "a mark on alpha's row",
		`(document.querySelector('[data-member="alpha"]').dataset.mark = "kept") === "kept"`); err != nil {
		t.Fatal(err)
	}
	f.setScore(2)
	if err := browsertest.WaitHealthScore(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitJS(ctx, "alpha's row, still the same element",
		`document.querySelector('[data-member="alpha"]').dataset.mark === "kept"`); err != nil {
		t.Fatal(err)
	}

	wctx, cancel := context.WithTimeout(ctx, browsertest.WaitTimeout)
	defer cancel()
	if err := chromedp.Do(wctx,
		chromedp.SendKeys(chromedp.CSS("#broadcast-text"), "hello, cluster"),
		chromedp.Click(chromedp.CSS("#broadcast button")),
	); err != nil {
		t.Fatalf("broadcast form: %v", err)
	}
	select {
	case s := <-f.sent:
		if s.Text != "hello, cluster" {
			t.Errorf("broadcast body text = %q, want %q", s.Text, "hello, cluster")
		}
	case <-time.After(browsertest.WaitTimeout):
		t.Fatal("the broadcast form posted nothing")
	}
	if err := browsertest.WaitJS(ctx, "the broadcast status", `document.getElementById("broadcast-status").textContent === "sent to every member"`); err != nil {
		t.Fatal(err)
	}

	browsertest.SaveScreenshot(t, ctx, "dashboard.png")

	// A phone-sized window: the page must not scroll sideways as a whole.
	if err := chromedp.Do(wctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitJS(ctx, "no sideways scrolling at 390px",
		`window.innerWidth === 390 && document.documentElement.scrollWidth <= window.innerWidth`); err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, ctx, "dashboard-narrow.png")
}

// TestDashboardTokenAndNoViews opens the page first without the token,
// which the API refuses, then with it against an agent that is not a
// demo: the views section stays hidden and no error shows.
func TestDashboardTokenAndNoViews(t *testing.T) {
	ctx := browsertest.New(t)
	f := newFakeAPI(testToken, false, fourMembers()[:2]...)
	base := serve(t, f)

	if err := browsertest.Open(ctx, base+"/"); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitJS(ctx, "an unauthorized error",
		`!document.getElementById("error").hidden && document.getElementById("error").textContent.includes("unauthorized")`); err != nil {
		t.Fatal(err)
	}

	if err := browsertest.Open(ctx, base+"/?token="+url.QueryEscape(testToken)); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitRows(ctx, 2); err != nil {
		t.Fatal(err)
	}
	// The page asks /v1/views once, takes the 404 as "not a demo", and
	// says so on the section it keeps hidden.
	if err := browsertest.WaitJS(ctx, "views off, hidden and no error",
		`document.getElementById("views-section").dataset.views === "off" &&
		 document.getElementById("views-section").hidden &&
		 document.getElementById("error").hidden`); err != nil {
		t.Fatal(err)
	}
	if n := f.viewRequests(); n != 1 {
		t.Errorf("the page asked for /v1/views %d times, want once", n)
	}
}

// TestDashboardStreamComesBack breaks the event stream so that
// EventSource gives up (an HTTP error, not a dropped connection): the page
// says so, opens a new stream later, resumes after the last event it saw
// and shows no event twice.
func TestDashboardStreamComesBack(t *testing.T) {
	ctx := browsertest.New(t)
	f := newFakeAPI("", false, fourMembers()[:3]...)
	base := serve(t, f)

	if err := browsertest.Open(ctx, base+"/"); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitRows(ctx, 3); err != nil {
		t.Fatal(err)
	}
	bravo := f.get("bravo")
	f.push(api.Event{Type: api.EventJoin, Member: &bravo})
	if err := browsertest.WaitEvent(ctx, "join", "bravo joined at 127.0.0.1:7947"); err != nil {
		t.Fatal(err)
	}

	f.breakStream()
	const stream = `document.getElementById("stream")`
	if err := browsertest.WaitJS(ctx, "the stream given up",
		stream+`.dataset.connected === "false" && `+stream+`.textContent === "disconnected"`); err != nil {
		t.Fatal(err)
	}
	f.mendStream()
	if err := browsertest.WaitJS(ctx, "the stream back", stream+`.dataset.connected === "true"`); err != nil {
		t.Fatal(err)
	}
	opened := f.streams()
	if len(opened) < 2 || opened[len(opened)-1] != "header= query=1" {
		t.Errorf("streams opened %q; want the last to resume with ?after=1", opened)
	}

	charlie := f.setState("charlie", api.StateLeft)
	f.push(api.Event{Type: api.EventLeave, Member: &charlie})
	if err := browsertest.WaitState(ctx, "charlie", "left"); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitEvent(ctx, "leave", "charlie left"); err != nil {
		t.Fatal(err)
	}
	n, err := browsertest.Text(ctx, "#events")
	if err != nil {
		t.Fatal(err)
	}
	if c := strings.Count(n, "bravo joined"); c != 1 {
		t.Errorf("the log shows bravo's join %d times, want once: %q", c, n)
	}
}

// inOrder reports whether the words appear in s in this order.
func inOrder(s string, words ...string) bool {
	at := 0
	for _, w := range words {
		i := strings.Index(s[at:], w)
		if i < 0 {
			return false
		}
		at += i + len(w)
	}
	return true
}
