package sim

import (
	"net/netip"

	"github.com/rumorproject/rumor/internal/swim"
	"github.com/rumorproject/rumor/internal/wire"
)

type eventKind uint8

const (
	evWake       eventKind = iota + 1 // a node's deadline
	evPacket                          // a datagram arrives
	evStream                          // a stream's request arrives at the acceptor
	evStreamDone                      // a stream's reply (or failure) reaches the dialer
	evAction                          // a scheduled fault or API call
)

// event is one thing that happens at a virtual time.
type event struct {
	at   int64
	seq  uint64 // ties break in scheduling order: determinism
	kind eventKind
	node int // the node it happens to
	gen  uint64

	from     netip.AddrPort
	data     []byte         // evPacket with the codec: the encoded datagram
	msgs     []wire.Message // evPacket without the codec; evStream request
	stream   *flight        // evStream, evStreamDone
	reply    wire.Message
	err      error
	action   func()
	deferred bool // already delayed once by a slow node
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// flight is a stream in progress between two nodes.
type flight struct {
	id       swim.StreamID
	kind     swim.StreamKind
	dialer   int
	dialGen  uint64 // the dialer's life: a restart orphans its streams
	deadline int64
	done     bool
}
