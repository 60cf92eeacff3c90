package swimcore

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	msgpack "github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/interop/mlwire"
	"github.com/rumorproject/rumor/interop/oracle"
)

// ---------------------------------------------------------------- helpers

// logBuf collects one test's memberlist logs and swim events; they are
// printed only if the test fails.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) printf(format string, args ...any) {
	fmt.Fprintf(l, time.Now().Format("15:04:05.000000 ")+format+"\n", args...)
}

// mlDelegate is a memberlist node's Delegate and EventDelegate: it serves
// mutable metadata and records what the event callbacks say (they run under
// memberlist's node lock, so reading the *Node there is race free).
type mlDelegate struct {
	mu sync.Mutex
	// meta is what NodeMeta returns.
	meta []byte
	// seen is the last notification per member: its state and metadata.
	seen map[string]mlSeen
}

type mlSeen struct {
	meta  []byte
	event string
}

func (d *mlDelegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.meta)
}
func (d *mlDelegate) setMeta(m []byte) {
	d.mu.Lock()
	d.meta = slices.Clone(m)
	d.mu.Unlock()
}
func (d *mlDelegate) NotifyMsg([]byte)                {}
func (d *mlDelegate) GetBroadcasts(int, int) [][]byte { return nil }
func (d *mlDelegate) LocalState(bool) []byte          { return nil }
func (d *mlDelegate) MergeRemoteState([]byte, bool)   {}
func (d *mlDelegate) NotifyJoin(n *memberlist.Node)   { d.note("join", n) }
func (d *mlDelegate) NotifyLeave(n *memberlist.Node)  { d.note("leave", n) }
func (d *mlDelegate) NotifyUpdate(n *memberlist.Node) { d.note("update", n) }
func (d *mlDelegate) note(ev string, n *memberlist.Node) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen[n.Name] = mlSeen{meta: slices.Clone(n.Meta), event: ev}
}

func (d *mlDelegate) last(name string) (mlSeen, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.seen[name]
	return s, ok
}

// mlNode is a real memberlist node.
type mlNode struct {
	name string
	ml   *memberlist.Memberlist
	ap   netip.AddrPort // read once: memberlist rewrites LocalNode's fields in place
	del  *mlDelegate
	down bool
}

func (n *mlNode) addr() netip.AddrPort { return n.ap }

// alive lists the names memberlist's Members() returns (alive or suspect).
// Only Name is read: memberlist never rewrites it, unlike the other fields
// of the *Node it hands out.
func (n *mlNode) alive() []string {
	var names []string
	for _, m := range n.ml.Members() {
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return names
}

// swimNode is a rumor node (the swim core on real sockets).
type swimNode struct {
	name string
	d    *driver
	mu   sync.Mutex
	evs  []rumor.Event
	down bool
}

func (n *swimNode) events() []rumor.Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.evs)
}

func (n *swimNode) alive() []string {
	var names []string
	for _, m := range n.d.Members() {
		if m.State == rumor.StateAlive || m.State == rumor.StateSuspect {
			names = append(names, m.Name)
		}
	}
	sort.Strings(names)
	return names
}

// cluster is the nodes of one test; all are shut down at its end.
type cluster struct {
	t       *testing.T
	refutes bool // suspicions are forged: refutations are expected
	log     *logBuf
	ml      []*mlNode
	sw      []*swimNode
}

func newCluster(t *testing.T) *cluster {
	c := &cluster{t: t, log: &logBuf{}}
	t.Cleanup(func() {
		for _, n := range c.sw {
			if !n.down {
				c.stopSwim(n)
			}
		}
		for _, n := range c.ml {
			if !n.down {
				_ = n.ml.Shutdown()
			}
		}
		c.checkLogs()
		if t.Failed() || os.Getenv("SWIMCORE_LOGS") != "" {
			c.log.mu.Lock()
			t.Logf("memberlist logs and swim events:\n%s", c.log.b.String())
			c.log.mu.Unlock()
		}
	})
	return c
}

