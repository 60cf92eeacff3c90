// Package client is a Go client for the rumor agent's HTTP API
// (docs/http-api.md), used by the rumor command's client commands.
//
// Errors the agent answers with are *APIError, carrying its status and
// message; errors.Is maps 404 to api.ErrNotFound and 400 to
// api.ErrInvalid. Failures to reach the agent at all are *ConnError.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rumorproject/rumor/internal/api"
)

// Client talks to one agent. Its methods are safe for concurrent use.
type Client struct {
	// HTTP sends the requests; New sets a client without a timeout
	// (the event stream lasts), so bound calls with their context.
	HTTP *http.Client
	// EventsIdle is how long Events waits for anything (an event or the
	// agent's heartbeat, every 15 s) before it takes the connection for
	// dead and reconnects. 0 means 45 s.
	EventsIdle time.Duration
	// MinBackoff and MaxBackoff bound Events' wait between reconnection
	// attempts, doubling from the first to the second. 0 means 100 ms
	// and 5 s.
	MinBackoff, MaxBackoff time.Duration

	base  string // scheme://host[/prefix], without a trailing slash
	host  string // host:port, for messages
	token string
	err   error // a malformed address, reported by every call
}

// New returns a client of the agent at addr: "host:port" (HTTP) or a full
// URL, "https://host:port/prefix" say. token, if not empty, is sent as a
// bearer token.
func New(addr, token string) *Client {
	c := &Client{HTTP: &http.Client{}, token: token}
	raw := addr
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		c.err = fmt.Errorf("agent address %q: %w", addr, err)
	case u.Scheme != "http" && u.Scheme != "https":
		c.err = fmt.Errorf("agent address %q: scheme %q, want http or https", addr, u.Scheme)
	case u.Host == "":
		c.err = fmt.Errorf("agent address %q: no host", addr)
	default:
		u.RawQuery, u.Fragment = "", ""
		c.base = strings.TrimSuffix(u.String(), "/")
		c.host = u.Host
	}
	return c
}

// Err reports what is wrong with the address given to New, if anything;
// every call returns it too.
func (c *Client) Err() error { return c.err }

// Addr is the agent's host:port as the client reaches it.
func (c *Client) Addr() string { return c.host }

// APIError is an error the agent answered with.
type APIError struct {
	Method, Path string // the request
	Status       int    // HTTP status code
	Message      string // the agent's api.Error message
}

