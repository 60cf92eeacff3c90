//go:build unix

package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
)

// maxDatagram holds any UDP payload, IPv4 or IPv6.
const maxDatagram = 64 << 10

// readBuffers lend a buffer to whichever socket is readable, for the
// moment of the read: an idle transport holds none, where a buffer per
// socket would cost every node 64 KiB (or drop larger datagrams unseen).
var readBuffers = sync.Pool{New: func() any { b := make([]byte, maxDatagram); return &b }}

// receiver reads datagrams through the socket's raw descriptor, so that
// the buffer is needed only once data is there.
type receiver struct{ raw syscall.RawConn }

func newReceiver(t *Net) (receiver, error) {
	raw, err := t.udp.SyscallConn()
	if err != nil {
		return receiver{}, fmt.Errorf("transport: raw UDP socket: %w", err)
	}
	return receiver{raw: raw}, nil
}

// recv waits for one datagram and returns a copy of it if it is at most
// limit bytes long, else its length alone.
func (r receiver) recv(limit int) (data []byte, size int, from netip.AddrPort, err error) {
	var rerr error
	err = r.raw.Read(func(fd uintptr) bool {
		bp := readBuffers.Get().(*[]byte)
		defer readBuffers.Put(bp)
		for {
			n, sa, e := syscall.Recvfrom(int(fd), *bp, 0)
			switch {
			case errors.Is(e, syscall.EINTR):
				continue
			case errors.Is(e, syscall.EAGAIN):
				return false // nothing yet: wait until readable
			case e != nil:
				rerr = e
				return true
			}
			size, from = n, sockaddrPort(sa)
			if n <= limit {
				data = append([]byte(nil), (*bp)[:n]...)
			}
			return true
		}
	})
	if err == nil {
		err = rerr
	}
	return data, size, from, err
}

func sockaddrPort(sa syscall.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *syscall.SockaddrInet6:
		ip := netip.AddrFrom16(a.Addr).Unmap()
		if a.ZoneId != 0 && ip.Is6() {
			ip = ip.WithZone(zoneName(int(a.ZoneId)))
		}
		return netip.AddrPortFrom(ip, uint16(a.Port))
	}
	return netip.AddrPort{}
}

// zoneNames caches interface names by index, as package net does: a
// link-local sender reads fe80::1%eth0, as users write it, not %2.
var zoneNames sync.Map // int → string

func zoneName(index int) string {
	if name, ok := zoneNames.Load(index); ok {
		return name.(string)
	}
	name := strconv.Itoa(index)
	if ifi, err := net.InterfaceByIndex(index); err == nil {
		name = ifi.Name
	}
	zoneNames.Store(index, name)
	return name
}
