package rumor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultPort is memberlist's port, for seeds given without one.
const DefaultPort = 7946

// resolveSeeds turns seeds into addresses: IP literals as they are, host
// names through DNS (A and AAAA), each with its port or defaultPort.
func resolveSeeds(ctx context.Context, seeds []string, defaultPort uint16) (addrs []netip.AddrPort, errs []error) {
	for _, seed := range seeds {
		s := seed
		if i := strings.IndexByte(s, '/'); i >= 0 {
			s = s[i+1:] // the name part is a hint memberlist uses; the address decides
		}
		host, port, err := splitSeed(s, defaultPort)
		if err != nil {
			errs = append(errs, fmt.Errorf("seed %q: %w", seed, err))
			continue
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			addrs = append(addrs, netip.AddrPortFrom(ip.Unmap(), port))
			continue
		}
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			errs = append(errs, fmt.Errorf("seed %q: resolve: %w", seed, err))
			continue
		}
		for _, ip := range ips {
			addrs = append(addrs, netip.AddrPortFrom(ip.Unmap(), port))
		}
	}
	return addrs, errs
}

// splitSeed splits "host:port", "[v6]:port", "host", "[v6]" or a bare IPv6
// address.
func splitSeed(s string, defaultPort uint16) (host string, port uint16, err error) {
	if s == "" {
		return "", 0, fmt.Errorf("empty address")
	}
	if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return ip.String(), defaultPort, nil // no port: a bare or bracketed IP
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) && strings.HasPrefix(ae.Err, "missing port") {
			return s, defaultPort, nil
		}
		return "", 0, fmt.Errorf("want host:port: %w", err)
	}
	v, err := strconv.ParseUint(p, 10, 16)
	if err != nil || v == 0 {
		return "", 0, fmt.Errorf("port %q: want 1-65535", p)
	}
	if h == "" {
		return "", 0, fmt.Errorf("no host before the port")
	}
	return h, uint16(v), nil
}

// ResolveSeeds turns seeds into addresses as Join does: "host:port",
// "host" (defaultPort), a bare or bracketed IPv6 address, or
// "name/host:port"; a host name stands for every address it resolves to.
// The error joins the reasons of seeds that gave no address.
func ResolveSeeds(ctx context.Context, seeds []string, defaultPort uint16) ([]netip.AddrPort, error) {
	addrs, errs := resolveSeeds(ctx, seeds, defaultPort)
	return addrs, errors.Join(errs...)
}
