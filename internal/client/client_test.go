package client_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/client"
	"github.com/rumorproject/rumor/internal/httpapi"
	"github.com/rumorproject/rumor/internal/httpapi/httpapitest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func fixture() *httpapitest.Fake {
	return httpapitest.New(api.Member{Name: "n1", Addr: "127.0.0.1", Port: 7946, State: api.StateAlive, Tags: map[string]string{"role": "web"}}, 16,
		api.Member{Name: "n3", State: api.StateDead}, api.Member{Name: "n2", State: api.StateAlive})
}

// serve starts the API for f on loopback and returns a client of it.
func serve(t *testing.T, f *httpapitest.Fake, opts httpapi.Options, token string) (*client.Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(httpapi.New(f, opts))
	t.Cleanup(srv.Close)
	return client.New(srv.Listener.Addr().String(), token), srv
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantAPIError(t *testing.T, err error, status int, msg string) {
	t.Helper()
	var ae *client.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T), want an *APIError", err, err)
	}
	if ae.Status != status || !strings.Contains(ae.Message, msg) {
		t.Errorf("APIError %d %q, want %d with %q", ae.Status, ae.Message, status, msg)
	}
}

func TestCalls(t *testing.T) {
	f := fixture()
	c, _ := serve(t, f, httpapi.Options{}, "")
	ctx := testContext(t)

	ms, err := c.Members(ctx)
	if err != nil || len(ms) != 3 || ms[0].Name != "n1" || ms[2].Name != "n3" {
		t.Errorf("Members = %+v, %v", ms, err)
	}
	ms, err = c.Members(ctx, api.StateDead, api.StateLeft)
	if err != nil || len(ms) != 1 || ms[0].Name != "n3" {
		t.Errorf("Members(dead, left) = %+v, %v", ms, err)
	}
	if m, err := c.Member(ctx, "n2"); err != nil || m.Name != "n2" {
		t.Errorf("Member = %+v, %v", m, err)
	}
	if m, err := c.Self(ctx); err != nil || m.Name != "n1" || m.Tags["role"] != "web" {
		t.Errorf("Self = %+v, %v", m, err)
	}
	if h, err := c.Health(ctx); err != nil || h.Status != "ok" {
		t.Errorf("Health = %+v, %v", h, err)
	}
	if err := c.Broadcast(ctx, []byte{0, 1, 0xff}); err != nil || len(f.Broadcasts()) != 1 || string(f.Broadcasts()[0]) != "\x00\x01\xff" {
		t.Errorf("Broadcast: %v, recorded %q", err, f.Broadcasts())
	}
	if err := c.Send(ctx, "n2", []byte("hi")); err != nil || len(f.Sends()) != 1 || f.Sends()[0].Node != "n2" {
		t.Errorf("Send: %v, recorded %+v", err, f.Sends())
	}
	if res, err := c.Join(ctx, []string{"a:1", "bad:2"}); err != nil || res.Contacted != 1 || !strings.Contains(res.Error, "bad:2") {
		t.Errorf("Join = %+v, %v", res, err)
	}
	if err := c.SetTags(ctx, map[string]string{"dc": "x"}); err != nil || f.Self().Tags["dc"] != "x" || len(f.Self().Tags) != 1 {
		t.Errorf("SetTags: %v, tags %v", err, f.Self().Tags)
	}
	if err := c.SetTags(ctx, nil); err != nil || len(f.Self().Tags) != 0 {
		t.Errorf("SetTags(nil): %v, tags %v", err, f.Self().Tags)
	}
	k1, k2 := base64.StdEncoding.EncodeToString(make([]byte, 16)), base64.StdEncoding.EncodeToString(make([]byte, 32))
	if err := c.InstallKey(ctx, k1, false); err != nil {
		t.Fatal(err)
	}
	if err := c.InstallKey(ctx, k2, true); err != nil {
		t.Fatal(err)
	}
	if keys, err := c.Keys(ctx); err != nil || !slices.Equal(keys, []string{k2, k1}) {
		t.Errorf("Keys = %q, %v", keys, err)
	}
	if err := c.RemoveKey(ctx, k1); err != nil {
		t.Fatal(err)
	}
	if keys, err := c.Keys(ctx); err != nil || !slices.Equal(keys, []string{k2}) {
		t.Errorf("Keys after RemoveKey = %q, %v", keys, err)
	}
	if err := c.Leave(ctx); err != nil || !f.Left() {
		t.Errorf("Leave: %v, left %v", err, f.Left())
	}
	_, err = c.Views(ctx)
	wantAPIError(t, err, 404, "no views")
}

