package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/client"
	"github.com/rumorproject/rumor/internal/httpapi"
	"github.com/rumorproject/rumor/internal/tags"
)

// This file holds the client commands of the agent's HTTP API: members,
// join, leave, broadcast and send here; events, tags and keys in
// client_*.go.

// clientFlags say where the agent's API is; every client command has them.
type clientFlags struct {
	HTTPAddr  string `name:"http-addr" env:"RUMOR_HTTP_ADDR" default:"127.0.0.1:7947" placeholder:"HOST:PORT" help:"The agent's HTTP API: host:port or a URL (default: ${default})."`
	HTTPToken string `name:"http-token" env:"RUMOR_HTTP_TOKEN" placeholder:"TOKEN" help:"The agent's API token, if it requires one (--http-token on the agent)."`
}

// clientTimeout bounds a one-shot command, so that a wedged agent does not
// hang a script; joining many slow seeds fits in it.
const clientTimeout = time.Minute

// agentClient returns a client of the agent the flags name; a malformed
// address is a usage error.
func (f *clientFlags) agentClient() (*client.Client, error) {
	c := client.New(f.HTTPAddr, f.HTTPToken)
	if err := c.Err(); err != nil {
		return nil, usagef("--http-addr: %v", err)
	}
	return c, nil
}

// clientContext ends on Ctrl-C or SIGTERM, and after timeout if it is
// positive.
func clientContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if timeout <= 0 {
		return ctx, stop
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	return tctx, func() { cancel(); stop() }
}

// agentError words a failed call for the one line main prints.
func agentError(err error) error {
	var ce *client.ConnError
	var ae *client.APIError
	switch {
	case errors.As(err, &ce):
		return fmt.Errorf("cannot reach the agent at %s (is it running?): %w", ce.Addr, ce.Err)
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		return fmt.Errorf("%w; give the agent's token with --http-token or RUMOR_HTTP_TOKEN", err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the agent did not answer within %v: %w", clientTimeout, err)
	case errors.Is(err, context.Canceled):
		return errors.New("interrupted")
	}
	return err
}

// membersCmd lists an agent's member table, as `serf members` does.
type membersCmd struct {
	clientFlags
	JSON  bool     `help:"Print one JSON array of members."`
	State []string `placeholder:"STATE" sep:"," help:"Only members in this state: alive, suspect, dead or left; repeatable or comma-separated."`
}

func (c *membersCmd) Run(e *env) error {
	for _, s := range c.State {
		if !slices.Contains(api.States, s) {
			return usagef("--state %q: want one of %s", s, strings.Join(api.States, ", "))
		}
	}
	cl, err := c.agentClient()
	if err != nil {
		return err
	}
	ctx, cancel := clientContext(clientTimeout)
	defer cancel()
	ms, err := cl.Members(ctx, c.State...)
	if err != nil {
		return agentError(err)
	}
	if c.JSON {
		return printJSONLine(e.stdout, ms)
	}
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tSTATE\tTAGS")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", quoteCell(m.Name, " "), memberAddr(m), m.State, memberTags(m))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// tabwriter pads an empty last cell; trailing blanks help no one.
	w := &errWriter{w: e.stdout}
	for line := range strings.Lines(table.String()) {
		w.printf("%s\n", strings.TrimRight(line, " \n"))
	}
	return w.err
}

// joinCmd tells an agent to join seeds.
type joinCmd struct {
	clientFlags
	Addrs []string `arg:"" name:"addr" placeholder:"ADDR" help:"Seed to join: host:port, host, or name/host:port; several may be separated with commas."`
}

func (c *joinCmd) Run(e *env) error {
	var addrs []string
	for _, a := range c.Addrs {
		for _, s := range strings.Split(a, ",") {
			if s = strings.TrimSpace(s); s != "" {
				addrs = append(addrs, s)
			}
		}
	}
	if len(addrs) == 0 {
		return usagef("no seed address given")
	}
	cl, err := c.agentClient()
	if err != nil {
		return err
	}
	ctx, cancel := clientContext(clientTimeout)
	defer cancel()
	res, err := cl.Join(ctx, addrs)
	if err != nil {
		return agentError(err)
	}
	if res.Error != "" {
		// Joined all the same: a warning, not a failure.
		fmt.Fprintf(e.stderr, "rumor: join: warning: %s\n", res.Error)
	}
	_, err = fmt.Fprintf(e.stdout, "joined: %d of %d seeds answered\n", res.Contacted, len(addrs))
	return err
}

