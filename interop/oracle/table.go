package oracle

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/rumorproject/rumor/interop/mlwire"
)

// Table asks the memberlist node at addr (plain: no key, no label) for its
// member table the way a peer does, with a push-pull carrying no nodes,
// which merges nothing, and returns its entries by name. Unlike Members()
// it shows suspect, dead and left entries and incarnations, without
// reading memberlist's memory.
func Table(addr string) (map[string]mlwire.PushNodeState, error) {
	var req bytes.Buffer
	req.WriteByte(mlwire.TypePushPull)
	var h codec.MsgpackHandle
	if err := codec.NewEncoder(&req, &h).Encode(&mlwire.PushPullHeader{}); err != nil {
		return nil, fmt.Errorf("encode push-pull header: %w", err)
	}
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write(req.Bytes()); err != nil {
		return nil, fmt.Errorf("send push-pull to %s: %w", addr, err)
	}
	reply, err := io.ReadAll(conn) // memberlist closes the stream after merging
	if err != nil {
		return nil, fmt.Errorf("read push-pull reply from %s: %w", addr, err)
	}
	res, err := DecodeStream(reply, false, "", nil)
	if err != nil {
		return nil, fmt.Errorf("decode push-pull reply from %s: %w", addr, err)
	}
	table := map[string]mlwire.PushNodeState{}
	for _, m := range res.Messages {
		if m.Kind != "push-node-state" {
			continue
		}
		table[m.Fields["Name"].(string)] = mlwire.PushNodeState{
			Name:        m.Fields["Name"].(string),
			Incarnation: uint32(m.Fields["Incarnation"].(uint64)),
			State:       mlwire.NodeStateType(m.Fields["State"].(int64)),
		}
	}
	return table, nil
}
