package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rumorproject/rumor/internal/api"
)

// Defaults of the event stream's tuning fields.
const (
	defaultEventsIdle = 45 * time.Second // three missed heartbeats
	defaultMinBackoff = 100 * time.Millisecond
	defaultMaxBackoff = 5 * time.Second
	// maxEventLine bounds one line of the stream: a 64 KiB payload, in
	// base64 and again as escaped text, fits with room to spare.
	maxEventLine = 1 << 20
)

// Events follows the agent's event stream, calling fn with every event
// whose ID is above after (and of one of types, if any are given), in
// order, until ctx ends or fn returns an error; it returns ctx's error or
// fn's.
//
// When the agent no longer retains some of the events asked for, fn gets
// an event of Type api.EventLost whose ID is the last one before the gap.
//
// A failure to connect the first time, or an answer other than the stream
// (a bad token, say), is returned at once. A connection that drops later,
// or stays silent longer than EventsIdle, is reopened where it left off,
// after a pause that doubles from MinBackoff to MaxBackoff.
func (c *Client) Events(ctx context.Context, after uint64, fn func(api.Event) error, types ...string) error {
	minB, maxB := orDefault(c.MinBackoff, defaultMinBackoff), orDefault(c.MaxBackoff, defaultMaxBackoff)
	backoff := minB
	s := &eventStream{c: c, after: after, resume: after > 0, fn: fn, types: types}
	for connected := false; ; {
		ok, err := s.run(ctx)
		var fe *fnError
		switch {
		case errors.As(err, &fe):
			return fe.err
		case ctx.Err() != nil:
			return ctx.Err()
		case !ok && !connected:
			return err // nothing to resume: say why at once
		case isPermanent(err):
			return err
		}
		connected = connected || ok
		if s.heard {
			backoff = minB // a connection that worked resets the pause
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, maxB)
	}
}

// isPermanent reports whether reconnecting cannot help: the agent refused
// the request itself.
func isPermanent(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 || errors.Is(err, errLineTooLong)
}

// errLineTooLong: an event this client cannot hold. Reconnecting would only
// fetch it again.
var errLineTooLong = fmt.Errorf("an event line longer than %d bytes", maxEventLine)

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// fnError carries the callback's error out of the stream unchanged.
type fnError struct{ err error }

func (e *fnError) Error() string { return e.err.Error() }

// eventStream is Events' state across connections.
type eventStream struct {
	c      *Client
	after  uint64 // the last ID seen
	resume bool   // send Last-Event-ID: after, so the agent reports gaps
	fn     func(api.Event) error
	types  []string
	heard  bool // the last connection delivered something
}

// run reads one connection until it ends; ok says whether it was opened.
func (s *eventStream) run(ctx context.Context) (ok bool, err error) {
	s.heard = false
	idle := orDefault(s.c.EventsIdle, defaultEventsIdle)
	connCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A silent connection (a dead peer behind a NAT, say) is cut so that
	// the loop reconnects; every line read pushes the deadline back.
	watchdog := time.AfterFunc(idle, cancel)
	defer watchdog.Stop()

	q := url.Values{}
	if len(s.types) > 0 {
		q.Set("types", strings.Join(s.types, ","))
	}
	hdr := http.Header{"Accept": {"text/event-stream"}}
	if s.resume {
		hdr.Set("Last-Event-ID", strconv.FormatUint(s.after, 10))
	}
	resp, err := s.c.send(connCtx, "GET", "/v1/events", q, nil, hdr)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	s.resume = true // from now on a gap is news

	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var typ, id string
	var data strings.Builder
	for {
		line, err := readLine(br)
		if err != nil {
			if connCtx.Err() != nil && ctx.Err() == nil {
				err = fmt.Errorf("no event or heartbeat for %v", idle)
			}
			return true, &ConnError{Addr: s.c.host, Err: fmt.Errorf("event stream: %w", err)}
		}
		watchdog.Reset(idle)
		s.heard = true
		if line != "" {
			name, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch name {
			case "": // a comment: the heartbeat
			case "event":
				typ = value
			case "id":
				id = value
			case "data":
				if data.Len() > 0 {
					data.WriteByte('\n')
				}
				data.WriteString(value)
			}
			continue
		}
		// A blank line dispatches the event gathered so far.
		if data.Len() > 0 {
			if err := s.dispatch(typ, id, data.String()); err != nil {
				return true, err
			}
		}
		typ, id = "", ""
		data.Reset()
	}
}

// dispatch hands one event to fn and moves the resume point past it.
func (s *eventStream) dispatch(typ, id, data string) error {
	var ev api.Event
	if typ == api.EventLost {
		var l api.Lost
		if err := json.Unmarshal([]byte(data), &l); err != nil {
			return &ConnError{Addr: s.c.host, Err: fmt.Errorf("event stream: a bad lost event %q: %w", data, err)}
		}
		ev = api.Event{ID: l.After, Type: api.EventLost, Time: time.Now()}
	} else if err := json.Unmarshal([]byte(data), &ev); err != nil {
		return &ConnError{Addr: s.c.host, Err: fmt.Errorf("event stream: a bad event %q: %w", data, err)}
	}
	if n, err := strconv.ParseUint(id, 10, 64); err == nil {
		ev.ID = n
		s.after = n
	}
	if err := s.fn(ev); err != nil {
		return &fnError{err}
	}
	return nil
}

// readLine reads one line without its end ("\n" or "\r\n"), of at most
// maxEventLine bytes.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxEventLine {
			return "", errLineTooLong
		}
		switch {
		case err == nil:
			return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return "", io.ErrUnexpectedEOF // the agent never ends a stream on its own
		default:
			return "", err
		}
	}
}
