package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/client"
	"github.com/rumorproject/rumor/internal/httpapi"
)

var errStop = errors.New("stop")

// collect returns a callback that records events and stops after n.
func collect(n int, got *[]api.Event) func(api.Event) error {
	return func(ev api.Event) error {
		*got = append(*got, ev)
		if len(*got) == n {
			return errStop
		}
		return nil
	}
}

func ids(evs []api.Event) []uint64 {
	var out []uint64
	for _, ev := range evs {
		out = append(out, ev.ID)
	}
	return out
}

// poll reports whether cond came to hold within 5 s, checking it every
// millisecond.
func poll(cond func() bool) bool {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			return false
		}
	}
	return true
}

func TestEventsReplayAndFollow(t *testing.T) {
	f := fixture()
	c, _ := serve(t, f, httpapi.Options{}, "")
	ctx := testContext(t)
	f.Emit(api.Event{Type: api.EventJoin, Member: &api.Member{Name: "n2"}})
	f.Emit(api.Event{Type: api.EventBroadcast, From: "n2", Payload: []byte("hi"), Text: "hi"})
	waits := f.Waits()
	go func() {
		// Emitted once the stream waits for news, so it is followed,
		// not replayed.
		if !poll(func() bool { return f.Waits() > waits }) {
			t.Error("the stream never waited for news")
		}
		f.Emit(api.Event{Type: api.EventLeave, Member: &api.Member{Name: "n2"}})
	}()
	var got []api.Event
	if err := c.Events(ctx, 0, collect(3, &got)); err != errStop {
		t.Fatalf("Events returned %v, want the callback's error", err)
	}
	if !slices.Equal(ids(got), []uint64{1, 2, 3}) {
		t.Fatalf("ids %v", ids(got))
	}
	if got[0].Member.Name != "n2" || got[1].Text != "hi" || string(got[1].Payload) != "hi" || got[2].Type != api.EventLeave {
		t.Errorf("events %+v", got)
	}

	// Resuming and filtering.
	got = nil
	if err := c.Events(ctx, 1, collect(1, &got), api.EventLeave); err != errStop || !slices.Equal(ids(got), []uint64{3}) {
		t.Errorf("Events(after 1, leave) = %v, ids %v", err, ids(got))
	}
}

func TestEventsCancel(t *testing.T) {
	c, _ := serve(t, fixture(), httpapi.Options{}, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Events(ctx, 0, func(api.Event) error { return nil }) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Events returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Events still runs 5 s after its context ended")
	}
}

func TestEventsLost(t *testing.T) {
	f := fixture() // retains 16
	c, _ := serve(t, f, httpapi.Options{}, "")
	for range 20 {
		f.Emit(api.Event{Type: api.EventUpdate})
	}
	var got []api.Event
	if err := c.Events(testContext(t), 2, collect(2, &got)); err != errStop {
		t.Fatal(err)
	}
	if got[0].Type != api.EventLost || got[0].ID != 2 || got[1].ID != 5 {
		t.Errorf("events %+v", got)
	}
}

func TestEventsAuth(t *testing.T) {
	_, srv := serve(t, fixture(), httpapi.Options{Token: "t"}, "t")
	err := client.New(srv.URL, "wrong").Events(testContext(t), 0, func(api.Event) error { return nil })
	wantAPIError(t, err, 401, "token")
}

// recorder wraps the API and records the Last-Event-ID of every stream.
type recorder struct {
	h    http.Handler
	mu   sync.Mutex
	seen []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/v1/events" {
		r.mu.Lock()
		r.seen = append(r.seen, req.Header.Get("Last-Event-ID"))
		r.mu.Unlock()
	}
	r.h.ServeHTTP(w, req)
}

func (r *recorder) lastEventIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

