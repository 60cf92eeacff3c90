package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/httpapi"
	"github.com/rumorproject/rumor/internal/httpapi/httpapitest"
)

// startFakeAgent serves the HTTP API of a fake agent n1 on loopback and
// returns it with the --http-addr flag to reach it.
func startFakeAgent(t *testing.T, opts httpapi.Options) (*httpapitest.Fake, string) {
	t.Helper()
	f := httpapitest.New(api.Member{Name: "n1", Addr: "127.0.0.1", Port: 7946, State: api.StateAlive, Tags: map[string]string{"role": "web", "dc": "east"}}, 64,
		api.Member{Name: "n2", Addr: "127.0.0.1", Port: 7948, State: api.StateSuspect, Tags: map[string]string{}},
		api.Member{Name: "memberlist node", Addr: "::1", Port: 7949, State: api.StateDead, Meta: []byte("raw meta")})
	srv := httptest.NewServer(httpapi.New(f, opts))
	t.Cleanup(srv.Close)
	return f, "--http-addr=" + srv.URL
}

func wantOK(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestClientMembers(t *testing.T) {
	_, addr := startFakeAgent(t, httpapi.Options{})
	code, out, errOut := runCmd(t, "", "members", addr)
	wantOK(t, code, out, errOut)
	want := `NAME               ADDRESS         STATE    TAGS
"memberlist node"  [::1]:7949      dead     "raw meta"
n1                 127.0.0.1:7946  alive    dc=east,role=web
n2                 127.0.0.1:7948  suspect
`
	if out != want {
		t.Errorf("table:\n%s\nwant:\n%s", out, want)
	}

	code, out, errOut = runCmd(t, "", "members", addr, "--json", "--state", "alive,suspect")
	wantOK(t, code, out, errOut)
	var ms []api.Member
	if err := json.Unmarshal([]byte(out), &ms); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if len(ms) != 2 || ms[0].Name != "n1" || ms[1].Name != "n2" {
		t.Errorf("members %+v", ms)
	}
}

func TestClientUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for _, args := range [][]string{{"members"}, {"events"}, {"tags", "set", "a=b"}, {"keys"}, {"leave"}} {
		code, out, errOut := runCmd(t, "", append(args, "--http-addr", addr)...)
		want := "rumor: " + strings.Join(args[:min(len(args), 2)], " ") + ": cannot reach the agent at " + addr + " (is it running?): "
		if args[0] == "keys" {
			want = "rumor: keys list: cannot reach the agent at " + addr
		}
		if code != exitFail || out != "" || !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want one line starting %q", args, code, out, errOut, want)
		}
	}
}

func TestClientToken(t *testing.T) {
	_, addr := startFakeAgent(t, httpapi.Options{Token: "s3cret"})
	code, _, errOut := runCmd(t, "", "members", addr)
	if code != exitFail || !strings.Contains(errOut, "(HTTP 401)") || !strings.Contains(errOut, "--http-token") {
		t.Errorf("without the token: exit %d, stderr %q", code, errOut)
	}
	code, out, errOut := runCmd(t, "", "members", addr, "--http-token", "s3cret")
	wantOK(t, code, out, errOut)
	t.Setenv("RUMOR_HTTP_TOKEN", "s3cret")
	code, out, errOut = runCmd(t, "", "members", addr)
	wantOK(t, code, out, errOut)
}

func TestClientEnvAddr(t *testing.T) {
	_, addr := startFakeAgent(t, httpapi.Options{})
	t.Setenv("RUMOR_HTTP_ADDR", strings.TrimPrefix(addr, "--http-addr=http://"))
	code, out, errOut := runCmd(t, "", "members")
	wantOK(t, code, out, errOut)
	if !strings.Contains(out, "n1 ") {
		t.Errorf("stdout %q", out)
	}
}

