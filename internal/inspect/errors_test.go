package inspect_test

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/inspect"
	"github.com/rumorproject/rumor/internal/wire"
)

// fakeNode accepts TCP connections on loopback and runs serve on each,
// until the test ends.
func fakeNode(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				// Bound the fake's life: the test ends, or 10 s pass.
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				stop := context.AfterFunc(ctx, func() { c.Close() })
				defer stop()
				serve(c)
			})
		}
	})
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// readRequest reads the inspector's request as a node would.
func readRequest(c net.Conn) (*wire.PushPull, error) {
	st, err := wire.ReadStream(c, wire.DecodeOptions{})
	if err != nil {
		return nil, err
	}
	pp, ok := st.Message.(*wire.PushPull)
	if !ok {
		return nil, errors.New("not a push-pull")
	}
	return pp, nil
}

func TestInspectFailures(t *testing.T) {
	// A port nobody listens on: bind one, then free it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	silent := fakeNode(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	hangUp := fakeNode(t, func(c net.Conn) { _, _ = readRequest(c) })
	http := fakeNode(t, func(c net.Conn) {
		_, _ = readRequest(c)
		_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	})
	ack := fakeNode(t, func(c net.Conn) {
		_, _ = readRequest(c)
		b, _ := wire.AppendStream(nil, &wire.Ack{SeqNo: 7}, wire.EncodeOptions{})
		_, _ = c.Write(b)
	})
	cut := fakeNode(t, func(c net.Conn) {
		_, _ = readRequest(c)
		b, _ := wire.AppendStream(nil, &wire.PushPull{Nodes: []wire.PushNodeState{{Name: "x", Addr: []byte{127, 0, 0, 1}}}},
			wire.EncodeOptions{})
		_, _ = c.Write(b[:len(b)-3])
	})
	refusal := fakeNode(t, func(c net.Conn) {
		_, _ = readRequest(c)
		b, _ := wire.AppendStream(nil, &wire.ErrResp{Error: "remote state is encrypted and encryption is not configured"},
			wire.EncodeOptions{})
		_, _ = c.Write(b)
	})

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		addr    string
		timeout time.Duration
		is      error
		text    string
	}{
		{"refused", nil, refused, 0, syscall.ECONNREFUSED, "connect to " + refused + ": connection refused"},
		{"no reply", nil, silent, 200 * time.Millisecond, inspect.ErrTimeout, "no reply in time (200ms)"},
		{"closed", nil, hangUp, 0, inspect.ErrClosed, "without replying"},
		{"not memberlist", nil, http, 0, inspect.ErrUnexpectedReply, "not a push-pull"},
		{"ack", nil, ack, 0, inspect.ErrUnexpectedReply, "got a ack message"},
		{"cut short", nil, cut, 0, wire.ErrTruncated, "cut short"},
		{"refusal", nil, refusal, 0, nil, `refused the request: "remote state is encrypted`},
		{"cancelled", cancelled, silent, 0, context.Canceled, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			res, err := inspect.Inspect(ctx, tt.addr, inspect.Options{Timeout: cmp.Or(tt.timeout, 5*time.Second)})
			if err == nil || res != nil {
				t.Fatalf("Inspect = %+v, %v; want an error", res, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Inspect: %v; want one wrapping %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.text) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Inspect: %q; want one line with %q", err, tt.text)
			}
		})
	}
}

// TestRequestIsEmpty: what a node receives is one push-pull that lists no
// member, carries no user state and is no join, behind the label header
// and encrypted with the primary key.
func TestRequestIsEmpty(t *testing.T) {
	keyring, err := wire.NewKeyring(testKey)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *wire.Stream, 1)
	addr := fakeNode(t, func(c net.Conn) {
		st, err := wire.ReadStream(c, wire.DecodeOptions{Label: testLabel, Keyring: keyring})
		if err != nil {
			t.Errorf("node reads the request: %v", err)
			return
		}
		got <- st
		b, _ := wire.AppendStream(nil, &wire.PushPull{UserState: []byte("abc")},
			wire.EncodeOptions{Label: testLabel, Keyring: keyring, Compress: true})
		_, _ = c.Write(b)
	})
	res, err := inspect.Inspect(context.Background(), addr,
		inspect.Options{Keys: [][]byte{testKey, otherKey}, Label: testLabel, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Members) != 0 || res.Members == nil || res.UserStateLen != 3 || !res.Encrypted || !res.Compressed {
		t.Errorf("result %+v", res)
	}
	st := <-got
	pp, ok := st.Message.(*wire.PushPull)
	if !ok || st.Label != testLabel || !st.Encrypted || st.KeyIndex != 0 {
		t.Fatalf("request %+v", st)
	}
	if pp.Join || len(pp.Nodes) != 0 || len(pp.UserState) != 0 {
		t.Errorf("request push-pull %+v, want no join, no nodes, no state", pp)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []inspect.Options{
		{Keys: [][]byte{[]byte("short")}},
		{Label: strings.Repeat("x", 256)},
		{Timeout: -time.Second},
	} {
		// Nothing is dialed: the address is never reached.
		if _, err := inspect.Inspect(context.Background(), "127.0.0.1:1", o); err == nil || errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("Inspect with %+v: %v; want an options error", o, err)
		}
	}
}

// TestCallerDeadline: the caller's deadline, when sooner than Timeout,
// bounds the inspection and is the time the error names.
func TestCallerDeadline(t *testing.T) {
	silent := fakeNode(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := inspect.Inspect(ctx, silent, inspect.Options{Timeout: time.Minute})
	if took := time.Since(start); !errors.Is(err, inspect.ErrTimeout) || took > 10*time.Second {
		t.Fatalf("Inspect after %v: %v; want ErrTimeout after about 300ms", took, err)
	}
	if strings.Contains(err.Error(), "1m0s") {
		t.Errorf("Inspect: %v; names the minute the caller's deadline cut short", err)
	}
}
