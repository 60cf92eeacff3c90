package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor/interop/oracle"
)

var discardLogger = log.New(io.Discard, "", 0)

// record is one captured packet or one side of a stream.
type record struct {
	seq      int
	channel  string // "packet" or "stream"
	side     string // "dialer" / "acceptor" for streams
	from, to string // node names ("raw-client" for the hand-made client)
	data     []byte
	label    string   // receiving side's label
	keys     [][]byte // receiving side's keyring, primary first
	res      *oracle.Result
	err      error
	taken    bool
}

// sig is a compact description used for matching and for diagnostics:
// "<channel>|<layers>|<kinds>", e.g. "packet|crc+compound|alive,suspect".
func (r *record) sig() string {
	ch := r.channel
	if r.channel == "stream" {
		ch = r.side
	}
	if r.err != nil {
		return ch + "|ERROR|" + r.err.Error()
	}
	return ch + "|" + layerSig(r.res.Layers) + "|" + kindsSig(r.res)
}

func layerSig(l oracle.Layers) string {
	var s []string
	if l.Label {
		s = append(s, "label")
	}
	if l.Encrypted {
		s = append(s, fmt.Sprintf("enc%d", l.EncryptVersion))
	}
	if l.CRC {
		s = append(s, "crc")
	}
	if l.Compressed {
		s = append(s, "zip")
	}
	if l.Compound > 0 {
		s = append(s, "compound")
	}
	if len(s) == 0 {
		return "plain"
	}
	return strings.Join(s, "+")
}

func kindsSig(res *oracle.Result) string {
	k := make([]string, len(res.Messages))
	for i, m := range res.Messages {
		k[i] = m.Kind
	}
	return strings.Join(k, ",")
}

// field returns field name of message i (nil if absent).
func (r *record) field(i int, name string) any {
	if r.res == nil || i >= len(r.res.Messages) {
		return nil
	}
	return r.res.Messages[i].Fields[name]
}

// recorder collects everything the nodes of one scenario saw.
type recorder struct {
	mu      sync.Mutex
	seq     int
	records []*record
	byAddr  map[string]*node  // "ip:port" -> node
	dialers map[string]string // dialer's local "ip:port" -> node name
	drop    func(from, to string) bool
}

func newRecorder() *recorder {
	return &recorder{byAddr: map[string]*node{}, dialers: map[string]string{}}
}

func (rc *recorder) nameOf(addr string) string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if n := rc.byAddr[normAddr(addr)]; n != nil {
		return n.name
	}
	return "?"
}

func (rc *recorder) nodeByName(name string) *node {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, n := range rc.byAddr {
		if n.name == name {
			return n
		}
	}
	return nil
}

func (rc *recorder) noteDialer(local, name string) {
	rc.mu.Lock()
	rc.dialers[normAddr(local)] = name
	rc.mu.Unlock()
}

func (rc *recorder) dialerOf(remote string) string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if n, ok := rc.dialers[normAddr(remote)]; ok {
		return n
	}
	return "raw-client"
}

func (rc *recorder) setDrop(f func(from, to string) bool) {
	rc.mu.Lock()
	rc.drop = f
	rc.mu.Unlock()
}

// packetArrived records a datagram received by n; it returns false when the
// scenario's drop rule discards it (then it is neither recorded nor
// delivered).
func (rc *recorder) packetArrived(n *node, p *memberlist.Packet) bool {
	from := rc.nameOf(udpKey(p.From))
	rc.mu.Lock()
	drop := rc.drop
	rc.mu.Unlock()
	if drop != nil && drop(from, n.name) {
		return false
	}
	r := &record{channel: "packet", from: from, to: n.name, data: append([]byte(nil), p.Buf...)}
	r.label, r.keys = n.receiveConfig()
	r.res, r.err = oracle.DecodePacket(r.data, r.keys)
	if r.err == nil && r.res.Label != r.label {
		r.err = fmt.Errorf("packet label %q, receiver expects %q", r.res.Label, r.label)
	}
	rc.add(r)
	return true
}