func TestErrors(t *testing.T) {
	f := fixture()
	c, srv := serve(t, f, httpapi.Options{Token: "tok"}, "tok")
	ctx := testContext(t)

	_, err := c.Member(ctx, "nobody")
	wantAPIError(t, err, 404, `no member named "nobody"`)
	if !errors.Is(err, api.ErrNotFound) || errors.Is(err, api.ErrInvalid) {
		t.Errorf("%v: errors.Is does not map 404 to api.ErrNotFound", err)
	}
	err = c.Send(ctx, "ghost", []byte("x"))
	wantAPIError(t, err, 404, "ghost")
	err = c.InstallKey(ctx, "AAAA", false)
	wantAPIError(t, err, 400, "key is 3 bytes")
	if !errors.Is(err, api.ErrInvalid) {
		t.Errorf("%v is not api.ErrInvalid", err)
	}
	res, err := c.Join(ctx, []string{"bad:1"})
	wantAPIError(t, err, 502, "bad:1")
	if res.Contacted != 0 || !strings.Contains(res.Error, "bad:1") {
		t.Errorf("failed Join result %+v", res)
	}
	if msg := err.Error(); !strings.Contains(msg, "(HTTP 502)") {
		t.Errorf("message %q lacks the status", msg)
	}

	// A wrong token, or none.
	for _, tok := range []string{"", "nope"} {
		_, err = client.New(srv.URL, tok).Self(ctx)
		wantAPIError(t, err, 401, "token")
	}
	// Health needs no token and answers 503 for a node that left.
	f.SetHealth(api.Health{Status: "left"})
	h, err := client.New(srv.URL, "").Health(ctx)
	wantAPIError(t, err, 503, "the agent is left")
	if h.Status != "left" {
		t.Errorf("health %+v", h)
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestUnreachable(t *testing.T) {
	addr := closedAddr(t)
	ctx := testContext(t)
	_, err := client.New(addr, "").Members(ctx)
	var ce *client.ConnError
	if !errors.As(err, &ce) || ce.Addr != addr {
		t.Fatalf("error %v (%T), want a *ConnError for %s", err, err, addr)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "cannot reach the agent at "+addr+": ") || strings.Contains(msg, "http://") {
		t.Errorf("message %q", msg)
	}
	// Events does not retry a first connection that fails.
	err = client.New(addr, "").Events(ctx, 0, func(api.Event) error { return nil })
	if !errors.As(err, &ce) {
		t.Errorf("Events: error %v (%T), want a *ConnError", err, err)
	}
	// A canceled call is the context's error, not the agent's fault.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := client.New(addr, "").Self(canceled); !errors.Is(err, context.Canceled) || errors.As(err, &ce) {
		t.Errorf("canceled call: %v (%T)", err, err)
	}
}

func TestAddresses(t *testing.T) {
	f := fixture()
	// An agent behind a proxy under a path prefix.
	srv := httptest.NewServer(http.StripPrefix("/rumor", httpapi.New(f, httpapi.Options{})))
	defer srv.Close()
	ctx := testContext(t)
	for _, addr := range []string{srv.URL + "/rumor", srv.URL + "/rumor/"} {
		c := client.New(addr, "")
		if m, err := c.Self(ctx); err != nil || m.Name != "n1" {
			t.Errorf("%s: Self = %+v, %v", addr, m, err)
		}
		if c.Addr() != srv.Listener.Addr().String() {
			t.Errorf("Addr() = %q", c.Addr())
		}
	}
	for _, addr := range []string{"ftp://127.0.0.1:1", "http://", "127.0.0.1:bad port"} {
		if _, err := client.New(addr, "").Self(ctx); err == nil || !strings.Contains(err.Error(), "agent address") {
			t.Errorf("%q: error %v", addr, err)
		}
	}
	// Names are escaped in paths.
	f.SetMember(api.Member{Name: "a/b c?", State: api.StateAlive})
	if m, err := client.New(srv.URL+"/rumor", "").Member(ctx, "a/b c?"); err != nil || m.Name != "a/b c?" {
		t.Errorf("Member(a/b c?) = %+v, %v", m, err)
	}
}

// A proxy's error page is not an api.Error: the message is the status.
func TestNonAPIError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>Bad Gateway</html>\n<p>nginx</p>", http.StatusBadGateway)
	}))
	defer srv.Close()
	_, err := client.New(srv.URL, "").Self(testContext(t))
	wantAPIError(t, err, 502, "Bad Gateway")
	if strings.Contains(err.Error(), "nginx") {
		t.Errorf("message %q holds the page", err)
	}
}