func TestEventsReconnect(t *testing.T) {
	f := fixture()
	rec := &recorder{h: httpapi.New(f, httpapi.Options{})}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c := client.New(srv.URL, "")
	c.MinBackoff, c.MaxBackoff = time.Millisecond, 10*time.Millisecond
	f.Emit(api.Event{Type: api.EventJoin})
	f.Emit(api.Event{Type: api.EventJoin})
	var got []api.Event
	err := c.Events(testContext(t), 0, func(ev api.Event) error {
		got = append(got, ev)
		switch len(got) {
		case 2:
			// Drop the connection, then emit what the next one must
			// bring.
			srv.CloseClientConnections()
			f.Emit(api.Event{Type: api.EventLeave})
			f.Emit(api.Event{Type: api.EventLeave})
		case 4:
			return errStop
		}
		return nil
	})
	if err != errStop {
		t.Fatalf("Events returned %v", err)
	}
	if !slices.Equal(ids(got), []uint64{1, 2, 3, 4}) {
		t.Errorf("ids %v", ids(got))
	}
	if seen := rec.lastEventIDs(); len(seen) < 2 || seen[0] != "" || seen[len(seen)-1] != "2" {
		t.Errorf("Last-Event-ID of the streams %q, want \"\" then 2", seen)
	}
}

// TestEventsRetry checks that a stream whose agent goes away keeps
// trying, with backoff, until its context ends.
func TestEventsRetry(t *testing.T) {
	f := fixture()
	srv := httptest.NewServer(httpapi.New(f, httpapi.Options{}))
	defer srv.Close()
	var dials atomic.Int32
	d := &net.Dialer{}
	c := client.New(srv.URL, "")
	c.HTTP = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return d.DialContext(ctx, network, addr)
	}}}
	c.MinBackoff, c.MaxBackoff = time.Millisecond, 4*time.Millisecond
	f.Emit(api.Event{Type: api.EventJoin})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- c.Events(ctx, 0, func(ev api.Event) error {
			srv.Listener.Close() // the agent is gone
			srv.CloseClientConnections()
			return nil
		})
	}()
	if !poll(func() bool { return dials.Load() >= 4 }) {
		t.Error("fewer than three reconnection attempts")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Events returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Events still runs 5 s after its context ended")
	}
}

// TestEventsIdle checks that a stream silent for longer than EventsIdle
// (here the heartbeat is far longer) is reopened where it left off.
func TestEventsIdle(t *testing.T) {
	f := fixture()
	rec := &recorder{h: httpapi.New(f, httpapi.Options{Heartbeat: time.Hour})}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c := client.New(srv.URL, "")
	c.EventsIdle, c.MinBackoff = 20*time.Millisecond, time.Millisecond
	f.Emit(api.Event{Type: api.EventJoin})
	ctx := testContext(t)
	go func() {
		if !poll(func() bool { return len(rec.lastEventIDs()) >= 2 }) {
			t.Error("no second stream")
		}
		f.Emit(api.Event{Type: api.EventLeave})
	}()
	var got []api.Event
	if err := c.Events(ctx, 0, collect(2, &got)); err != errStop {
		t.Fatal(err)
	}
	if seen := rec.lastEventIDs(); len(seen) < 2 || seen[1] != "1" {
		t.Errorf("Last-Event-ID of the streams %q", seen)
	}
	if !slices.Equal(ids(got), []uint64{1, 2}) {
		t.Errorf("ids %v", ids(got))
	}
}

// TestEventsLineTooLong: an event too long to hold ends Events with an
// error at once, rather than reconnecting to fetch it again forever.
func TestEventsLineTooLong(t *testing.T) {
	var connects atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		connects.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("id: 1\nevent: message\ndata: {\"text\":\""))
		w.Write(make([]byte, 2<<20))
		w.Write([]byte("\"}\n\n"))
	}))
	defer srv.Close()
	c := client.New(srv.URL, "")
	c.MinBackoff, c.MaxBackoff = time.Millisecond, time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Events(ctx, 0, func(api.Event) error { return nil })
	if err == nil || errors.Is(err, context.DeadlineExceeded) || connects.Load() != 1 {
		t.Fatalf("Events on an over-long event: %v after %d connections; want an error after one", err, connects.Load())
	}
}