func (e *APIError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

// Is lets errors.Is(err, api.ErrNotFound) and api.ErrInvalid hold on the
// client side as they did on the agent's.
func (e *APIError) Is(target error) bool {
	switch target {
	case api.ErrNotFound:
		return e.Status == http.StatusNotFound
	case api.ErrInvalid:
		return e.Status == http.StatusBadRequest
	}
	return false
}

// ConnError is a failure to exchange a request and its response with the
// agent at all: nothing listens there, a timeout, a dropped connection.
type ConnError struct {
	Addr string // host:port
	Err  error
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("cannot reach the agent at %s: %v", e.Addr, e.Err)
}
func (e *ConnError) Unwrap() error { return e.Err }

// Members lists the member table, every state unless states are given.
func (c *Client) Members(ctx context.Context, states ...string) ([]api.Member, error) {
	q := url.Values{}
	if len(states) > 0 {
		q.Set("state", strings.Join(states, ","))
	}
	var out []api.Member
	return out, c.do(ctx, "GET", "/v1/members", q, nil, &out)
}

// Member returns one member; an unknown name is an error that is
// api.ErrNotFound.
func (c *Client) Member(ctx context.Context, name string) (api.Member, error) {
	var out api.Member
	return out, c.do(ctx, "GET", "/v1/members/"+url.PathEscape(name), nil, nil, &out)
}

// Self returns the agent's own member entry.
func (c *Client) Self(ctx context.Context) (api.Member, error) {
	var out api.Member
	return out, c.do(ctx, "GET", "/v1/self", nil, nil, &out)
}

// Health returns the agent's health. An agent that is no longer a working
// member answers 503 with its health: that comes with an *APIError.
func (c *Client) Health(ctx context.Context) (api.Health, error) {
	var out api.Health
	resp, err := c.roundTrip(ctx, "GET", "/v1/health", nil, nil, nil)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return out, readAPIError("GET", "/v1/health", resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return out, fmt.Errorf("GET /v1/health: decoding the response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return out, &APIError{Method: "GET", Path: "/v1/health", Status: resp.StatusCode, Message: "the agent is " + out.Status}
	}
	return out, nil
}

// Views returns every node's view, from an agent that has them (rumor
// demo); others answer 404.
func (c *Client) Views(ctx context.Context) ([]api.View, error) {
	var out []api.View
	return out, c.do(ctx, "GET", "/v1/views", nil, nil, &out)
}

// Broadcast sends payload to every member.
func (c *Client) Broadcast(ctx context.Context, payload []byte) error {
	return c.do(ctx, "POST", "/v1/broadcast", nil, api.Send{Payload: payload}, nil)
}

// Send sends payload to one member, reliably.
func (c *Client) Send(ctx context.Context, node string, payload []byte) error {
	return c.do(ctx, "POST", "/v1/send", nil, api.Send{Node: node, Payload: payload}, nil)
}

// Join asks the agent to join the seeds at addrs. When none answered, the
// result (with the agent's explanation) comes with an *APIError (502).
func (c *Client) Join(ctx context.Context, addrs []string) (api.JoinResult, error) {
	var out api.JoinResult
	err := c.do(ctx, "POST", "/v1/join", nil, api.Join{Addrs: addrs}, &out)
	var ae *APIError
	if errors.As(err, &ae) {
		out = api.JoinResult{Error: ae.Message}
	}
	return out, err
}

// Leave asks the agent to leave the cluster gracefully.
func (c *Client) Leave(ctx context.Context) error {
	return c.do(ctx, "POST", "/v1/leave", nil, nil, nil)
}

// SetTags replaces the agent's whole tag set.
func (c *Client) SetTags(ctx context.Context, tags map[string]string) error {
	if tags == nil {
		tags = map[string]string{} // the API refuses a missing set
	}
	return c.do(ctx, "PUT", "/v1/tags", nil, api.Tags{Tags: tags}, nil)
}

// Keys lists the agent's keyring, base64, primary first.
func (c *Client) Keys(ctx context.Context) ([]string, error) {
	var out api.Keys
	err := c.do(ctx, "GET", "/v1/keys", nil, nil, &out)
	return out.Keys, err
}

// InstallKey adds a base64 key to the keyring, and makes it the primary
// key (the one that encrypts) if primary is set.
func (c *Client) InstallKey(ctx context.Context, key string, primary bool) error {
	return c.do(ctx, "POST", "/v1/keys", nil, api.Key{Key: key, Primary: primary}, nil)
}

// RemoveKey removes a base64 key from the keyring.
func (c *Client) RemoveKey(ctx context.Context, key string) error {
	return c.do(ctx, "DELETE", "/v1/keys", nil, api.Key{Key: key}, nil)
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// do sends one request with in as its JSON body (if not nil) and decodes
// a 2xx response's body into out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	resp, err := c.send(ctx, method, path, q, in, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody)) // lets the connection be reused
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s %s: %w", method, path, ctxErr)
		}
		return fmt.Errorf("%s %s: decoding the response: %w", method, path, err)
	}
	return nil
}

// send makes a request and returns the response if it is a success;
// otherwise it closes it and returns an *APIError.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, in any, hdr http.Header) (*http.Response, error) {
	resp, err := c.roundTrip(ctx, method, path, q, in, hdr)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, readAPIError(method, path, resp)
}

// roundTrip makes a request and returns the response, whatever its
// status; an error is a *ConnError or the context's.
func (c *Client) roundTrip(ctx context.Context, method, path string, q url.Values, in any, hdr http.Header) (*http.Response, error) {
	if c.err != nil {
		return nil, c.err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encoding the request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, ctxErr)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL would repeat what Addr says
		}
		return nil, &ConnError{Addr: c.host, Err: err}
	}
	return resp, nil
}

// readAPIError turns an error response into an *APIError, with the
// agent's message if the body is an api.Error (a proxy's page is not).
func readAPIError(method, path string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{Method: method, Path: path, Status: resp.StatusCode}
	var ae api.Error
	switch {
	case json.Unmarshal(b, &ae) == nil && ae.Error != "":
		e.Message = ae.Error
	default:
		e.Message = strings.TrimSpace(string(b))
		if e.Message == "" || len(e.Message) > 200 || strings.ContainsAny(e.Message, "\n<") {
			e.Message = http.StatusText(resp.StatusCode)
		}
	}
	return e
}
