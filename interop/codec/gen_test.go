package codec

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/rumorproject/rumor/internal/wire"
)

// gen draws random message values, biased towards the sizes where msgpack
// changes encoding: string lengths 31/32, 255/256, 65535/65536 and integers
// 127/128, 255/256, 65535/65536, 2^31.
type gen struct {
	r *rand.Rand
	// small keeps lengths under 1 KiB, for values that must fit a compound
	// part or that are drawn in bulk.
	small bool
}

func newGen(seed uint64, name string) *gen {
	h := fnv.New64a()
	h.Write([]byte(name))
	return &gen{r: rand.New(rand.NewPCG(seed, h.Sum64()))}
}

var (
	lenEdges    = []int{0, 1, 15, 16, 17, 31, 32, 33, 127, 128, 255, 256, 257}
	bigLenEdges = []int{65535, 65536, 65537}
	uintEdges   = []uint64{0, 1, 2, 126, 127, 128, 129, 254, 255, 256, 257, 32767, 32768,
		65534, 65535, 65536, 65537, 1<<31 - 1, 1 << 31, 1<<31 + 1, 1<<32 - 2, 1<<32 - 1}
	intEdges = []int64{-1, -2, -31, -32, -33, -127, -128, -129, -32767, -32768, -32769,
		-(1 << 31), -(1 << 31) - 1, 1<<31 - 1, 1 << 31, 1<<32 - 1, 1 << 32, 1 << 40,
		math.MaxInt64, math.MinInt64, 127, 128, 255, 256, 32767, 32768, 65535, 65536}
)

// length draws a string or byte-slice length.
func (g *gen) length() int {
	x := g.r.IntN(100)
	switch {
	case x < 55:
		return g.r.IntN(40)
	case x < 80:
		return lenEdges[g.r.IntN(len(lenEdges))]
	case x < 98 || g.small:
		return g.r.IntN(700)
	default:
		return bigLenEdges[g.r.IntN(len(bigLenEdges))]
	}
}

