package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/httpapi"
	"github.com/rumorproject/rumor/internal/httpapi/httpapitest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ httpapi.Backend = (*httpapitest.Fake)(nil)
var _ httpapi.Viewer = httpapitest.WithViews{}

// fixture is a node n1 that sees one member in every state.
func fixture() *httpapitest.Fake {
	m := func(name, state string, tags map[string]string) api.Member {
		return api.Member{Name: name, Addr: "127.0.0.1", Port: 7946, State: state, Tags: tags}
	}
	return httpapitest.New(m("n1", api.StateAlive, map[string]string{"role": "web"}), 16,
		m("n4", api.StateLeft, nil), m("n2", api.StateSuspect, map[string]string{}),
		m("n3", api.StateDead, nil), m("n5", api.StateAlive, nil))
}

// serve starts the API for b on loopback.
func serve(t *testing.T, b httpapi.Backend, opts httpapi.Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(httpapi.New(b, opts))
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status int
	header http.Header
	body   string
}

// call makes one request; hdr holds header name, value pairs.
func call(t *testing.T, srv *httptest.Server, method, path, body string, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
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
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// wantError checks an error response: the status, a JSON api.Error body
// whose message contains want.
func wantError(t *testing.T, r response, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d (body %q)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var e api.Error
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == "" {
		t.Fatalf("body %q is not an api.Error: %v", r.body, err)
	}
	if !strings.Contains(e.Error, want) {
		t.Errorf("error %q lacks %q", e.Error, want)
	}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %q", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return v
}

func names(ms []api.Member) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return strings.Join(out, ",")
}

func TestMembers(t *testing.T) {
	srv := serve(t, fixture(), httpapi.Options{})
	tests := []struct{ query, want string }{
		{"", "n1,n2,n3,n4,n5"},
		{"?state=alive", "n1,n5"},
		{"?state=suspect,dead", "n2,n3"},
		{"?state=left&state=alive", "n1,n4,n5"},
		{"?state=dead", "n3"},
	}
	for _, tt := range tests {
		ms := decode[[]api.Member](t, call(t, srv, "GET", "/v1/members"+tt.query, ""))
		if got := names(ms); got != tt.want {
			t.Errorf("%q: members %s, want %s", tt.query, got, tt.want)
		}
		for _, m := range ms {
			if m.Tags == nil {
				t.Errorf("%q: %s has null tags", tt.query, m.Name)
			}
		}
	}
	wantError(t, call(t, srv, "GET", "/v1/members?state=alive,zombie", ""), 400, `?state: unknown state "zombie"`)
	if r := call(t, srv, "GET", "/v1/members", ""); !strings.Contains(r.body, `"tags":{}`) || strings.Contains(r.body, `"tags":null`) {
		t.Errorf("tags not normalized: %s", r.body)
	}
}

func TestMemberSelfHealth(t *testing.T) {
	f := fixture()
	srv := serve(t, f, httpapi.Options{})
	if m := decode[api.Member](t, call(t, srv, "GET", "/v1/members/n2", "")); m.Name != "n2" || m.State != api.StateSuspect {
		t.Errorf("member n2 = %+v", m)
	}
	wantError(t, call(t, srv, "GET", "/v1/members/nobody", ""), 404, `no member named "nobody"`)
	f.SetMember(api.Member{Name: "a/b", State: api.StateAlive})
	if m := decode[api.Member](t, call(t, srv, "GET", "/v1/members/a%2Fb", "")); m.Name != "a/b" {
		t.Errorf("escaped name: got %+v", m)
	}
	if m := decode[api.Member](t, call(t, srv, "GET", "/v1/self", "")); m.Name != "n1" || m.Tags["role"] != "web" {
		t.Errorf("self = %+v", m)
	}

	h := decode[api.Health](t, call(t, srv, "GET", "/v1/health", ""))
	if h.Status != "ok" || h.ProbeRTT == nil {
		t.Errorf("health = %+v", h)
	}
	f.SetHealth(api.Health{Status: "degraded", Score: 3, Members: 4})
	if h := decode[api.Health](t, call(t, srv, "GET", "/v1/health", "")); h.Status != "degraded" || h.Score != 3 || h.ProbeRTT == nil {
		t.Errorf("degraded health = %+v", h)
	}
	f.SetHealth(api.Health{Status: "left"})
	if r := call(t, srv, "GET", "/v1/health", ""); r.status != 503 || !strings.Contains(r.body, `"status":"left"`) {
		t.Errorf("health of a node that left: %d %s", r.status, r.body)
	}
}

