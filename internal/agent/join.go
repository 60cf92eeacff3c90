package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/internal/api"
)

// lookupSRV and lookupIP are the resolver; tests replace them.
var (
	lookupSRV = net.DefaultResolver.LookupSRV
	lookupIP  = func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
)

// firstRetry is the first pause between join attempts; tests shorten it.
var firstRetry = time.Second

// errAlone means every seed was this node itself: it starts a cluster.
var errAlone = errors.New("no seed but this node itself")

// seeds resolves the configured seeds and DNS names into addresses,
// leaving out this node's own: the first node of a cluster is often told
// to join itself, and is then simply the first.
func (a *Agent) seeds(ctx context.Context) ([]netip.AddrPort, error) {
	port := uint16(cmp.Or(a.node.LocalNode().Addr.Port(), rumor.DefaultPort))
	addrs, err := rumor.ResolveSeeds(ctx, a.cfg.Seeds, port)
	errs := []error{err}
	for _, name := range a.cfg.JoinDNS {
		found, err := resolveDNS(ctx, name, port)
		addrs = append(addrs, found...)
		errs = append(errs, err)
	}
	self := a.selfAddrs()
	var out []netip.AddrPort
	for _, ap := range addrs {
		if !slices.Contains(self, ap) && !slices.Contains(out, ap) {
			out = append(out, ap)
		}
	}
	if len(out) == 0 {
		if len(addrs) > 0 {
			return nil, errAlone
		}
		return nil, cmp.Or(errors.Join(errs...), errors.New("no seeds"))
	}
	return out, nil
}

// resolveDNS returns the seeds behind a DNS name: its SRV records if it
// has some (target and port each), otherwise its A and AAAA records with
// port.
func resolveDNS(ctx context.Context, name string, port uint16) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	if _, srvs, err := lookupSRV(ctx, "", "", name); err == nil && len(srvs) > 0 {
		var errs []error
		for _, s := range srvs {
			ips, err := lookupIP(ctx, s.Target)
			if err != nil {
				errs = append(errs, fmt.Errorf("join-dns %s: SRV target %s: %w", name, s.Target, err))
			}
			for _, ip := range ips {
				out = append(out, netip.AddrPortFrom(ip.Unmap(), s.Port))
			}
		}
		return out, errors.Join(errs...)
	}
	ips, err := lookupIP(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("join-dns %s: %w", name, err)
	}
	for _, ip := range ips {
		out = append(out, netip.AddrPortFrom(ip.Unmap(), port))
	}
	return out, nil
}

// selfAddrs are the addresses this node answers at: the advertised one,
// and with a wildcard bind every local address at the bound port.
func (a *Agent) selfAddrs() []netip.AddrPort {
	self := a.node.LocalNode().Addr
	out := []netip.AddrPort{self}
	bind, err := netip.ParseAddr(cmp.Or(a.cfg.BindAddr, "0.0.0.0"))
	if err != nil || !bind.IsUnspecified() {
		return out
	}
	ifaddrs, _ := net.InterfaceAddrs()
	for _, ia := range ifaddrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil {
			out = append(out, netip.AddrPortFrom(p.Addr().Unmap(), self.Port()))
		}
	}
	return out
}

// Join joins the given seeds now (POST /v1/join, rumor join).
// It returns how many answered and, even then, why the others did not; a
// seed that is no address at all is api.ErrInvalid.
func (a *Agent) Join(ctx context.Context, seeds []string) (int, error) {
	if a.node.LocalNode().State == rumor.StateLeft {
		return 0, fmt.Errorf("%w: this node has left the cluster; restart the agent to join again", api.ErrInvalid)
	}
	port := uint16(cmp.Or(a.node.LocalNode().Addr.Port(), rumor.DefaultPort))
	addrs, resolveErr := rumor.ResolveSeeds(ctx, seeds, port)
	if len(addrs) == 0 {
		return 0, fmt.Errorf("%w: no usable seed: %w", api.ErrInvalid, cmp.Or(resolveErr, errors.New("none given")))
	}
	resolved := make([]string, len(addrs))
	for i, ap := range addrs {
		resolved[i] = ap.String() // resolved once, here
	}
	n, err := a.node.Join(ctx, resolved)
	if n > 0 {
		a.logJoined(n)
	}
	return n, errors.Join(resolveErr, err)
}

// JoinSeeds joins the configured seeds, retrying with backoff (from 1 s,
// doubling, up to RetryMax) until one answers: forever with RetryJoin,
// otherwise for five attempts. Seeds are resolved again at each attempt,
// since the DNS of a starting cluster fills in over time. It returns when
// joined, when giving up, or when ctx ends; having no seeds at all, or
// only itself, is no error: this node starts the cluster.
func (a *Agent) JoinSeeds(ctx context.Context) error {
	if len(a.cfg.Seeds) == 0 && len(a.cfg.JoinDNS) == 0 {
		a.log.Info("no seeds: starting a new cluster; others join this node")
		return nil
	}
	wait, maxWait := firstRetry, cmp.Or(a.cfg.RetryMax, 30*time.Second)
	for attempt := 1; ; attempt++ {
		n, err := a.joinOnce(ctx)
		switch {
		case n > 0:
			return nil
		case a.node.LocalNode().State == rumor.StateLeft:
			return fmt.Errorf("agent: join: %w", err) // left meanwhile: retrying cannot help
		case errors.Is(err, errAlone) && !a.cfg.RetryJoin:
			a.log.Info("the seeds point at this node: starting a new cluster; others join this node")
			return nil
		case !a.cfg.RetryJoin && attempt >= 5:
			a.log.Error("join failed; giving up (use --retry-join to keep trying, or rumor join later)", "attempts", attempt, "err", err)
			return fmt.Errorf("agent: join: %w", err)
		}
		if !errors.Is(err, errAlone) || attempt == 1 {
			a.log.Warn("join failed; retrying", "attempt", attempt, "in", wait, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("agent: join: %w", ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, maxWait)
	}
}

func (a *Agent) joinOnce(ctx context.Context) (int, error) {
	addrs, err := a.seeds(ctx)
	if err != nil {
		return 0, err
	}
	seeds := make([]string, len(addrs))
	for i, ap := range addrs {
		seeds[i] = ap.String()
	}
	return a.Join(ctx, seeds)
}

// logJoined says how many nodes answered and lists the members, as the
// classic memberlist example prints them.
func (a *Agent) logJoined(contacted int) {
	ms := a.node.Members()
	slices.SortFunc(ms, func(x, y rumor.Member) int { return cmp.Compare(x.Name, y.Name) })
	a.log.Info("joined the cluster", "contacted", contacted, "members", len(ms))
	for _, m := range ms {
		a.log.Info("member", "name", m.Name, "addr", m.Addr.String(), "state", m.State.String())
	}
}

// setAdvertise applies an --advertise-addr of "IP" or "IP:port".
func setAdvertise(c *rumor.Config, addr string) error {
	if addr == "" {
		return nil
	}
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		c.AdvertiseAddr, c.AdvertisePort = ap.Addr().String(), int(ap.Port())
		return nil
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return &ConfigError{fmt.Errorf("advertise address %q: want IP or IP:port", addr)}
	}
	c.AdvertiseAddr, c.AdvertisePort = ip.String(), 0 // 0: the bound port
	return nil
}