// raw returns n random bytes: half the time printable ASCII, otherwise
// anything (strings are raw bytes on the wire, valid UTF-8 or not).
func (g *gen) raw(n int) []byte {
	b := make([]byte, n)
	if g.r.IntN(2) == 0 {
		for i := range b {
			b[i] = byte(' ' + g.r.IntN(95))
		}
		return b
	}
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

func (g *gen) str() string { return string(g.raw(g.length())) }

// bytes returns nil, empty or random bytes.
func (g *gen) bytes() []byte {
	switch g.r.IntN(10) {
	case 0, 1:
		return nil
	case 2:
		return []byte{}
	}
	return g.raw(g.length())
}

// sized returns mostly n bytes, sometimes nil, empty or another length.
func (g *gen) sized(n int) []byte {
	switch g.r.IntN(12) {
	case 0:
		return nil
	case 1:
		return []byte{}
	case 2:
		return g.raw(g.length())
	}
	return g.raw(n)
}

func (g *gen) addr() []byte {
	if g.r.IntN(2) == 0 {
		return g.sized(4)
	}
	return g.sized(16)
}

func (g *gen) uintMax(max uint64) uint64 {
	if g.r.IntN(3) == 0 {
		for {
			if v := uintEdges[g.r.IntN(len(uintEdges))]; v <= max {
				return v
			}
		}
	}
	return (g.r.Uint64() & max) >> g.r.IntN(64)
}

func (g *gen) u32() uint32 { return uint32(g.uintMax(math.MaxUint32)) }
func (g *gen) u16() uint16 { return uint16(g.uintMax(math.MaxUint16)) }
func (g *gen) bool() bool  { return g.r.IntN(2) == 0 }

// state is mostly one of the four node states, sometimes any int, which the
// codec must carry all the same.
func (g *gen) state() wire.NodeState {
	if g.r.IntN(8) != 0 {
		return wire.NodeState(g.r.IntN(4))
	}
	return wire.NodeState(intEdges[g.r.IntN(len(intEdges))])
}

func (g *gen) ping() wire.Message {
	m := &wire.Ping{SeqNo: g.u32(), Node: g.str()}
	if g.bool() { // memberlist < 0.2 sends no source fields at all
		m.SourceAddr, m.SourcePort, m.SourceNode = g.addr(), g.u16(), g.str()
	}
	return m
}

func (g *gen) indirectPing() wire.Message {
	m := &wire.IndirectPing{SeqNo: g.u32(), Target: g.addr(), Port: g.u16(), Node: g.str(), Nack: g.bool()}
	if g.bool() {
		m.SourceAddr, m.SourcePort, m.SourceNode = g.addr(), g.u16(), g.str()
	}
	return m
}

func (g *gen) ack() wire.Message  { return &wire.Ack{SeqNo: g.u32(), Payload: g.bytes()} }
func (g *gen) nack() wire.Message { return &wire.Nack{SeqNo: g.u32()} }
func (g *gen) suspect() wire.Message {
	return &wire.Suspect{Incarnation: g.u32(), Node: g.str(), From: g.str()}
}
func (g *gen) dead() wire.Message {
	return &wire.Dead{Incarnation: g.u32(), Node: g.str(), From: g.str()}
}
func (g *gen) errResp() wire.Message { return &wire.ErrResp{Error: g.str()} }
func (g *gen) user() wire.Message    { return &wire.User{Payload: g.bytes()} }

func (g *gen) alive() wire.Message {
	return &wire.Alive{Incarnation: g.u32(), Node: g.str(), Addr: g.addr(), Port: g.u16(), Meta: g.bytes(), Vsn: g.sized(6)}
}

func (g *gen) nodeState() wire.PushNodeState {
	return wire.PushNodeState{Name: g.str(), Addr: g.addr(), Port: g.u16(), Meta: g.bytes(),
		Incarnation: g.u32(), State: g.state(), Vsn: g.sized(6)}
}

var nodeCountEdges = []int{15, 16, 17, 31, 32, 127, 128, 129, 255, 256, 257}

func (g *gen) pushPull() *wire.PushPull {
	n := g.r.IntN(9)
	if g.r.IntN(10) == 0 {
		n = nodeCountEdges[g.r.IntN(len(nodeCountEdges))]
	}
	m := &wire.PushPull{Join: g.bool(), UserState: g.bytes()}
	if n > 0 || g.bool() {
		m.Nodes = make([]wire.PushNodeState, n)
	}
	small := g.small
	g.small = small || n > 16
	for i := range m.Nodes {
		m.Nodes[i] = g.nodeState()
	}
	g.small = small
	return m
}

// packetMessage draws any message a packet may carry as a leaf.
func (g *gen) packetMessage() wire.Message {
	switch g.r.IntN(8) {
	case 0:
		return g.ping()
	case 1:
		return g.indirectPing()
	case 2:
		return g.ack()
	case 3:
		return g.nack()
	case 4:
		return g.suspect()
	case 5:
		return g.alive()
	case 6:
		return g.dead()
	default:
		return g.user()
	}
}

// compound draws the parts of a compound message (each under 64 KiB).
func (g *gen) compound() ([]wire.Message, [][]byte) {
	var n int
	switch x := g.r.IntN(100); {
	case x < 2:
		n = 0
	case x < 80:
		n = 1 + g.r.IntN(8)
	case x < 97:
		n = 9 + g.r.IntN(60)
	default:
		n = 255
	}
	small := g.small
	g.small = true
	defer func() { g.small = small }()
	msgs := make([]wire.Message, n)
	parts := make([][]byte, n)
	for i := range msgs {
		msgs[i] = g.packetMessage()
		parts[i] = msgs[i].AppendTo(nil)
	}
	return msgs, parts
}

func (g *gen) key() []byte { return g.raw([]int{16, 24, 32}[g.r.IntN(3)]) }

func (g *gen) label() string {
	switch g.r.IntN(3) {
	case 0:
		return ""
	case 1:
		return string(g.raw(1 + g.r.IntN(12)))
	}
	return string(g.raw(1 + g.r.IntN(255)))
}

// describe prints a value for a failure message, cut to a readable size.
func describe(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 400 {
		s = s[:400] + fmt.Sprintf("…(%d chars)", len(s))
	}
	return strings.ToValidUTF8(s, "�")
}
