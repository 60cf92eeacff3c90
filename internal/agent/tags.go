package agent

import (
	"fmt"
	"maps"
	"unicode/utf8"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/tags"
)

// agentTag marks an agent's metadata: agents relay broadcasts to each
// other in envelopes (see relay.go) and send other members bare payloads.
// The API hides it, and users may not set it.
const agentTag, agentTagValue = "_rumor", "1"

// encodeTags is the metadata an agent with these tags advertises.
func encodeTags(t map[string]string) ([]byte, error) {
	if _, ok := t[agentTag]; ok {
		return nil, fmt.Errorf("tag %q is reserved", agentTag)
	}
	all := maps.Clone(t)
	if all == nil {
		all = map[string]string{}
	}
	all[agentTag] = agentTagValue
	return tags.Encode(all)
}

// decodeTags returns the tags in meta (without the agent marker), or an
// empty map when meta holds none.
func decodeTags(meta []byte) map[string]string {
	if !tags.IsTags(meta) {
		return map[string]string{}
	}
	t, err := tags.Decode(meta)
	if err != nil {
		return map[string]string{}
	}
	delete(t, agentTag)
	return t
}

func isAgent(meta []byte) bool {
	if !tags.IsTags(meta) {
		return false
	}
	t, err := tags.Decode(meta)
	return err == nil && t[agentTag] == agentTagValue
}

// textEvent fills Text when the payload is readable.
func textEvent(ev api.Event) api.Event {
	if utf8.Valid(ev.Payload) {
		ev.Text = string(ev.Payload)
	}
	return ev
}
