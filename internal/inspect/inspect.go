// Package inspect reads the member table of a running memberlist or rumor
// cluster without joining it.
//
// Inspect dials one node over TCP and sends it a single push-pull request,
// as memberlist's periodic anti-entropy does, but one that lists no members
// and carries no user state, with Join unset. The node answers with its
// whole member table. Because the request names no node, the node has
// nothing to merge: memberlist v0.7.0 (net.go handleConn, readRemoteState,
// mergeRemoteState; state.go verifyProtocol and mergeState) replies before
// merging, checks versions only of the alive entries it was sent (none
// here) and of its own members, and merges nothing, and rumor's core
// (internal/swim, Node.HandleStream and mergeRemote) does the same. The
// cluster never learns of the inspector, and nothing is gossiped about it.
//
// The request is wrapped as a memberlist node would wrap it: the label
// header when a label is set, and AES-GCM with the primary key when keys are
// given (the label is then also the encryption's additional data). The
// reply is decrypted with any of the keys.
package inspect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/tags"
	"github.com/rumorproject/rumor/internal/wire"
)

// DefaultTimeout bounds an inspection when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Options says how to reach the cluster.
type Options struct {
	// Keys is the keyring: the first key (the primary) encrypts the
	// request, and any of them may decrypt the reply. None means the
	// cluster is not encrypted. Each key is 16, 24 or 32 bytes.
	Keys [][]byte
	// Label is the cluster's label, "" for none.
	Label string
	// Timeout bounds the whole exchange, from dialing to the last byte of
	// the reply; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Result is what the inspected node told.
type Result struct {
	// Members is the node's member table, sorted by name. Tags hold the
	// member's Serf-format tags, or are empty when its metadata is
	// something else.
	Members []api.Member
	// UserStateLen is the size of the application state (memberlist's
	// Delegate.LocalState) the node sent along, 0 if none.
	UserStateLen int
	// Encrypted and Compressed say how the reply came.
	Encrypted  bool
	Compressed bool
}

// Why an inspection failed, for errors.Is; the errors Inspect returns
// wrap one of these, or a *RemoteError, or say so in their text.
var (
	// ErrClosed: the node closed the connection before sending a byte.
	// memberlist does so, silently, when the label is not its own (and
	// when it is already serving 128 push-pulls).
	ErrClosed = errors.New("the node closed the connection without replying (a wrong or missing label?)")
	// ErrNeedKey: the reply is encrypted and no key was given.
	ErrNeedKey = errors.New("the reply is encrypted and no key was given (the cluster uses encryption)")
	// ErrDecrypt: none of the keys decrypts the reply.
	ErrDecrypt = errors.New("no key decrypts the reply (a wrong key, or a wrong label?)")
	// ErrUnexpectedReply: the reply is not a push-pull.
	ErrUnexpectedReply = errors.New("the reply is not a push-pull")
	// ErrTimeout: no complete reply came within the timeout.
	ErrTimeout = errors.New("no reply in time")
)

// RemoteError is the node's own refusal: memberlist and rumor answer a
// request they cannot read (one encrypted when they are not, or in the
// clear when they require encryption) with an error message.
type RemoteError struct {
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("the node refused the request: %q", e.Message)
}

// Inspect asks the node at addr (host:port of its gossip port) for its
// member table. It sends one push-pull request that lists no members, so
// the cluster does not learn of the caller; see the package documentation.
func Inspect(ctx context.Context, addr string, opts Options) (*Result, error) {
	var keyring *wire.Keyring
	if len(opts.Keys) > 0 {
		kr, err := wire.NewKeyring(opts.Keys...)
		if err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		keyring = kr
	}
	if len(opts.Label) > wire.MaxLabelLen {
		return nil, fmt.Errorf("label of %d bytes, want at most %d", len(opts.Label), wire.MaxLabelLen)
	}
	timeout := cmp.Or(opts.Timeout, DefaultTimeout)
	if timeout < 0 {
		return nil, fmt.Errorf("timeout %v is negative", timeout)
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		// The caller's deadline comes first: that is the time allowed.
		timeout = max(time.Until(dl), 0).Round(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	request, err := wire.AppendLabelHeader(nil, opts.Label)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	// Join stays false: a join would make memberlist call its Merge
	// delegate, and tell the node's application a node is joining.
	request, err = wire.AppendStream(request, &wire.PushPull{},
		wire.EncodeOptions{Label: opts.Label, Keyring: keyring, EncryptVersion: wire.EncryptVersion1})
	if err != nil {
		return nil, fmt.Errorf("encode the request: %w", err)
	}

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, dialError(ctx, addr, timeout, err)
	}
	defer conn.Close()
	// Closing the connection unblocks a read when ctx is cancelled; the
	// deadline alone covers the timeout.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}

	if _, err := conn.Write(request); err != nil {
		if cerr := ctxError(ctx, addr, timeout); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("send the request to %s: %w", addr, err)
	}
	cr := &countingReader{r: conn}
	st, err := wire.ReadStream(cr, wire.DecodeOptions{
		Label:   opts.Label,
		Keyring: keyring,
		// A node that cannot read the request answers in the clear when
		// it has no key; that answer says why, so read it.
		AllowPlaintext: true,
		StreamReply:    true,
	})
	if err != nil {
		return nil, readError(ctx, addr, timeout, cr.n, err)
	}
	switch m := st.Message.(type) {
	case *wire.PushPull:
		return result(st, m), nil
	case *wire.ErrResp:
		return nil, fmt.Errorf("%s: %w", addr, &RemoteError{Message: m.Error})
	}
	return nil, fmt.Errorf("%s: %w: got a %v message", addr, ErrUnexpectedReply, st.Message.Type())
}

func result(st *wire.Stream, pp *wire.PushPull) *Result {
	r := &Result{
		Members:      make([]api.Member, 0, len(pp.Nodes)),
		UserStateLen: len(pp.UserState),
		Encrypted:    st.Encrypted,
		Compressed:   st.Compressed,
	}
	for i := range pp.Nodes {
		r.Members = append(r.Members, Member(&pp.Nodes[i]))
	}
	slices.SortStableFunc(r.Members, func(a, b api.Member) int { return cmp.Compare(a.Name, b.Name) })
	return r
}

// Member converts a push-pull entry to the API's shape.
func Member(s *wire.PushNodeState) api.Member {
	m := api.Member{
		Name:        s.Name,
		Port:        s.Port,
		State:       s.State.String(), // "alive", "suspect", "dead", "left"
		Incarnation: s.Incarnation,
		Meta:        slices.Clone(s.Meta),
		Tags:        map[string]string{},
	}
	if len(s.Addr) > 0 {
		// memberlist sends 4 bytes for IPv4, rumor 16 (IPv4-mapped);
		// net.IP prints both the same way, and "?hex" for other lengths.
		m.Addr = net.IP(s.Addr).String()
	}
	if t, err := tags.Decode(s.Meta); err == nil && t != nil {
		m.Tags = t
	}
	if v := s.Vsn; len(v) >= 6 {
		m.Protocol = api.Protocol{Min: v[0], Max: v[1], Cur: v[2], DelegateMin: v[3], DelegateMax: v[4], DelegateCur: v[5]}
	}
	return m
}

// dialError explains why the connection could not be made.
func dialError(ctx context.Context, addr string, timeout time.Duration, err error) error {
	if cerr := ctxError(ctx, addr, timeout); cerr != nil {
		return cerr
	}
	// Keep the system's own words ("connection refused"), without the
	// "dial tcp ADDR:" prefix that repeats the address.
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("connect to %s: %w", addr, errno)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return fmt.Errorf("connect to %s: %w", addr, op.Err)
	}
	return fmt.Errorf("connect to %s: %w", addr, err)
}

// ctxError reports a cancelled or expired ctx, nil if it is neither.
func ctxError(ctx context.Context, addr string, timeout time.Duration) error {
	switch ctx.Err() {
	case nil:
		return nil
	case context.DeadlineExceeded:
		return fmt.Errorf("%s: %w (%v)", addr, ErrTimeout, timeout)
	}
	return fmt.Errorf("%s: %w", addr, context.Cause(ctx))
}

// readError explains why no push-pull could be read; got is how many bytes
// of reply arrived.
func readError(ctx context.Context, addr string, timeout time.Duration, got int, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
		if cerr := ctxError(ctx, addr, timeout); cerr != nil {
			return cerr
		}
		return fmt.Errorf("%s: %w (%v)", addr, ErrTimeout, timeout)
	}
	switch r := wire.ReasonOf(err); {
	case got == 0 && (r == wire.ErrTruncated || errors.Is(err, syscall.ECONNRESET)):
		// memberlist closes (or resets, when our bytes were unread)
		// without a word on a label mismatch.
		return fmt.Errorf("%s: %w", addr, ErrClosed)
	case r == wire.ErrNoKeyring:
		return fmt.Errorf("%s: %w", addr, ErrNeedKey)
	case r == wire.ErrNoKey:
		return fmt.Errorf("%s: %w", addr, ErrDecrypt)
	case r == wire.ErrUnknownType:
		return fmt.Errorf("%s: %w: %w", addr, ErrUnexpectedReply, err)
	case r == wire.ErrTruncated:
		return fmt.Errorf("%s: the reply was cut short after %d bytes: %w", addr, got, err)
	case r == wire.ReasonNone:
		return fmt.Errorf("%s: read the reply: %w", addr, err)
	}
	return fmt.Errorf("%s: the reply does not decode: %w", addr, err)
}

// countingReader counts the bytes read, to tell a connection closed before
// any reply from a reply cut short.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
