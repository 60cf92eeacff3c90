package codec

import (
	"fmt"

	"github.com/rumorproject/rumor/internal/wire"
	"github.com/rumorproject/rumor/interop/mlwire"
)

// toML returns the memberlist-shaped value (a pointer, as memberlist passes
// to its encoder) carrying the same fields as m, and m's type byte. Slices
// are shared, not copied, so nil stays nil and empty stays empty.
func toML(m wire.Message) (byte, any) {
	switch m := m.(type) {
	case *wire.Ping:
		return mlwire.TypePing, &mlwire.Ping{SeqNo: m.SeqNo, Node: m.Node, SourceAddr: m.SourceAddr, SourcePort: m.SourcePort, SourceNode: m.SourceNode}
	case *wire.IndirectPing:
		return mlwire.TypeIndirectPing, &mlwire.IndirectPingReq{SeqNo: m.SeqNo, Target: m.Target, Port: m.Port, Node: m.Node, Nack: m.Nack,
			SourceAddr: m.SourceAddr, SourcePort: m.SourcePort, SourceNode: m.SourceNode}
	case *wire.Ack:
		return mlwire.TypeAck, &mlwire.AckResp{SeqNo: m.SeqNo, Payload: m.Payload}
	case *wire.Nack:
		return mlwire.TypeNack, &mlwire.NackResp{SeqNo: m.SeqNo}
	case *wire.Suspect:
		return mlwire.TypeSuspect, &mlwire.Suspect{Incarnation: m.Incarnation, Node: m.Node, From: m.From}
	case *wire.Alive:
		return mlwire.TypeAlive, &mlwire.Alive{Incarnation: m.Incarnation, Node: m.Node, Addr: m.Addr, Port: m.Port, Meta: m.Meta, Vsn: m.Vsn}
	case *wire.Dead:
		return mlwire.TypeDead, &mlwire.Dead{Incarnation: m.Incarnation, Node: m.Node, From: m.From}
	case *wire.ErrResp:
		return mlwire.TypeErr, &mlwire.ErrResp{Error: m.Error}
	}
	panic(fmt.Sprintf("toML: no msgpack form for %T", m))
}

// newML returns a zero memberlist-shaped value for a type byte.
func newML(typ byte) any {
	if v := mlwire.NewMessage(typ); v != nil {
		return v
	}
	panic(fmt.Sprintf("newML: type %d", typ))
}

// fromML converts a memberlist-shaped value back to rumor's message.
func fromML(v any) wire.Message {
	switch v := v.(type) {
	case *mlwire.Ping:
		return &wire.Ping{SeqNo: v.SeqNo, Node: v.Node, SourceAddr: v.SourceAddr, SourcePort: v.SourcePort, SourceNode: v.SourceNode}
	case *mlwire.IndirectPingReq:
		return &wire.IndirectPing{SeqNo: v.SeqNo, Target: v.Target, Port: v.Port, Node: v.Node, Nack: v.Nack,
			SourceAddr: v.SourceAddr, SourcePort: v.SourcePort, SourceNode: v.SourceNode}
	case *mlwire.AckResp:
		return &wire.Ack{SeqNo: v.SeqNo, Payload: v.Payload}
	case *mlwire.NackResp:
		return &wire.Nack{SeqNo: v.SeqNo}
	case *mlwire.Suspect:
		return &wire.Suspect{Incarnation: v.Incarnation, Node: v.Node, From: v.From}
	case *mlwire.Alive:
		return &wire.Alive{Incarnation: v.Incarnation, Node: v.Node, Addr: v.Addr, Port: v.Port, Meta: v.Meta, Vsn: v.Vsn}
	case *mlwire.Dead:
		return &wire.Dead{Incarnation: v.Incarnation, Node: v.Node, From: v.From}
	case *mlwire.ErrResp:
		return &wire.ErrResp{Error: v.Error}
	}
	panic(fmt.Sprintf("fromML: %T", v))
}

func nodesToML(nodes []wire.PushNodeState) []mlwire.PushNodeState {
	out := make([]mlwire.PushNodeState, len(nodes))
	for i, n := range nodes {
		out[i] = mlwire.PushNodeState{Name: n.Name, Addr: n.Addr, Port: n.Port, Meta: n.Meta,
			Incarnation: n.Incarnation, State: mlwire.NodeStateType(n.State), Vsn: n.Vsn}
	}
	return out
}

func pushPullFromML(p *gmPushPull) *wire.PushPull {
	out := &wire.PushPull{Join: p.Header.Join, Nodes: make([]wire.PushNodeState, len(p.Nodes)), UserState: p.UserState}
	for i, n := range p.Nodes {
		out.Nodes[i] = wire.PushNodeState{Name: n.Name, Addr: n.Addr, Port: n.Port, Meta: n.Meta,
			Incarnation: n.Incarnation, State: wire.NodeState(n.State), Vsn: n.Vsn}
	}
	return out
}

// normalize returns what a value should look like after a trip over the
// wire: omitempty byte fields that are empty come back nil; a packet user
// message's payload is the rest of the packet, never nil; a push-pull's
// empty user state is nil and its node list is never nil.
func normalize(m wire.Message) wire.Message {
	switch m := m.(type) {
	case *wire.Ping:
		c := *m
		c.SourceAddr = nilIfEmpty(c.SourceAddr)
		return &c
	case *wire.IndirectPing:
		c := *m
		c.SourceAddr = nilIfEmpty(c.SourceAddr)
		return &c
	case *wire.User:
		if m.Payload == nil {
			return &wire.User{Payload: []byte{}}
		}
		return m
	case *wire.PushPull:
		c := *m
		c.UserState = nilIfEmpty(c.UserState)
		if c.Nodes == nil {
			c.Nodes = []wire.PushNodeState{}
		}
		return &c
	}
	return m
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