// streamWritten records everything owner wrote on one connection.
func (rc *recorder) streamWritten(owner *node, side, peer string, data []byte) {
	r := &record{channel: "stream", side: side, data: data}
	// The reader of these bytes is the peer; decode with its settings,
	// falling back to the writer's own when the peer is not a node.
	reader := owner
	r.from, r.to = owner.name, peer
	if pn := rc.nodeByName(peer); pn != nil {
		reader = pn
	}
	r.label, r.keys = reader.receiveConfig()
	r.res, r.err = oracle.DecodeStream(data, side == "dialer", r.label, r.keys)
	if r.err == nil && side == "dialer" && r.res.Label != r.label {
		r.err = fmt.Errorf("stream label %q, acceptor expects %q", r.res.Label, r.label)
	}
	rc.add(r)
}

func (rc *recorder) add(r *record) {
	rc.mu.Lock()
	rc.seq++
	r.seq = rc.seq
	rc.records = append(rc.records, r)
	rc.mu.Unlock()
	if *verbose {
		var first any
		if r.res != nil && len(r.res.Messages) > 0 {
			first = r.res.Messages[0].Fields
		}
		log.Printf("  rec #%d %s->%s %s %v", r.seq, r.from, r.to, r.sig(), first)
	}
}

// nodeOpts configures one memberlist node.
type nodeOpts struct {
	ip              string // default 127.0.0.1
	label           string
	keys            [][]byte // primary first
	protocolVersion uint8    // 0: memberlist default (2)
	noCompress      bool
	delegate        bool   // install a Delegate (NodeMeta/LocalState/GetBroadcasts)
	meta            []byte // NodeMeta
	localState      []byte // LocalState
	ping            bool   // install a PingDelegate
	ackPayload      []byte // its AckPayload
	addr16          bool   // advertise the 16-byte IPv4-mapped address
	bindPortAs      func() int
	disableTCPPings bool
	indirectChecks  int // 0: default; <0: none
	suspicionMult   int
	pushPull        time.Duration
	noGossip        bool // no gossip ticker: broadcasts leave only piggybacked on probes/acks
	gossipInterval  time.Duration
	probeInterval   time.Duration
}

type node struct {
	name string
	opts nodeOpts
	rec  *recorder
	tr   *recTransport
	ml   *memberlist.Memberlist
	conf *memberlist.Config
	del  *delegate
	ip   net.IP
	port int
}

func (n *node) addr() string { return hostPort(n.ip, n.port) }

func (n *node) receiveConfig() (string, [][]byte) {
	var keys [][]byte
	if n.conf != nil && n.conf.Keyring != nil {
		keys = n.conf.Keyring.GetKeys()
	} else if len(n.opts.keys) > 0 {
		keys = n.opts.keys
	}
	return n.opts.label, keys
}

func (n *node) self() *memberlist.Node { return n.ml.LocalNode() }

// member returns n's view of the member called name.
func (n *node) member(name string) *memberlist.Node {
	for _, m := range n.ml.Members() {
		if m.Name == name {
			return m
		}
	}
	return nil
}

type delegate struct {
	meta, state []byte
	mu          sync.Mutex
	queue       [][]byte
}

func (d *delegate) NodeMeta(int) []byte                 { return d.meta }
func (d *delegate) NotifyMsg([]byte)                    {}
func (d *delegate) LocalState(bool) []byte              { return d.state }
func (d *delegate) MergeRemoteState(buf []byte, _ bool) {}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out [][]byte
	used := 0
	for len(d.queue) > 0 && used+len(d.queue[0])+overhead <= limit {
		used += len(d.queue[0]) + overhead
		out = append(out, d.queue[0])
		d.queue = d.queue[1:]
	}
	return out
}

func (d *delegate) enqueue(msgs ...[]byte) {
	d.mu.Lock()
	d.queue = append(d.queue, msgs...)
	d.mu.Unlock()
}

type pingDelegate struct{ payload []byte }

func (p *pingDelegate) AckPayload() []byte                                         { return p.payload }
func (p *pingDelegate) NotifyPingComplete(*memberlist.Node, time.Duration, []byte) {}