// stopSwim shuts a swim node down (a crash, unless it left first), after
// checking that it understood everything it received: no input failed to
// decode, and nothing was dropped for a reason that means the two
// implementations disagree.
func (c *cluster) stopSwim(n *swimNode) {
	c.t.Helper()
	cs := n.d.Stats()
	if cs.DecodeErrors > 0 {
		c.t.Errorf("rumor %s: %d inputs did not decode; the last: %v", n.name, cs.DecodeErrors, cs.LastDecodeError)
	}
	for _, d := range []string{"ping_not_for_us", "bad_version", "bad_addr", "meta_too_large", "conflict",
		"incompatible", "too_many_nodes", "unexpected", "relay_busy", "empty_name"} {
		if k := cs.Dropped[d]; k > 0 {
			c.t.Errorf("swim %s dropped %d inputs as %v", n.name, k, d)
		}
	}
	n.d.Shutdown()
	n.down = true
}

// expectedRefute reports a memberlist refutation the test provoked: of the
// forged suspicion itself, or, when refutes is set, of the suspect message
// a swim node that believed it sent along with its probe.
func (c *cluster) expectedRefute(line string) bool {
	return strings.Contains(line, "Refuting a suspect message (from: injector)") ||
		(c.refutes && strings.Contains(line, "Refuting a suspect message (from: "))
}

// checkLogs fails the test on any error memberlist logged, and on any
// warning but the expected ones.
func (c *cluster) checkLogs() {
	c.log.mu.Lock()
	defer c.log.mu.Unlock()
	for _, line := range strings.Split(c.log.b.String(), "\n") {
		switch {
		case strings.Contains(line, "[ERR]"):
		case strings.Contains(line, "[WARN]") && !c.expectedRefute(line):
		default:
			continue
		}
		c.t.Errorf("memberlist logged: %s", line)
	}
}

func (c *cluster) addML(name string, meta string) *mlNode {
	c.t.Helper()
	d := &mlDelegate{meta: []byte(meta), seen: map[string]mlSeen{}}
	cfg := memberlist.DefaultLocalConfig()
	cfg.Name = name
	cfg.BindAddr = "127.0.0.1"
	cfg.BindPort = 0
	cfg.Delegate = d
	cfg.Events = d
	cfg.LogOutput = prefixWriter{c.log, name + " "}
	m, err := memberlist.Create(cfg)
	if err != nil {
		c.t.Fatalf("memberlist %s: %v", name, err)
	}
	ln := m.LocalNode()
	ip, _ := netip.AddrFromSlice(ln.Addr)
	n := &mlNode{name: name, ml: m, ap: netip.AddrPortFrom(ip.Unmap(), ln.Port), del: d}
	c.ml = append(c.ml, n)
	return n
}

type prefixWriter struct {
	l      *logBuf
	prefix string
}

func (w prefixWriter) Write(p []byte) (int, error) {
	_, _ = w.l.Write(append([]byte(w.prefix), p...))
	return len(p), nil
}

func (c *cluster) addSwim(name string, meta string) *swimNode {
	c.t.Helper()
	cfg := rumor.DefaultLocalConfig()
	cfg.Name, cfg.BindAddr, cfg.BindPort, cfg.Meta = name, "127.0.0.1", 0, []byte(meta)
	events := make(chan rumor.Event, 1024)
	cfg.Events = events
	node, err := rumor.Create(cfg)
	if err != nil {
		c.t.Fatalf("rumor %s: %v", name, err)
	}
	n := &swimNode{name: name, d: &driver{Node: node, stop: make(chan struct{}), done: make(chan struct{})}}
	go func() {
		defer close(n.d.done)
		for {
			select {
			case ev := <-events:
				c.log.printf("%s event %v %s inc=%d state=%v from=%s", name, ev.Kind, ev.Member.Name,
					ev.Member.Incarnation, ev.Member.State, ev.From)
				n.mu.Lock()
				n.evs = append(n.evs, ev)
				n.mu.Unlock()
			case <-n.d.stop:
				return
			}
		}
	}()
	c.sw = append(c.sw, n)
	return n
}