// leaveCmd tells an agent to leave the cluster gracefully.
type leaveCmd struct {
	clientFlags
}

func (c *leaveCmd) Run(e *env) error {
	cl, err := c.agentClient()
	if err != nil {
		return err
	}
	ctx, cancel := clientContext(clientTimeout)
	defer cancel()
	if err := cl.Leave(ctx); err != nil {
		return agentError(err)
	}
	_, err = fmt.Fprintln(e.stdout, "left the cluster")
	return err
}

// broadcastCmd sends a message to every member.
type broadcastCmd struct {
	clientFlags
	Message string `arg:"" placeholder:"MESSAGE" help:"The message; - reads it from standard input."`
}

func (c *broadcastCmd) Run(e *env) error {
	return c.sendMessage(e, c.Message, func(ctx context.Context, cl *client.Client, payload []byte) error {
		return cl.Broadcast(ctx, payload)
	})
}

// sendCmd sends a message to one member, reliably.
type sendCmd struct {
	clientFlags
	Node    string `arg:"" placeholder:"NODE" help:"The member to send to, by name."`
	Message string `arg:"" placeholder:"MESSAGE" help:"The message; - reads it from standard input."`
}

func (c *sendCmd) Run(e *env) error {
	return c.sendMessage(e, c.Message, func(ctx context.Context, cl *client.Client, payload []byte) error {
		return cl.Send(ctx, c.Node, payload)
	})
}

// sendMessage reads the message argument and hands it to send.
func (f *clientFlags) sendMessage(e *env, message string, send func(context.Context, *client.Client, []byte) error) error {
	payload, err := messagePayload(message, e.stdin)
	if err != nil {
		return err
	}
	cl, err := f.agentClient()
	if err != nil {
		return err
	}
	ctx, cancel := clientContext(clientTimeout)
	defer cancel()
	return agentError(send(ctx, cl, payload))
}

// messagePayload is the message argument's bytes, or standard input's
// for "-", within the API's limit.
func messagePayload(msg string, stdin io.Reader) ([]byte, error) {
	payload := []byte(msg)
	if msg == "-" {
		var err error
		if payload, err = io.ReadAll(io.LimitReader(stdin, httpapi.MaxPayloadBytes+1)); err != nil {
			return nil, fmt.Errorf("reading the message from standard input: %w", err)
		}
	}
	switch {
	case len(payload) == 0:
		return nil, usagef("the message is empty")
	case len(payload) > httpapi.MaxPayloadBytes:
		return nil, usagef("the message is longer than %d bytes", httpapi.MaxPayloadBytes)
	}
	return payload, nil
}

// printJSONLine writes v as one line of JSON.
func printJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func memberAddr(m api.Member) string {
	return net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port)))
}

// maxMetaCell bounds how much metadata that is not tags a table shows.
const maxMetaCell = 32

// memberTags shows a member's tags as k=v sorted by key, as `serf
// members` does, or its metadata quoted (and cut short) when that is not
// tags (a plain memberlist node's, say).
func memberTags(m api.Member) string {
	if len(m.Meta) > 0 && !tags.IsTags(m.Meta) {
		if len(m.Meta) > maxMetaCell {
			return strconv.Quote(string(m.Meta[:maxMetaCell])) + "..."
		}
		return strconv.Quote(string(m.Meta))
	}
	kv := make([]string, 0, len(m.Tags))
	for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
		v := m.Tags[k]
		if v != "" {
			v = quoteCell(v, ", ")
		}
		kv = append(kv, quoteCell(k, ",= ")+"="+v)
	}
	return strings.Join(kv, ",")
}

// quoteCell quotes s when it would be ambiguous in a line of output:
// empty, or holding a quote, a non-printing character, or one of special.
func quoteCell(s, special string) string {
	if s == "" || strings.ContainsAny(s, special+`"`) || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}
