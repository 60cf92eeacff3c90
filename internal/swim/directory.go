package swim

import (
	"net/netip"
	"strings"
)

// Directory interns member names and identities. Each node needs a name→ID
// map and per-member records; nodes simulated in one process share them
// through one Directory, so N full views cost N² small entries plus N
// names, not N² names and maps. IDs are dense and reused once no node holds
// them. Behaviour never depends on an ID's value.
//
// A Directory is not safe for concurrent use.
type Directory struct {
	ids    map[string]uint32
	names  []string
	refs   []int32
	latest []*identity // the newest identity made per ID, for sharing
	free   []uint32
}

// NewDirectory returns an empty Directory.
func NewDirectory() *Directory { return &Directory{ids: make(map[string]uint32)} }

// lookup returns name's ID if some node holds it.
func (d *Directory) lookup(name string) (uint32, bool) {
	id, ok := d.ids[name]
	return id, ok
}

// acquire returns name's ID and counts one more holder.
func (d *Directory) acquire(name string) uint32 {
	if id, ok := d.ids[name]; ok {
		d.refs[id]++
		return id
	}
	name = strings.Clone(name) // decoded names pin their packet's buffer
	var id uint32
	if n := len(d.free); n > 0 {
		id = d.free[n-1]
		d.free = d.free[:n-1]
		d.names[id] = name
		d.refs[id] = 1
	} else {
		id = uint32(len(d.names))
		d.names = append(d.names, name)
		d.refs = append(d.refs, 1)
		d.latest = append(d.latest, nil)
	}
	d.ids[name] = id
	return id
}

// release drops one holder of id; the last one frees it.
func (d *Directory) release(id uint32) {
	if d.refs[id]--; d.refs[id] > 0 {
		return
	}
	delete(d.ids, d.names[id])
	d.names[id] = ""
	d.latest[id] = nil
	d.free = append(d.free, id)
}

// identity returns the shared record for these values, making one (with
// copies of the slices) if the newest record for the name differs.
func (d *Directory) identity(nameID uint32, raw []byte, port uint16, meta []byte, vsn [6]uint8) *identity {
	if id := d.latest[nameID]; id != nil && id.same(raw, port, meta, vsn) {
		return id
	}
	ip, _ := netip.AddrFromSlice(raw) // callers validated the length
	id := &identity{
		name:    d.names[nameID],
		addr:    netip.AddrPortFrom(ip, port),
		rawAddr: clone(raw),
		meta:    clone(meta),
		vsn:     vsn,
		nameID:  nameID,
	}
	d.latest[nameID] = id
	return id
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