func TestViews(t *testing.T) {
	wantError(t, call(t, serve(t, fixture(), httpapi.Options{}), "GET", "/v1/views", ""), 404, "no views")
	v := httpapitest.WithViews{Fake: fixture(), V: []api.View{{Node: "n1", HTTP: "127.0.0.1:1", Members: []api.Member{{Name: "n1"}}}}}
	views := decode[[]api.View](t, call(t, serve(t, v, httpapi.Options{}), "GET", "/v1/views", ""))
	if len(views) != 1 || views[0].Node != "n1" || len(views[0].Members) != 1 || views[0].Members[0].Tags == nil {
		t.Errorf("views = %+v", views)
	}
}

func TestBroadcast(t *testing.T) {
	f := fixture()
	srv := serve(t, f, httpapi.Options{})
	json := []string{"Content-Type", "application/json"}
	for _, body := range []string{`{"text":"hello"}`, `{"payload":"aGVsbG8="}`} {
		if r := call(t, srv, "POST", "/v1/broadcast", body, json...); r.status != 204 || r.body != "" {
			t.Errorf("%s: %d %q", body, r.status, r.body)
		}
	}
	// curl -d hello: a form content type, taken as the raw payload.
	if r := call(t, srv, "POST", "/v1/broadcast", `{"text":"raw"}`, "Content-Type", "application/x-www-form-urlencoded"); r.status != 204 {
		t.Errorf("raw: %d %q", r.status, r.body)
	}
	got := f.Broadcasts()
	want := []string{"hello", "hello", `{"text":"raw"}`}
	if len(got) != len(want) {
		t.Fatalf("broadcasts %q, want %q", got, want)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("broadcast %d = %q, want %q", i, got[i], want[i])
		}
	}

	wantError(t, call(t, srv, "POST", "/v1/broadcast", `{}`, json...), 400, "empty payload")
	wantError(t, call(t, srv, "POST", "/v1/broadcast", ``), 400, "empty payload")
	wantError(t, call(t, srv, "POST", "/v1/broadcast", `{"text":"a","payload":"YQ=="}`, json...), 400, "not both")
	wantError(t, call(t, srv, "POST", "/v1/broadcast", `{"text":"a","node":"n2"}`, json...), 400, "/v1/send")
	wantError(t, call(t, srv, "POST", "/v1/broadcast", `{"txt":"a"}`, json...), 400, `unknown field "txt"`)
	wantError(t, call(t, srv, "POST", "/v1/broadcast", `{"text":`, json...), 400, "unexpected end")
	wantError(t, call(t, srv, "POST", "/v1/broadcast", `{"text":"a"} {}`, json...), 400, "after the JSON value")
	wantError(t, call(t, srv, "POST", "/v1/broadcast", `{"payload":"%%%"}`, json...), 400, "base64")
	wantError(t, call(t, srv, "POST", "/v1/broadcast", `{"text":5}`, json...), 400, `field "text"`)

	big := strings.Repeat("x", httpapi.MaxPayloadBytes+1)
	wantError(t, call(t, srv, "POST", "/v1/broadcast", big), 413, "larger than 65536")
	wantError(t, call(t, srv, "POST", "/v1/broadcast", `{"text":"`+big+`"}`, json...), 413, "65537 bytes")
	huge := `{"text":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`
	wantError(t, call(t, srv, "POST", "/v1/broadcast", huge, json...), 413, "larger than 1048576")
	if r := call(t, srv, "POST", "/v1/broadcast", strings.Repeat("y", httpapi.MaxPayloadBytes)); r.status != 204 {
		t.Errorf("a payload of exactly the limit: %d %s", r.status, r.body)
	}
}