// driver adapts a rumor.Node to what these tests ask of a node.
type driver struct {
	*rumor.Node
	stop, done chan struct{} // end the event recorder
}

func (d *driver) Join(seeds []netip.AddrPort) (int, error) {
	addrs := make([]string, len(seeds))
	for i, s := range seeds {
		addrs[i] = s.String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return d.Node.Join(ctx, addrs)
}

func (d *driver) UpdateMeta(meta []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return d.UpdateNode(ctx, meta)
}

func (d *driver) Self() rumor.Member { return d.LocalNode() }

func (d *driver) Shutdown() {
	_ = d.Node.Shutdown()
	close(d.stop)
	<-d.done
}

func (c *cluster) mlJoin(n *mlNode, seed netip.AddrPort) {
	c.t.Helper()
	if k, err := n.ml.Join([]string{seed.String()}); err != nil || k != 1 {
		c.t.Fatalf("%s joins %v: %d contacted, %v", n.name, seed, k, err)
	}
}

func (c *cluster) swimJoin(n *swimNode, seed netip.AddrPort) {
	c.t.Helper()
	if k, err := n.d.Join([]netip.AddrPort{seed}); err != nil || k != 1 {
		c.t.Fatalf("%s joins %v: %d contacted, %v", n.name, seed, k, err)
	}
}

// running lists the names of nodes not shut down.
func (c *cluster) running() []string {
	var names []string
	for _, n := range c.ml {
		if !n.down {
			names = append(names, n.name)
		}
	}
	for _, n := range c.sw {
		if !n.down {
			names = append(names, n.name)
		}
	}
	sort.Strings(names)
	return names
}

// eventually polls cond every 50 ms until it returns nil or timeout passes.
func (c *cluster) eventually(what string, timeout time.Duration, cond func() error) time.Duration {
	c.t.Helper()
	start := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var last error
	for {
		err := cond()
		if err == nil {
			took := time.Since(start)
			if took > 5*time.Second {
				c.t.Logf("%s: %v; last waited for: %v", what, took.Round(time.Millisecond), last)
			} else {
				c.t.Logf("%s: %v", what, took.Round(time.Millisecond))
			}
			c.log.printf("---- %s after %v", what, took)
			return took
		}
		last = err
		select {
		case <-tick.C:
		case <-deadline.C:
			c.t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
	}
}

// converged checks that every running node lists exactly the running nodes
// as alive.
func (c *cluster) converged() error {
	want := c.running()
	for _, n := range c.ml {
		if n.down {
			continue
		}
		if got := n.alive(); !slices.Equal(got, want) {
			return fmt.Errorf("memberlist %s lists %v, want %v", n.name, got, want)
		}
	}
	for _, n := range c.sw {
		if n.down {
			continue
		}
		if got := n.alive(); !slices.Equal(got, want) {
			return fmt.Errorf("swim %s lists %v, want %v", n.name, got, want)
		}
	}
	return nil
}

// gone checks that every running node holds name in state (dead or left):
// memberlist no longer lists it in Members(), its last notification about
// it was NotifyLeave, and its table says state (NotifyLeave cannot tell
// dead from left: memberlist sets nodeState.State, which shadows the
// Node.State the delegate gets, state.go deadNode); swim holds it in state.
// A dead member may already be forgotten: both kinds drop the dead from
// their tables GossipToTheDeadTime (15 s) after they died, and a slow
// detection elsewhere can outlast that.
func (c *cluster) gone(name string, state rumor.State) error {
	for _, n := range c.ml {
		if n.down {
			continue
		}
		if slices.Contains(n.alive(), name) {
			return fmt.Errorf("memberlist %s still lists %s", n.name, name)
		}
		if s, ok := n.del.last(name); !ok || s.event != "leave" {
			return fmt.Errorf("memberlist %s: last notification about %s is %q, want leave", n.name, name, s.event)
		}
		tab, err := mlTable(n)
		if err != nil {
			return err
		}
		e, ok := tab[name]
		if !ok && state == rumor.StateDead {
			continue // forgotten GossipToTheDeadTime after it died
		}
		if !ok || e.State != mlwire.NodeStateType(state) {
			return fmt.Errorf("memberlist %s holds %s in state %d (known %v), want %d", n.name, name, e.State, ok, state)
		}
	}
	for _, n := range c.sw {
		if n.down || n.name == name {
			continue
		}
		m, ok := n.d.Member(name)
		if !ok && state == rumor.StateDead && slices.ContainsFunc(n.events(), func(ev rumor.Event) bool {
			return ev.Kind == rumor.EventFailed && ev.Member.Name == name
		}) {
			continue // declared dead, then forgotten
		}
		if !ok || m.State != state {
			return fmt.Errorf("swim %s holds %s as %v (known %v), want %v", n.name, name, m.State, ok, state)
		}
	}
	return nil
}

// mlTable is memberlist node n's member table (oracle.Table).
func mlTable(n *mlNode) (map[string]mlwire.PushNodeState, error) {
	return oracle.Table(n.addr().String())
}

// sendPacket sends one memberlist message, encoded by go-msgpack as
// memberlist encodes it, in a plain UDP datagram to addr.
func sendPacket(t *testing.T, to netip.AddrPort, typ byte, msg any) {
	t.Helper()
	var b bytes.Buffer
	b.WriteByte(typ)
	var h msgpack.MsgpackHandle
	if err := msgpack.NewEncoder(&b, &h).Encode(msg); err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// ------------------------------------------------------------------ tests

// trio starts ml-1, sw-1 (joining ml-1) and ml-2 (joining sw-1) and waits
// until they converge. Only these three meet by gossip; later nodes join
// through every running node (joinML, joinSwim): see the note on the
// deadlines in interop_test.go.
func (c *cluster) trio() (m1 *mlNode, s1 *swimNode, m2 *mlNode) {
	m1 = c.addML("ml-1", "")
	s1 = c.addSwim("sw-1", "")
	c.swimJoin(s1, m1.addr())
	m2 = c.addML("ml-2", "")
	c.mlJoin(m2, s1.d.Addr())
	c.eventually("3 nodes converged", gossip, c.converged)
	return m1, s1, m2
}

// seeds lists the addresses of every running node.
func (c *cluster) seeds() []netip.AddrPort {
	var out []netip.AddrPort
	for _, m := range c.ml {
		if !m.down {
			out = append(out, m.addr())
		}
	}
	for _, n := range c.sw {
		if !n.down {
			out = append(out, n.d.Addr())
		}
	}
	return out
}

// joinML starts a memberlist node and joins it through every running node.
func (c *cluster) joinML(name string) *mlNode {
	seeds := c.seeds()
	m := c.addML(name, "")
	addrs := make([]string, len(seeds))
	for i, a := range seeds {
		addrs[i] = a.String()
	}
	if k, err := m.ml.Join(addrs); err != nil || k != len(seeds) {
		c.t.Fatalf("%s joins: %d of %d contacted, %v", name, k, len(seeds), err)
	}
	return m
}

// joinSwim starts a swim node and joins it through every running node.
func (c *cluster) joinSwim(name string) *swimNode {
	seeds := c.seeds()
	n := c.addSwim(name, "")
	if k, err := n.d.Join(seeds); err != nil || k != len(seeds) {
		c.t.Fatalf("%s joins: %d of %d answered, %v", name, k, len(seeds), err)
	}
	return n
}