func TestClientJoinLeave(t *testing.T) {
	f, addr := startFakeAgent(t, httpapi.Options{})
	code, out, errOut := runCmd(t, "", "join", addr, "10.0.0.1:7946", "10.0.0.2,10.0.0.3")
	wantOK(t, code, out, errOut)
	if out != "joined: 3 of 3 seeds answered\n" || !slices.Equal(f.Joins()[0], []string{"10.0.0.1:7946", "10.0.0.2", "10.0.0.3"}) {
		t.Errorf("stdout %q, joins %q", out, f.Joins())
	}
	code, out, errOut = runCmd(t, "", "join", addr, "good:1", "bad:2")
	if code != exitOK || out != "joined: 1 of 2 seeds answered\n" || !strings.HasPrefix(errOut, "rumor: join: warning: ") || !strings.Contains(errOut, "bad:2") {
		t.Errorf("partial join: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "", "join", addr, "bad:1")
	if code != exitFail || out != "" || !strings.HasPrefix(errOut, "rumor: join: ") || !strings.Contains(errOut, "bad:1") || !strings.Contains(errOut, "HTTP 502") {
		t.Errorf("failed join: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "", "leave", addr)
	wantOK(t, code, out, errOut)
	if out != "left the cluster\n" || !f.Left() {
		t.Errorf("leave: stdout %q, left %v", out, f.Left())
	}
}

func TestClientBroadcastSend(t *testing.T) {
	f, addr := startFakeAgent(t, httpapi.Options{})
	code, out, errOut := runCmd(t, "", "broadcast", addr, "hello all")
	wantOK(t, code, out, errOut)
	code, out, errOut = runCmd(t, "from\x00stdin", "broadcast", addr, "-")
	wantOK(t, code, out, errOut)
	if got := f.Broadcasts(); len(got) != 2 || string(got[0]) != "hello all" || string(got[1]) != "from\x00stdin" {
		t.Errorf("broadcasts %q", got)
	}
	code, out, errOut = runCmd(t, "", "send", addr, "n2", "hi n2")
	wantOK(t, code, out, errOut)
	if got := f.Sends(); len(got) != 1 || got[0].Node != "n2" || string(got[0].Payload) != "hi n2" {
		t.Errorf("sends %+v", got)
	}
	code, _, errOut = runCmd(t, "", "send", addr, "ghost", "boo")
	if code != exitFail || !strings.HasPrefix(errOut, "rumor: send: ") || !strings.Contains(errOut, `"ghost"`) || !strings.Contains(errOut, "HTTP 404") {
		t.Errorf("send to an unknown member: exit %d, stderr %q", code, errOut)
	}
}

func TestClientTags(t *testing.T) {
	f, addr := startFakeAgent(t, httpapi.Options{})
	code, out, errOut := runCmd(t, "", "tags", addr)
	wantOK(t, code, out, errOut)
	if out != "dc=east\nrole=web\n" {
		t.Errorf("tags: %q", out)
	}
	code, out, errOut = runCmd(t, "", "tags", "set", "role=db", "zone=", addr)
	wantOK(t, code, out, errOut)
	if got := f.Self().Tags; len(got) != 3 || got["role"] != "db" || got["zone"] != "" || got["dc"] != "east" {
		t.Errorf("after set: %v", got)
	}
	code, out, errOut = runCmd(t, "", "tags", addr, "delete", "dc", "nope")
	wantOK(t, code, out, errOut)
	if got := f.Self().Tags; len(got) != 2 || got["dc"] != "" {
		t.Errorf("after delete: %v", got)
	}
	code, _, errOut = runCmd(t, "", "tags", "set", "a,b=c", addr)
	if code != exitFail || !strings.Contains(errOut, "HTTP 400") {
		t.Errorf("refused tag: exit %d, stderr %q", code, errOut)
	}
}

func TestClientKeys(t *testing.T) {
	f, addr := startFakeAgent(t, httpapi.Options{})
	k1 := base64.StdEncoding.EncodeToString(make([]byte, 16))
	k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	for _, args := range [][]string{{"keys", "install", k1}, {"keys", "use", k2}, {"keys", "install", k2}} {
		code, out, errOut := runCmd(t, "", append(args, addr)...)
		wantOK(t, code, out, errOut)
	}
	if got := f.Keys(); !slices.Equal(got, []string{k2, k1}) {
		t.Errorf("keys %q", got)
	}
	code, out, errOut := runCmd(t, "", "keys", "list", addr)
	wantOK(t, code, out, errOut)
	if out != k2+"\n"+k1+"\n" {
		t.Errorf("keys list: %q", out)
	}
	code, out, errOut = runCmd(t, "", "keys", "remove", k1, addr)
	wantOK(t, code, out, errOut)
	code, _, errOut = runCmd(t, "", "keys", "remove", k2, addr)
	if code != exitFail || !strings.Contains(errOut, "primary") {
		t.Errorf("removing the primary key: exit %d, stderr %q", code, errOut)
	}
}

func TestClientUsageErrors(t *testing.T) {
	wantUsageErrors(t, []usageCase{
		{"bad state", []string{"members", "--state", "alive,zombie"}, `--state "zombie"`},
		{"bad type", []string{"events", "--types", "jion"}, `--types "jion"`},
		{"negative count", []string{"events", "--count=-1"}, "--count -1"},
		{"no seeds", []string{"join", ","}, "no seed address"},
		{"empty message", []string{"broadcast", ""}, "the message is empty"},
		{"empty stdin", []string{"send", "n2", "-"}, "the message is empty"},
		{"bad tag", []string{"tags", "set", "novalue"}, `tag "novalue": want KEY=VALUE`},
		{"bad key", []string{"keys", "install", "not*base64"}, "not valid base64"},
		{"short key", []string{"keys", "use", "AAECAwQFBgc="}, "key is 8 bytes"},
		{"bad address", []string{"members", "--http-addr", "ftp://x"}, "--http-addr"},
		{"missing node", []string{"send", "n2"}, "expected"},
	})
}

// syncBuffer is a bytes.Buffer for a command running in a goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestClientEvents(t *testing.T) {
	f, addr := startFakeAgent(t, httpapi.Options{})
	at := time.Date(2026, 11, 26, 15, 4, 5, 0, time.UTC)
	n2 := &api.Member{Name: "n2", Addr: "127.0.0.1", Port: 7946, State: api.StateAlive, Tags: map[string]string{"role": "db"}}
	f.Emit(api.Event{Type: api.EventJoin, Time: at, Member: n2})
	f.Emit(api.Event{Type: api.EventSuspect, Time: at, Member: n2, From: "n1"})
	f.Emit(api.Event{Type: api.EventUpdate, Time: at, Member: n2})
	f.Emit(api.Event{Type: api.EventBroadcast, Time: at, From: "n2", Payload: []byte("hi\n"), Text: "hi\n"})
	f.Emit(api.Event{Type: api.EventMessage, Time: at, Payload: []byte{0xff, 0}})

	code, out, errOut := runCmd(t, "", "events", addr, "--count", "5")
	wantOK(t, code, out, errOut)
	want := `2026-11-26T15:04:05Z join n2 127.0.0.1:7946
2026-11-26T15:04:05Z suspect n2 127.0.0.1:7946 by n1
2026-11-26T15:04:05Z update n2 127.0.0.1:7946 role=db
2026-11-26T15:04:05Z broadcast n2 "hi\n"
2026-11-26T15:04:05Z message - base64:/wA=
`
	if out != want {
		t.Errorf("events:\n%s\nwant:\n%s", out, want)
	}

	code, out, errOut = runCmd(t, "", "events", addr, "--json", "--types", "update,message", "--count", "2")
	wantOK(t, code, out, errOut)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var evs []api.Event
	for _, l := range lines {
		var ev api.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		evs = append(evs, ev)
	}
	if len(evs) != 2 || evs[0].ID != 3 || evs[1].ID != 5 || evs[1].Type != api.EventMessage {
		t.Errorf("--json events %+v", evs)
	}

	// Following: the command waits for an event emitted after it started.
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	waits := f.Waits()
	go func() {
		done <- run([]string{"events", addr, "--after", "5", "--count", "1"}, strings.NewReader(""), &stdout, &stderr)
	}()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for deadline := time.After(5 * time.Second); f.Waits() == waits; {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the events command never opened the stream")
		}
	}
	f.Emit(api.Event{Type: api.EventLeave, Time: at, Member: n2})
	select {
	case code := <-done:
		if code != exitOK || stdout.String() != "2026-11-26T15:04:05Z leave n2 127.0.0.1:7946\n" || stderr.String() != "" {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the events command did not print the new event within 5 s")
	}
}
