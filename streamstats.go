package rumor

import (
	"net"
	"sync/atomic"

	"github.com/rumorproject/rumor/internal/wire"
)

// streamTraffic counts what travels over streams (push-pulls, TCP probes,
// reliable user messages), both those this node dials and those it
// serves. The goroutines that run streams count, not the loop: atomics.
type streamTraffic struct {
	msgs  [2][numTypes]atomic.Uint64 // messages by type
	bytes [2]atomic.Uint64           // bytes on the wire, envelope included
}

func (t *streamTraffic) message(dir int, m wire.Message) {
	if m != nil && int(m.Type()) < numTypes {
		t.msgs[dir][m.Type()].Add(1)
	}
}

// byType returns one direction's counts of the types seen, by name.
func (t *streamTraffic) byType(dir int) map[string]uint64 {
	m := map[string]uint64{}
	for mt := range t.msgs[dir] {
		if c := t.msgs[dir][mt].Load(); c > 0 {
			m[wire.MsgType(mt).String()] = c
		}
	}
	return m
}

// countingConn counts a stream's bytes both ways.
type countingConn struct {
	net.Conn
	t *streamTraffic
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.t.bytes[in].Add(uint64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.t.bytes[out].Add(uint64(n))
	return n, err
}