// want is one golden file the scenario must produce.
type want struct {
	file   string
	desc   string
	sig    string // path.Match pattern against record.sig()
	extra  func(*record) bool
	got    *record
	scName string
}

// scenario owns a set of nodes and the wants they must satisfy.
type scenario struct {
	name  string
	rec   *recorder
	nodes []*node
	wants []*want
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) contains(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Contains(s.b.Bytes(), []byte(sub))
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newScenario(name string) *scenario {
	return &scenario{name: name, rec: newRecorder(), logs: &syncBuffer{}}
}

// baseConfig is DefaultLocalConfig with short timers so that everything
// happens within a second or two. None of these settings change bytes on
// the wire except where a scenario says so.
func baseConfig(name string) *memberlist.Config {
	c := memberlist.DefaultLocalConfig()
	c.Name = name
	c.ProbeInterval = 200 * time.Millisecond
	c.ProbeTimeout = 80 * time.Millisecond
	c.GossipInterval = 50 * time.Millisecond
	c.PushPullInterval = 0 // only where a scenario asks for it
	c.TCPTimeout = 2 * time.Second
	c.SuspicionMaxTimeoutMult = 2
	return c
}

func (s *scenario) addNode(name string, o nodeOpts) (*node, error) {
	if o.ip == "" {
		o.ip = "127.0.0.1"
	}
	n := &node{name: name, opts: o, rec: s.rec}
	nt, err := newNetTransport(o.ip)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	n.ip = net.ParseIP(o.ip)
	n.port = nt.GetAutoBindPort()
	n.tr = newRecTransport(n, nt)
	s.rec.mu.Lock()
	s.rec.byAddr[n.addr()] = n
	s.rec.mu.Unlock()

	c := baseConfig(name)
	c.BindAddr = o.ip
	c.BindPort = n.port
	c.AdvertiseAddr = o.ip
	c.AdvertisePort = n.port
	if o.bindPortAs != nil {
		c.BindPort = o.bindPortAs()
	}
	c.Transport = n.tr
	c.Label = o.label
	if len(o.keys) > 0 {
		kr, err := memberlist.NewKeyring(o.keys[1:], o.keys[0])
		if err != nil {
			_ = n.tr.Shutdown()
			return nil, err
		}
		c.Keyring = kr
	}
	if o.protocolVersion != 0 {
		c.ProtocolVersion = o.protocolVersion
	}
	c.EnableCompression = !o.noCompress
	if o.delegate {
		n.del = &delegate{meta: o.meta, state: o.localState}
		c.Delegate = n.del
	}
	if o.ping {
		c.Ping = &pingDelegate{payload: o.ackPayload}
	}
	c.DisableTcpPings = o.disableTCPPings
	if o.indirectChecks < 0 {
		c.IndirectChecks = 0
	} else if o.indirectChecks > 0 {
		c.IndirectChecks = o.indirectChecks
	}
	if o.suspicionMult > 0 {
		c.SuspicionMult = o.suspicionMult
	}
	c.PushPullInterval = o.pushPull
	if o.probeInterval > 0 {
		c.ProbeInterval = o.probeInterval
	}
	if o.gossipInterval > 0 {
		c.GossipInterval = o.gossipInterval
	}
	if o.noGossip {
		c.GossipInterval = 0
	}
	c.LogOutput = prefixWriter{w: s.logs, prefix: name + " "}
	n.conf = c
	ml, err := memberlist.Create(c)
	if err != nil {
		_ = n.tr.Shutdown()
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	n.ml = ml
	s.nodes = append(s.nodes, n)
	return n, nil
}

type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if *verbose {
		log.Printf("%s%s", p.prefix, bytes.TrimRight(b, "\n"))
	}
	_, _ = p.w.Write(append([]byte(p.prefix), b...))
	return len(b), nil
}

// join makes n join the cluster through every one of targets (a push/pull
// with each), so that convergence does not depend on gossip alone.
func (s *scenario) join(n *node, targets ...*node) error {
	var addrs []string
	for _, t := range targets {
		addrs = append(addrs, t.name+"/"+t.addr())
	}
	got, err := n.ml.Join(addrs)
	if err != nil || got != len(targets) {
		return fmt.Errorf("%s joining %v: %d of %d contacted: %v", n.name, addrs, got, len(targets), err)
	}
	return nil
}

// update makes n broadcast a fresh alive about itself (UpdateNode), waits
// until n has sent it, then gives the other nodes time to re-gossip it, so
// that the next broadcast does not share a compound with this one.
func (s *scenario) update(n *node) error {
	if err := n.ml.UpdateNode(3 * time.Second); err != nil {
		return fmt.Errorf("%s UpdateNode: %w", n.name, err)
	}
	time.Sleep(300 * time.Millisecond)
	return nil
}

// converge waits until every running node sees count alive members.
func (s *scenario) converge(count int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok := true
		for _, n := range s.nodes {
			if n.ml == nil || n.stopped() {
				continue
			}
			if n.ml.NumMembers() != count {
				ok = false
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			var st []string
			for _, n := range s.nodes {
				if !n.stopped() {
					st = append(st, fmt.Sprintf("%s sees %d", n.name, n.ml.NumMembers()))
				}
			}
			return fmt.Errorf("cluster did not converge to %d members: %s", count, strings.Join(st, ", "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *node) stopped() bool {
	select {
	case <-n.tr.closing:
		return true
	default:
		return false
	}
}

func (s *scenario) expect(ws ...*want) {
	for _, w := range ws {
		w.scName = s.name
	}
	s.wants = append(s.wants, ws...)
}

// match assigns untaken records to pending wants, first record first.
func (s *scenario) match() (pending []*want) {
	s.rec.mu.Lock()
	recs := append([]*record(nil), s.rec.records...)
	s.rec.mu.Unlock()
	for _, w := range s.wants {
		if w.got != nil {
			continue
		}
		for _, r := range recs {
			if r.taken || r.err != nil {
				continue
			}
			if ok, _ := path.Match(w.sig, r.sig()); !ok {
				continue
			}
			if w.extra != nil && !w.extra(r) {
				continue
			}
			r.taken = true
			w.got = r
			break
		}
		if w.got == nil {
			pending = append(pending, w)
		}
	}
	return pending
}

// wait blocks until every want registered so far has a record, or fails
// after timeout listing what is missing and what was seen instead.
func (s *scenario) wait(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pending := s.match()
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			fmt.Fprintf(&b, "scenario %s: timed out after %v waiting for:\n", s.name, timeout)
			for _, w := range pending {
				fmt.Fprintf(&b, "  %s (want %s)\n", w.file, w.sig)
			}
			b.WriteString("  signatures seen:\n")
			for _, line := range s.seen() {
				fmt.Fprintf(&b, "    %s\n", line)
			}
			return fmt.Errorf("%s", b.String())
		}
		time.Sleep(15 * time.Millisecond)
	}
}

func (s *scenario) seen() []string {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	count := map[string]int{}
	for _, r := range s.rec.records {
		count[r.from+"->"+r.to+" "+r.sig()]++
	}
	var out []string
	for k, v := range count {
		out = append(out, fmt.Sprintf("%3d× %s", v, k))
	}
	sort.Strings(out)
	return out
}

// decodeErrors lists records the oracle could not decode.
func (s *scenario) decodeErrors() []string {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	var out []string
	for _, r := range s.rec.records {
		if r.err != nil {
			out = append(out, fmt.Sprintf("%s %s->%s: %v (%s)", r.channel, r.from, r.to, r.err, hex.EncodeToString(r.data)))
		}
	}
	return out
}

// shutdownAll stops every node still running (without leaving).
func (s *scenario) shutdownAll() {
	var wg sync.WaitGroup
	for _, n := range s.nodes {
		if n.ml == nil {
			continue
		}
		wg.Add(1)
		go func(n *node) {
			defer wg.Done()
			_ = n.ml.Shutdown()
		}(n)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		log.Printf("scenario %s: shutdown is taking long; continuing", s.name)
	}
}
