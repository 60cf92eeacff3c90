package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/httpapi"
	"github.com/rumorproject/rumor/internal/httpapi/httpapitest"
)

// frame is one block of an SSE stream, up to its blank line.
type frame struct {
	id, event, data string
	comments        []string
}

// stream is an open GET /v1/events.
type stream struct {
	resp *http.Response
	br   *bufio.Reader
}

// openStream opens the event stream; hdr holds header name, value pairs.
// The request dies with ctx, which bounds every read.
func openStream(t *testing.T, ctx context.Context, srv *httptest.Server, query string, hdr ...string) *stream {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	return &stream{resp: resp, br: bufio.NewReader(resp.Body)}
}

func (s *stream) next(t *testing.T) frame {
	t.Helper()
	var f frame
	for lines := 0; lines < 100; lines++ {
		line, err := s.br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v (partial frame %+v)", err, f)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			return f
		}
		if c, ok := strings.CutPrefix(line, ":"); ok {
			f.comments = append(f.comments, strings.TrimSpace(c))
			continue
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("malformed line %q", line)
		}
		switch name {
		case "id":
			f.id = value
		case "event":
			f.event = value
		case "data":
			f.data = value
		default:
			t.Fatalf("unexpected field %q", line)
		}
	}
	t.Fatal("frame without an end")
	return f
}

// nextEvent reads a frame that must be an event and decodes it.
func (s *stream) nextEvent(t *testing.T) api.Event {
	t.Helper()
	f := s.next(t)
	var ev api.Event
	if err := json.Unmarshal([]byte(f.data), &ev); err != nil {
		t.Fatalf("frame %+v: %v", f, err)
	}
	if f.id != fmt.Sprint(ev.ID) || f.event != ev.Type {
		t.Errorf("frame id %q event %q, data says %d %q", f.id, f.event, ev.ID, ev.Type)
	}
	return ev
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestEventsFraming(t *testing.T) {
	f := fixture()
	srv := serve(t, f, httpapi.Options{})
	n2 := &api.Member{Name: "n2", Addr: "127.0.0.1", Port: 7947, State: api.StateAlive, Tags: map[string]string{}}
	at := time.Date(2026, 11, 26, 15, 4, 5, 0, time.UTC)
	sent := []api.Event{
		f.Emit(api.Event{Type: api.EventJoin, Time: at, Member: n2}),
		f.Emit(api.Event{Type: api.EventBroadcast, Time: at, From: "n2", Payload: []byte("hi\nthere"), Text: "hi\nthere"}),
	}
	s := openStream(t, testContext(t), srv, "")
	for _, want := range sent {
		got := s.nextEvent(t)
		if got.ID != want.ID || got.Type != want.Type || !got.Time.Equal(want.Time) || got.Text != want.Text || string(got.Payload) != string(want.Payload) || got.From != want.From {
			t.Errorf("event %+v, want %+v", got, want)
		}
	}
	// Followed: an event emitted now arrives on the open stream.
	live := f.Emit(api.Event{Type: api.EventLeave, Member: n2})
	if got := s.nextEvent(t); got.ID != live.ID || got.Type != api.EventLeave || got.Member == nil || got.Member.Name != "n2" {
		t.Errorf("live event %+v, want %+v", got, live)
	}
}

func TestEventsResume(t *testing.T) {
	f := fixture()
	srv := serve(t, f, httpapi.Options{})
	for range 5 {
		f.Emit(api.Event{Type: api.EventUpdate})
	}
	tests := []struct {
		name   string
		query  string
		hdr    []string
		wantID uint64
	}{
		{"Last-Event-ID", "", []string{"Last-Event-ID", "2"}, 3},
		{"after", "?after=1", nil, 2},
		{"header wins", "?after=0", []string{"Last-Event-ID", "4"}, 5},
		{"from the start", "", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if got := openStream(t, ctx, srv, tt.query, tt.hdr...).nextEvent(t); got.ID != tt.wantID {
				t.Errorf("first event %d, want %d", got.ID, tt.wantID)
			}
		})
	}
	wantError(t, call(t, srv, "GET", "/v1/events", "", "Last-Event-ID", "x1"), 400, `Last-Event-ID "x1"`)
	wantError(t, call(t, srv, "GET", "/v1/events?after=-1", ""), 400, `after "-1"`)
}

