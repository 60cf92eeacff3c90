package rumor

import (
	"context"
	"fmt"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
)

// Stats are the node's running totals.
type Stats struct {
	EventsDropped uint64 // events the Events channel had no room for
}

// Stats returns the node's totals so far.
func (n *Node) Stats() Stats { return Stats{EventsDropped: n.dropped.Load()} }

// UpdateNode replaces this node's metadata (at most 512 bytes) and waits
// until the news has been gossiped enough, or ctx ends.
func (n *Node) UpdateNode(ctx context.Context, meta []byte) error {
	ch := make(chan struct{})
	var err error
	if cerr := n.call(func(now time.Time) {
		if err = n.core.UpdateMeta(now, meta); err == nil {
			n.updateWait = append(n.updateWait, ch)
		}
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("rumor: update node: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rumor: update node: %w", ctx.Err())
	case <-n.ctx.Done():
		return ErrShutdown
	}
}

// SendBestEffort sends msg to a member in one datagram: no delivery
// guarantee, at most UDPBufferSize bytes less the envelope.
func (n *Node) SendBestEffort(to Member, msg []byte) error {
	var err error
	if cerr := n.call(func(now time.Time) { err = n.core.SendPacket(now, to.Addr, msg) }); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("rumor: send to %s: %w", to.Name, err)
	}
	return nil
}

// SendReliable sends msg to a member over a stream and returns once it
// was written, or failed, or ctx ended.
func (n *Node) SendReliable(ctx context.Context, to Member, msg []byte) error {
	ch := make(chan error, 1)
	var err error
	if cerr := n.call(func(now time.Time) {
		var id swim.StreamID
		if id, err = n.core.SendReliable(now, to.Addr, msg); err == nil {
			n.sends[id] = ch
		}
	}); cerr != nil {
		return cerr
	}
	if err == nil {
		select {
		case err = <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		case <-n.ctx.Done():
			return ErrShutdown
		}
	}
	if err != nil {
		return fmt.Errorf("rumor: send reliably to %s: %w", to.Name, err)
	}
	return nil
}