func TestSend(t *testing.T) {
	f := fixture()
	srv := serve(t, f, httpapi.Options{})
	json := []string{"Content-Type", "application/json; charset=utf-8"}
	if r := call(t, srv, "POST", "/v1/send", `{"node":"n2","text":"hi"}`, json...); r.status != 204 {
		t.Errorf("send: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "POST", "/v1/send?node=n5", "raw bytes"); r.status != 204 {
		t.Errorf("raw send: %d %s", r.status, r.body)
	}
	if got := f.Sends(); len(got) != 2 || got[0].Node != "n2" || string(got[0].Payload) != "hi" || got[1].Node != "n5" || string(got[1].Payload) != "raw bytes" {
		t.Errorf("sends = %+v", got)
	}
	wantError(t, call(t, srv, "POST", "/v1/send", `{"text":"hi"}`, json...), 400, "node is required")
	wantError(t, call(t, srv, "POST", "/v1/send", `{"node":"ghost","text":"hi"}`, json...), 404, `no live member "ghost"`)

	// Backend errors: a deadline is 504, an invalid request 400, others 500.
	errs := map[string]error{
		"slow": context.DeadlineExceeded, "bad": fmt.Errorf("%w: too big", api.ErrInvalid), "boom": errors.New("disk on fire"),
	}
	f.SendFunc = func(ctx context.Context, node string, payload []byte) error { return errs[node] }
	for node, status := range map[string]int{"slow": 504, "bad": 400, "boom": 500} {
		wantError(t, call(t, srv, "POST", "/v1/send", `{"node":"`+node+`","text":"x"}`, json...), status, errs[node].Error())
	}
}

func TestJoinLeave(t *testing.T) {
	f := fixture()
	srv := serve(t, f, httpapi.Options{})
	res := decode[api.JoinResult](t, call(t, srv, "POST", "/v1/join", `{"addrs":["10.0.0.1:7946","10.0.0.2"]}`))
	if res.Contacted != 2 || res.Error != "" {
		t.Errorf("join = %+v", res)
	}
	res = decode[api.JoinResult](t, call(t, srv, "POST", "/v1/join", `{"addrs":["good:1","bad:2"]}`))
	if res.Contacted != 1 || !strings.Contains(res.Error, "bad:2") {
		t.Errorf("partial join = %+v", res)
	}
	r := call(t, srv, "POST", "/v1/join", `{"addrs":["bad:1"]}`)
	wantError(t, r, 502, "bad:1")
	if !strings.Contains(r.body, `"contacted":0`) {
		t.Errorf("failed join body %s lacks contacted", r.body)
	}
	wantError(t, call(t, srv, "POST", "/v1/join", `{"addrs":[]}`), 400, "addrs is empty")
	wantError(t, call(t, srv, "POST", "/v1/join", `{"addrs":[""]}`), 400, "empty address")
	wantError(t, call(t, srv, "POST", "/v1/join", ``), 400, "empty body")
	wantError(t, call(t, srv, "POST", "/v1/join", `["a"]`), 400, "want an object")
	if got := f.Joins(); len(got) != 3 {
		t.Errorf("joins = %q", got)
	}
	f.JoinFunc = func(ctx context.Context, addrs []string) (int, error) {
		return 0, fmt.Errorf("%w: address %q has no port", api.ErrInvalid, addrs[0])
	}
	wantError(t, call(t, srv, "POST", "/v1/join", `{"addrs":["x:y:z"]}`), 400, "has no port")

	if r := call(t, srv, "POST", "/v1/leave", ""); r.status != 204 || !f.Left() {
		t.Errorf("leave: %d %s, left %v", r.status, r.body, f.Left())
	}
}

func TestTags(t *testing.T) {
	f := fixture()
	srv := serve(t, f, httpapi.Options{})
	if r := call(t, srv, "PUT", "/v1/tags", `{"tags":{"dc":"east","role":"db"}}`); r.status != 204 {
		t.Fatalf("set tags: %d %s", r.status, r.body)
	}
	if m := f.Self(); len(m.Tags) != 2 || m.Tags["dc"] != "east" || m.Tags["role"] != "db" {
		t.Errorf("tags = %v", m.Tags)
	}
	wantError(t, call(t, srv, "PUT", "/v1/tags", `{}`), 400, "tags is required")
	wantError(t, call(t, srv, "PUT", "/v1/tags", `{"tags":{"":"x"}}`), 400, "empty")
	wantError(t, call(t, srv, "PUT", "/v1/tags", `{"tags":{"a=b":"x"}}`), 400, "holds '='")
	wantError(t, call(t, srv, "PUT", "/v1/tags", `{"tags":{"a":1}}`), 400, `want string`)
	if r := call(t, srv, "PUT", "/v1/tags", `{"tags":{}}`); r.status != 204 || len(f.Self().Tags) != 0 {
		t.Errorf("clearing tags: %d, tags %v", r.status, f.Self().Tags)
	}
}

func TestKeys(t *testing.T) {
	f := fixture()
	srv := serve(t, f, httpapi.Options{})
	k1 := base64.StdEncoding.EncodeToString(make([]byte, 16))
	k2 := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	k3 := base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff, 0xbf, 23: 1}) // base64 with '+' and '/'
	keys := func() []string { return decode[api.Keys](t, call(t, srv, "GET", "/v1/keys", "")).Keys }
	if got := keys(); got == nil || len(got) != 0 {
		t.Errorf("empty keyring = %#v, want []", got)
	}
	for _, body := range []string{`{"key":"` + k1 + `"}`, `{"key":"` + k2 + `","primary":true}`, `{"key":"` + k3 + `"}`} {
		if r := call(t, srv, "POST", "/v1/keys", body); r.status != 204 {
			t.Fatalf("install %s: %d %s", body, r.status, r.body)
		}
	}
	if got := keys(); !slices.Equal(got, []string{k2, k1, k3}) {
		t.Errorf("keys = %q, want %q", got, []string{k2, k1, k3})
	}
	wantError(t, call(t, srv, "POST", "/v1/keys", `{"key":"not base64!"}`), 400, "not valid base64")
	wantError(t, call(t, srv, "POST", "/v1/keys", `{"key":"AAECAwQFBgc="}`), 400, "key is 8 bytes")
	wantError(t, call(t, srv, "POST", "/v1/keys", `{}`), 400, "key is required")

	// Removal by query, unescaped '+' included, and by body.
	if r := call(t, srv, "DELETE", "/v1/keys?key="+k3, ""); r.status != 204 {
		t.Errorf("remove by query: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "DELETE", "/v1/keys", `{"key":"`+k1+`"}`); r.status != 204 {
		t.Errorf("remove by body: %d %s", r.status, r.body)
	}
	if got := keys(); !slices.Equal(got, []string{k2}) {
		t.Errorf("keys after removals = %q", got)
	}
	wantError(t, call(t, srv, "DELETE", "/v1/keys", `{"key":"`+k2+`"}`), 400, "primary")
	wantError(t, call(t, srv, "DELETE", "/v1/keys?key="+k1, ""), 404, "not installed")
}