func TestEventsLost(t *testing.T) {
	f := fixture() // retains 16 events
	srv := serve(t, f, httpapi.Options{})
	for range 20 {
		f.Emit(api.Event{Type: api.EventUpdate})
	}
	ctx := testContext(t)
	s := openStream(t, ctx, srv, "", "Last-Event-ID", "2")
	lost := s.next(t)
	if lost.event != api.EventLost || lost.id != "" || lost.data != `{"after":2}` {
		t.Errorf("lost frame %+v", lost)
	}
	if ev := s.nextEvent(t); ev.ID != 5 {
		t.Errorf("first event after the gap %d, want 5", ev.ID)
	}
	// A client that did not ask to resume missed nothing.
	if ev := openStream(t, ctx, srv, "").next(t); ev.event != api.EventUpdate || ev.id != "5" {
		t.Errorf("fresh stream starts with %+v", ev)
	}
}

func TestEventsTypes(t *testing.T) {
	f := fixture()
	srv := serve(t, f, httpapi.Options{})
	for _, typ := range []string{api.EventJoin, api.EventUpdate, api.EventLeave, api.EventSuspect, api.EventJoin} {
		f.Emit(api.Event{Type: typ})
	}
	s := openStream(t, testContext(t), srv, "?types=join&types=leave")
	for _, want := range []uint64{1, 3, 5} {
		if ev := s.nextEvent(t); ev.ID != want {
			t.Errorf("event %d (%s), want %d", ev.ID, ev.Type, want)
		}
	}
	wantError(t, call(t, srv, "GET", "/v1/events?types=join,jion", ""), 400, `?types: unknown event type "jion"`)
}

func TestEventsBatches(t *testing.T) {
	f := httpapitest.New(api.Member{Name: "n1"}, 1000)
	srv := serve(t, f, httpapi.Options{})
	for range 600 { // more than one EventsSince batch
		f.Emit(api.Event{Type: api.EventUpdate})
	}
	s := openStream(t, testContext(t), srv, "?after=10")
	for want := uint64(11); want <= 600; want++ {
		if ev := s.nextEvent(t); ev.ID != want {
			t.Fatalf("event %d, want %d", ev.ID, want)
		}
	}
}

// TestEventsShortBatches: a backend that returns fewer events than asked
// (bounding batches by bytes) still has them all sent at once.
func TestEventsShortBatches(t *testing.T) {
	f := httpapitest.New(api.Member{Name: "n1"}, 100)
	f.BatchLimit = 2
	srv := serve(t, f, httpapi.Options{Heartbeat: time.Hour}) // no heartbeat to wake a stalled loop
	for range 7 {
		f.Emit(api.Event{Type: api.EventUpdate})
	}
	s := openStream(t, testContext(t), srv, "")
	for want := uint64(1); want <= 7; want++ {
		if ev := s.nextEvent(t); ev.ID != want {
			t.Fatalf("event %d, want %d", ev.ID, want)
		}
	}
}

func TestEventsHeartbeat(t *testing.T) {
	srv := serve(t, fixture(), httpapi.Options{Heartbeat: 10 * time.Millisecond})
	s := openStream(t, testContext(t), srv, "")
	if f := s.next(t); len(f.comments) != 1 || f.comments[0] != "ping" || f.event != "" {
		t.Errorf("heartbeat frame %+v", f)
	}
}

// TestEventsDisconnect checks that the handler returns once its client
// goes away, rather than waiting for events forever.
func TestEventsDisconnect(t *testing.T) {
	f := fixture()
	f.Emit(api.Event{Type: api.EventJoin})
	h := httpapi.New(f, httpapi.Options{})
	done := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		done <- struct{}{}
	}))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := openStream(t, ctx, srv, "")
	s.nextEvent(t)
	waits := f.Waits()
	select {
	case <-done:
		t.Fatal("the handler returned while its client was still there")
	default:
	}
	if waits == 0 {
		t.Fatal("the handler never asked the backend for events")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler still runs 5 s after its client went away")
	}
}
