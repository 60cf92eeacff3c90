//go:build !unix

package transport

import "net/netip"

// receiver reads into a buffer of its own, one byte longer than the limit
// so that a longer datagram shows.
type receiver struct {
	t   *Net
	buf []byte
}

func newReceiver(t *Net) (receiver, error) {
	return receiver{t: t, buf: make([]byte, t.cfg.MaxPacket+1)}, nil
}

func (r receiver) recv(limit int) (data []byte, size int, from netip.AddrPort, err error) {
	n, from, err := r.t.udp.ReadFromUDPAddrPort(r.buf)
	if err != nil {
		return nil, 0, from, err
	}
	if n <= limit {
		data = append([]byte(nil), r.buf[:n]...)
	}
	return data, n, unmap(from), nil
}
