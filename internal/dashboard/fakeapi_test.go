package dashboard_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/dashboard"
)

// fakeAPI is an agent's HTTP API held in memory: just enough of
// docs/http-api.md for the page, with the real JSON shapes of package api.
type fakeAPI struct {
	token string // required on /v1/ when set
	views bool   // serve /v1/views, as `rumor demo` does

	mu       sync.Mutex
	self     string
	members  map[string]api.Member
	health   api.Health
	override map[string]map[string]string // node → member → state it sees instead
	events   []api.Event
	wake     chan struct{} // closed and replaced when an event is pushed
	viewHits int
	down     bool          // /v1/events answers 503
	kick     chan struct{} // closed to end the streams now open
	resumes  []string      // per stream opened: "header=ID query=ID"

	sent chan api.Send // bodies of POST /v1/broadcast
	done chan struct{} // closed to end the event streams before the server closes
}

func newFakeAPI(token string, views bool, members ...api.Member) *fakeAPI {
	f := &fakeAPI{
		token:    token,
		views:    views,
		members:  map[string]api.Member{},
		override: map[string]map[string]string{},
		wake:     make(chan struct{}),
		kick:     make(chan struct{}),
		sent:     make(chan api.Send, 4),
		done:     make(chan struct{}),
	}
	for _, m := range members {
		f.members[m.Name] = m
	}
	f.self = members[0].Name
	f.health = api.Health{Status: "ok", Members: len(members), ProbeRTT: map[string]float64{}}
	for i, m := range members[1:] {
		f.health.ProbeRTT[m.Name] = 0.4 + float64(i)*1.7
	}
	return f
}

// member builds an alive member with tags.
func member(name string, port uint16, tags map[string]string) api.Member {
	if tags == nil {
		tags = map[string]string{}
	}
	return api.Member{
		Name: name, Addr: "127.0.0.1", Port: port, State: api.StateAlive,
		Incarnation: 1, Tags: tags,
		Protocol: api.Protocol{Min: 1, Max: 5, Cur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 5},
	}
}

// setState changes a member's state, as every node sees it except those
// given in override.
func (f *fakeAPI) setState(name, state string) api.Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.members[name]
	m.State = state
	f.members[name] = m
	return m
}

func (f *fakeAPI) get(name string) api.Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.members[name]
}

// seeAs makes node's view show member in state.
func (f *fakeAPI) seeAs(node, member, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.override[node] == nil {
		f.override[node] = map[string]string{}
	}
	f.override[node][member] = state
}

func (f *fakeAPI) setScore(score int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.health.Score = score
	f.health.Status = "ok"
	if score > 0 {
		f.health.Status = "degraded"
	}
}

// push appends an event, numbered in order, and wakes the streams.
func (f *fakeAPI) push(ev api.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev.ID = uint64(len(f.events) + 1)
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	f.events = append(f.events, ev)
	close(f.wake)
	f.wake = make(chan struct{})
}

// breakStream ends the open event streams and refuses new ones with 503,
// which makes EventSource give up; mendStream takes them back.
func (f *fakeAPI) breakStream() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	close(f.kick)
	f.kick = make(chan struct{})
}

func (f *fakeAPI) mendStream() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = false
}

// streams returns how each event stream asked to resume, oldest first.
func (f *fakeAPI) streams() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.resumes)
}

func (f *fakeAPI) viewRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.viewHits
}

func (f *fakeAPI) close() { close(f.done) }

// handler serves the dashboard at / and the fake API under /v1/.
func (f *fakeAPI) handler() http.Handler {
	v1 := http.NewServeMux()
	v1.HandleFunc("GET /v1/self", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, f.members[f.self])
	})
	v1.HandleFunc("GET /v1/members", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, f.sortedMembers(nil))
	})
	v1.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, f.health)
	})
	v1.HandleFunc("GET /v1/views", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.viewHits++
		if !f.views {
			writeStatus(w, http.StatusNotFound, api.Error{Error: "not a demo"})
			return
		}
		var views []api.View
		for _, node := range f.sortedMembers(nil) {
			views = append(views, api.View{
				Node:    node.Name,
				HTTP:    fmt.Sprintf("127.0.0.1:%d", 8000+int(node.Port)%1000),
				Members: f.sortedMembers(f.override[node.Name]),
			})
		}
		writeJSON(w, views)
	})
	v1.HandleFunc("POST /v1/broadcast", func(w http.ResponseWriter, r *http.Request) {
		var s api.Send
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&s); err != nil {
			writeStatus(w, http.StatusBadRequest, api.Error{Error: err.Error()})
			return
		}
		select {
		case f.sent <- s:
		default: // the test reads at most a few
		}
		w.WriteHeader(http.StatusNoContent)
	})
	v1.HandleFunc("GET /v1/events", f.serveEvents)

	mux := http.NewServeMux()
	mux.Handle("/", dashboard.Handler())
	mux.Handle("/v1/", f.auth(v1))
	return mux
}

// sortedMembers lists the members by name, with states replaced per
// override. Call with f.mu held.
func (f *fakeAPI) sortedMembers(override map[string]string) []api.Member {
	out := make([]api.Member, 0, len(f.members))
	for _, m := range f.members {
		if s, ok := override[m.Name]; ok {
			m.State = s
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b api.Member) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// auth wants the token as a bearer header or, for EventSource, a query.
func (f *fakeAPI) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token && r.URL.Query().Get("token") != f.token {
			writeStatus(w, http.StatusUnauthorized, api.Error{Error: "missing or wrong token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serveEvents streams the events after Last-Event-ID, then each new one,
// until the client goes or the fake closes.
func (f *fakeAPI) serveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "no flusher", http.StatusInternalServerError)
		return
	}
	f.mu.Lock()
	down, kick := f.down, f.kick
	if !down {
		f.resumes = append(f.resumes, fmt.Sprintf("header=%s query=%s", r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")))
	}
	f.mu.Unlock()
	if down {
		writeStatus(w, http.StatusServiceUnavailable, api.Error{Error: "stream down"})
		return
	}
	// As the real server does: the header when EventSource resumes, else
	// ?after= from a page that opens a new stream.
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("after")
	}
	after, _ := strconv.ParseUint(last, 10, 64)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	// A short retry, so that a test does not wait EventSource's default 3 s.
	fmt.Fprint(w, "retry: 200\n\n")
	flusher.Flush()
	for {
		f.mu.Lock()
		var evs []api.Event
		for _, ev := range f.events {
			if ev.ID > after {
				evs = append(evs, ev)
			}
		}
		wake := f.wake
		f.mu.Unlock()
		for _, ev := range evs {
			b, err := json.Marshal(ev)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, b); err != nil {
				return
			}
			after = ev.ID
		}
		flusher.Flush()
		select {
		case <-wake:
		case <-kick:
			return
		case <-r.Context().Done():
			return
		case <-f.done:
			return
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) { writeStatus(w, http.StatusOK, v) }

func writeStatus(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client going away is no error here
}