func TestRouting(t *testing.T) {
	srv := serve(t, fixture(), httpapi.Options{})
	r := call(t, srv, "DELETE", "/v1/members", "")
	wantError(t, r, 405, "not allowed")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("Allow %q", allow)
	}
	r = call(t, srv, "GET", "/v1/broadcast", "")
	wantError(t, r, 405, "not allowed")
	if allow := r.header.Get("Allow"); allow != "POST" {
		t.Errorf("Allow %q, want POST", allow)
	}
	r = call(t, srv, "PATCH", "/v1/keys", "")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "DELETE") || !strings.Contains(allow, "POST") {
		t.Errorf("Allow %q", allow)
	}
	wantError(t, call(t, srv, "GET", "/v1/nothing", ""), 404, "no such endpoint")
	wantError(t, call(t, srv, "GET", "/", ""), 404, "no such endpoint")
	wantError(t, call(t, srv, "GET", "/metrics", ""), 404, "no such endpoint")
}

func TestAuth(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "rumor_members 5\n") })
	dash := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "dashboard "+r.URL.Path) })
	srv := serve(t, fixture(), httpapi.Options{Token: "s3cret", Metrics: metrics, Dashboard: dash})
	bearer := []string{"Authorization", "Bearer s3cret"}

	for _, path := range []string{"/v1/members", "/v1/self", "/v1/keys", "/v1/members/n1", "/v1/events", "/metrics", "/v1/nothing"} {
		for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "Basic czNjcmV0"}, {"Authorization", "Bearer s3cret2"}} {
			r := call(t, srv, "GET", path, "", hdr...)
			wantError(t, r, 401, "token")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: no WWW-Authenticate", path)
			}
		}
	}
	wantError(t, call(t, srv, "POST", "/v1/leave", ""), 401, "token")
	wantError(t, call(t, srv, "GET", "/v1/self?token=wrong", ""), 401, "token")

	if r := call(t, srv, "GET", "/v1/self", "", bearer...); r.status != 200 {
		t.Errorf("with the token: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "GET", "/v1/self", "", "Authorization", "bearer  s3cret"); r.status != 200 {
		t.Errorf("scheme is case-insensitive: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "GET", "/v1/self?token=s3cret", ""); r.status != 200 {
		t.Errorf("with ?token=: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "GET", "/v1/health", ""); r.status != 200 {
		t.Errorf("health needs no token: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "GET", "/metrics", "", bearer...); r.status != 200 || r.body != "rumor_members 5\n" {
		t.Errorf("metrics: %d %q", r.status, r.body)
	}
	for _, path := range []string{"/", "/assets/app.js"} {
		if r := call(t, srv, "GET", path, ""); r.status != 200 || r.body != "dashboard "+path {
			t.Errorf("dashboard %s: %d %q", path, r.status, r.body)
		}
	}
	r := call(t, srv, "POST", "/", "x")
	wantError(t, r, 405, "not allowed")
	if r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("Allow %q", r.header.Get("Allow"))
	}
	wantError(t, call(t, srv, "GET", "/v1/nothing", "", bearer...), 404, "no such endpoint")
}

func TestRequestLog(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := serve(t, fixture(), httpapi.Options{Token: "s3cret", Logger: log})
	call(t, srv, "GET", "/v1/members/n2?token=s3cret", "")
	call(t, srv, "GET", "/v1/nothing?token=s3cret", "")
	mu.Lock()
	got := buf.String()
	mu.Unlock()
	for _, want := range []string{
		"level=DEBUG msg=\"http request\" method=GET path=/v1/members/n2 status=200",
		"path=/v1/nothing status=404",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "s3cret") {
		t.Errorf("the log shows the token:\n%s", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
