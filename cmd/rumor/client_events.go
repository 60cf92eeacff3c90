package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rumorproject/rumor/internal/api"
)

// eventsCmd follows an agent's event stream until Ctrl-C, as `serf
// monitor` does: the events the agent still retains first, then new ones.
type eventsCmd struct {
	clientFlags
	JSON  bool     `help:"Print each event as one JSON object per line."`
	Types []string `placeholder:"TYPE" sep:"," help:"Only events of these types (join, leave, dead, update, suspect, alive, refute, broadcast, message); repeatable or comma-separated."`
	After uint64   `placeholder:"ID" help:"Start after this event ID (a previous run's last), instead of with every event the agent retains."`
	Count int      `placeholder:"N" help:"Exit after N events instead of following until interrupted."`
}

// errEnough stops the stream once --count events are printed.
var errEnough = errors.New("enough events")

func (c *eventsCmd) Run(e *env) error {
	for _, t := range c.Types {
		if !slices.Contains(api.EventTypes, t) {
			return usagef("--types %q: want one of %s", t, strings.Join(api.EventTypes, ", "))
		}
	}
	if c.Count < 0 {
		return usagef("--count %d: want a positive number", c.Count)
	}
	cl, err := c.agentClient()
	if err != nil {
		return err
	}
	ctx, cancel := clientContext(0) // follows until interrupted
	defer cancel()
	printed := 0
	err = cl.Events(ctx, c.After, func(ev api.Event) error {
		var err error
		if c.JSON {
			err = printJSONLine(e.stdout, ev)
		} else {
			_, err = io.WriteString(e.stdout, eventLine(ev)+"\n")
		}
		if err != nil {
			return fmt.Errorf("writing event %d: %w", ev.ID, err)
		}
		if printed++; c.Count > 0 && printed >= c.Count {
			return errEnough
		}
		return nil
	}, c.Types...)
	if errors.Is(err, errEnough) || (errors.Is(err, context.Canceled) && ctx.Err() != nil) {
		return nil // --count reached, or Ctrl-C: the way out of following
	}
	return agentError(err)
}

// eventLine is the text form of an event: the time, the type, who, then
// details, for example
//
//	2026-11-26T15:04:05Z join n2 127.0.0.1:7946
//	2026-11-26T15:04:05Z suspect n3 127.0.0.1:7948 by n1
//	2026-11-26T15:04:05Z broadcast n2 "hello"
func eventLine(ev api.Event) string {
	var b strings.Builder
	b.WriteString(ev.Time.UTC().Format(time.RFC3339))
	b.WriteString(" " + ev.Type)
	switch {
	case ev.Type == api.EventLost:
		fmt.Fprintf(&b, " events after %d: the agent no longer had them", ev.ID)
	case ev.Member != nil:
		b.WriteString(" " + quoteCell(ev.Member.Name, " ") + " " + memberAddr(*ev.Member))
		if ev.Type == api.EventUpdate {
			if tags := memberTags(*ev.Member); tags != "" {
				b.WriteString(" " + tags)
			}
		}
		if ev.From != "" {
			b.WriteString(" by " + quoteCell(ev.From, " "))
		}
	default: // a broadcast or a message
		from := "-" // not known: a plain memberlist node sent it
		if ev.From != "" {
			from = quoteCell(ev.From, " ")
		}
		b.WriteString(" " + from + " " + payloadCell(ev))
	}
	return b.String()
}

// payloadCell shows a payload as quoted text, or as base64 when it is not
// text.
func payloadCell(ev api.Event) string {
	switch {
	case ev.Text != "":
		return strconv.Quote(ev.Text)
	case utf8.Valid(ev.Payload):
		return strconv.Quote(string(ev.Payload))
	default:
		return "base64:" + base64.StdEncoding.EncodeToString(ev.Payload)
	}
}
