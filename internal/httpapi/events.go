package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/rumorproject/rumor/internal/api"
)

// events answers GET /v1/events with a Server-Sent Events stream: the
// retained events after the client's last one, then new ones as they come,
// until the client goes away.
func (s *server) events(w http.ResponseWriter, r *http.Request) error {
	after, resumed, err := eventsAfter(r)
	if err != nil {
		return err
	}
	types, err := listParam(r, "types", "event type", api.EventTypes)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	// A server-wide WriteTimeout would cut every stream at that age.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil || r.Method == http.MethodHead {
		return nil // a writer that cannot stream, or no body wanted
	}

	ctx := r.Context()
	heartbeat := time.NewTicker(s.heartbeat)
	defer heartbeat.Stop()
	var buf bytes.Buffer
	lostReported, lostAfter := false, uint64(0)
	for ctx.Err() == nil {
		evs, lost, wake := s.b.EventsSince(after, eventBatch)
		buf.Reset()
		// A client that did not ask to resume cannot have missed
		// anything; one that did hears of a gap once per position.
		if lost && resumed && (!lostReported || lostAfter != after) {
			lostReported, lostAfter = true, after
			data, _ := json.Marshal(api.Lost{After: after})
			fmt.Fprintf(&buf, "event: %s\ndata: %s\n\n", api.EventLost, data)
		}
		for _, ev := range evs {
			after = ev.ID
			if len(types) > 0 && !slices.Contains(types, ev.Type) {
				continue
			}
			if err := writeEvent(&buf, ev); err != nil {
				// Cannot happen with api.Event; the headers are out, so
				// all there is left to do is say so in the log.
				s.log.Warn("event stream: skipping an event", "error", err)
			}
		}
		resumed = true // from here on, a gap is news to this client
		if buf.Len() > 0 {
			if !s.flush(w, rc, buf.Bytes()) {
				return nil
			}
			heartbeat.Reset(s.heartbeat)
		}
		if len(evs) > 0 {
			continue // more may be waiting: a backend may cut batches short (by bytes, say)
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-heartbeat.C:
			if !s.flush(w, rc, []byte(": ping\n\n")) {
				return nil
			}
		}
	}
	return nil
}

// flush writes p and pushes it to the client; false means the client is
// gone.
func (s *server) flush(w http.ResponseWriter, rc *http.ResponseController, p []byte) bool {
	if _, err := w.Write(p); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// writeEvent frames one event. JSON never holds a raw newline, so one
// data line carries it whole.
func writeEvent(buf *bytes.Buffer, ev api.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding event %d: %w", ev.ID, err)
	}
	fmt.Fprintf(buf, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, data)
	return nil
}

// eventsAfter returns the ID the client saw last: the Last-Event-ID header
// that EventSource sends when it reconnects wins over ?after= from the
// original URL. resumed says whether the client gave either.
func eventsAfter(r *http.Request) (after uint64, resumed bool, err error) {
	v, name := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if v == "" {
		if !r.URL.Query().Has("after") {
			return 0, false, nil
		}
		v, name = r.URL.Query().Get("after"), "after"
	}
	after, err = strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, errorf(http.StatusBadRequest, "%s %q is not an event ID", name, v)
	}
	return after, true, nil
}
