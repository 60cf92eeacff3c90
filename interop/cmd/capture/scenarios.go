package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// Fixed, recognisable keys (hex 000102..., and 202122... for the second
// key of the two-key keyring).
var (
	key16  = seqBytes(0x00, 16)
	key24  = seqBytes(0x00, 24)
	key32  = seqBytes(0x00, 32)
	key32b = seqBytes(0x20, 32)
)

func seqBytes(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

var (
	smallMeta = []byte("role=web")
	// 400 bytes of repetitive metadata: LZW shrinks it a lot, so packets
	// carrying this node's alive message go out compressed.
	bigMeta = []byte(strings.Repeat("zone=us-east-1a;", 25))
)

const (
	waitShort = 6 * time.Second
	waitLong  = 10 * time.Second
)

type scenarioDef struct {
	name string
	run  func(*scenario) error
}

func allScenarios() []scenarioDef {
	return []scenarioDef{
		{"plain", scPlain},
		{"failure", scFailure},
		{"suspect", scSuspectProbe},
		{"user", scUser},
		{"nocompress", scNoCompress},
		{"label", variant("label", "lab", func(string) [][]byte { return nil })},
		{"enc1", variant("enc1", "", func(string) [][]byte { return [][]byte{key16} })},
		{"enc1-label", variant("enc1-label", "lab", func(string) [][]byte { return [][]byte{key32} })},
		{"enc0", scEnc0("enc0", "", [][]byte{key16}, true)},
		{"enc0-label", scEnc0("enc0-label", "lab", [][]byte{key24}, false)},
		{"keys2", scKeys2},
		{"ipv6", scIPv6},
	}
}

// ---- want helpers ----------------------------------------------------

type pred func(*record) bool

func w(file, desc, sig string, ps ...pred) *want {
	return &want{file: file + ".json", desc: desc, sig: sig, extra: func(r *record) bool {
		for _, p := range ps {
			if !p(r) {
				return false
			}
		}
		return true
	}}
}

func from(name string) pred { return func(r *record) bool { return r.from == name } }
func to(name string) pred   { return func(r *record) bool { return r.to == name } }
func isNil(i int, f string) pred {
	return func(r *record) bool { return r.field(i, f) == nil }
}
func eq(i int, f string, v any) pred {
	return func(r *record) bool { return fmt.Sprint(r.field(i, f)) == fmt.Sprint(v) }
}
func hexLen(i int, f string, n int) pred {
	return func(r *record) bool {
		s, ok := r.field(i, f).(string)
		return ok && len(s) == 2*n
	}
}
func sameField(i int, a, b string) pred {
	return func(r *record) bool { return fmt.Sprint(r.field(i, a)) == fmt.Sprint(r.field(i, b)) }
}
func not(p pred) pred           { return func(r *record) bool { return !p(r) } }
func hasTrailer(r *record) bool { return r.res.Trailer != nil }
func noTrailer(r *record) bool  { return r.res.Trailer == nil }
func join(v bool) pred          { return eq(0, "Join", v) }

// ---- small actions ---------------------------------------------------

func until(what string, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(15 * time.Millisecond)
	}
	return nil
}

// rawClient connects to n's TCP listener directly (not through memberlist),
// writes send and reads the reply until the node closes the connection.
func rawClient(n *node, send []byte) ([]byte, error) {
	c, err := net.DialTimeout("tcp", n.addr(), 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write(send); err != nil {
		return nil, err
	}
	return io.ReadAll(c)
}

// provokeErr makes n answer with an errResp: a plain node is sent the
// encrypted-stream marker 0x0a, an encrypted node an unencrypted push-pull
// type byte. Both make readStream fail, and handleConn replies with errMsg.
func provokeErr(n *node) error {
	var send []byte
	if n.opts.label != "" {
		send = append(send, 0xf4, byte(len(n.opts.label)))
		send = append(send, n.opts.label...)
	}
	if len(n.opts.keys) > 0 {
		send = append(send, 0x06)
	} else {
		send = append(send, 0x0a)
	}
	reply, err := rawClient(n, send)
	if err != nil {
		return fmt.Errorf("raw client to %s: %w", n.name, err)
	}
	if len(reply) == 0 {
		return fmt.Errorf("raw client to %s: empty reply", n.name)
	}
	return nil
}

// ---- scenarios -------------------------------------------------------

// scPlain: no label, no encryption, compression on (the default).
func scPlain(s *scenario) error {
	a, err := s.addNode("a", nodeOpts{noGossip: true})
	if err != nil {
		return err
	}
	b, err := s.addNode("b", nodeOpts{delegate: true, meta: smallMeta, ping: true, ackPayload: []byte("ack-from-b")})
	if err != nil {
		return err
	}
	s.expect(
		w("stream-pushpull-join-dialer-zip", "push/pull join request written by the joining node; compression on (default), so the whole payload is an LZW compress wrapper", "dialer|zip|push-pull*", join(true), from("b")),
		w("stream-pushpull-join-acceptor-zip", "push/pull reply to a join, written by the accepting node (no label header on replies); compressed", "acceptor|zip|push-pull*", join(true), from("a")),
	)
	if err := s.join(b, a); err != nil {
		return err
	}
	c, err := s.addNode("c", nodeOpts{delegate: true, meta: bigMeta, ping: true, ackPayload: []byte{}, gossipInterval: 300 * time.Millisecond})
	if err != nil {
		return err
	}
	if err := s.join(c, a, b); err != nil {
		return err
	}
	d, err := s.addNode("d", nodeOpts{addr16: true})
	if err != nil {
		return err
	}
	if err := s.join(d, a, b, c); err != nil {
		return err
	}
	if err := s.converge(4, waitShort); err != nil {
		return err
	}
	s.expect(
		w("packet-ping-plain", "direct UDP probe sent bare (nothing queued to piggyback); Source fields present, 4-byte address", "packet|plain|ping", hexLen(0, "SourceAddr", 4)),
		w("packet-ping-addr16-plain", "direct UDP probe from a node advertising the 16-byte IPv4-mapped form of 127.0.0.1 (as NetTransport does when bound to 0.0.0.0)", "packet|plain|ping", from("d"), hexLen(0, "SourceAddr", 16)),
		w("packet-ack-plain", "ack from a node without PingDelegate: Payload nil (c0)", "packet|plain|ack", from("a"), isNil(0, "Payload")),
		w("packet-ack-payload-plain", "ack carrying PingDelegate.AckPayload()", "packet|plain|ack", from("b"), eq(0, "Payload", "61636b2d66726f6d2d62")),
		w("packet-ack-payload-empty-plain", "ack whose PingDelegate returns an empty non-nil slice: Payload encodes as a0, not c0", "packet|plain|ack", from("c"), eq(0, "Payload", "")),
		w("packet-compound-ping-alive-plain", "probe with a queued alive broadcast piggybacked (sender has no gossip ticker): compound, ping first; direct sends carry no CRC", "packet|compound|ping,alive*", from("a")),
		w("packet-compound-ack-alive-plain", "ack with a queued alive broadcast piggybacked: compound, ack first", "packet|compound|ack,alive*", from("a")),
		w("packet-alive-crc-plain", "gossip of a single alive (Meta nil, 4-byte Addr) sent bare inside a CRC frame", "packet|crc|alive", isNil(0, "Meta"), hexLen(0, "Addr", 4)),
		w("packet-alive-meta-crc-plain", "gossip of a single alive whose Meta comes from Delegate.NodeMeta", "packet|crc|alive", eq(0, "Node", "b"), eq(0, "Meta", "726f6c653d776562")),
		w("packet-alive-addr16-crc-plain", "gossip of an alive with a 16-byte IPv4-mapped Addr", "packet|crc|alive", eq(0, "Node", "d"), hexLen(0, "Addr", 16)),
		w("packet-alive-zip-crc-plain", "gossip of an alive with 400 bytes of Meta: LZW made it smaller, so it is compressed, then CRC framed", "packet|crc+zip|alive"),
		w("stream-err-acceptor-zip", "errResp (type 13) written by a plain node after a client sent the encrypted-stream marker 0x0a; compressed like every stream reply", "acceptor|zip|err", to("raw-client")),
	)
	if err := provokeErr(a); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond) // let the join broadcasts drain
	for _, n := range []*node{a, b, d, c} {
		if err := s.update(n); err != nil {
			return err
		}
	}
	// Two fresh alive messages at once: c gossips only every 300ms, so it
	// usually relays both in one compound, which LZW then shrinks (the two
	// maps repeat the same keys). Retry a few times if not.
	compound := w("packet-compound-zip-crc-plain", "gossip of two alive broadcasts in one compound, compressed (LZW wins on the repeated keys), then CRC framed", "packet|crc+zip+compound|alive,alive")
	s.expect(compound)
	for i := 0; i < 4 && compound.got == nil; i++ {
		errs := make(chan error, 2)
		go func() { errs <- s.update(b) }()
		go func() { errs <- s.update(d) }()
		for range 2 {
			if err := <-errs; err != nil {
				return err
			}
		}
		s.match()
	}
	if err := s.wait(waitLong); err != nil {
		return err
	}
	s.expect(w("packet-dead-left-crc-plain", "a node called Leave: dead with From == Node, gossiped bare with CRC", "packet|crc|dead", eq(0, "Node", "c"), sameField(0, "From", "Node")))
	if err := c.ml.Leave(3 * time.Second); err != nil {
		return err
	}
	return s.wait(waitShort)
}

// scFailure: a node dies; the survivors probe it directly, indirectly
// (helper answers with a nack) and over TCP, then suspect it and declare it
// dead.
func scFailure(s *scenario) error {
	// Gossip much more often than probes, so that new broadcasts leave as
	// bare gossip before a probe or ack can piggyback them.
	fast := nodeOpts{gossipInterval: 20 * time.Millisecond}
	a, err := s.addNode("a", fast)
	if err != nil {
		return err
	}
	b, err := s.addNode("b", fast)
	if err != nil {
		return err
	}
	t, err := s.addNode("t", fast)
	if err != nil {
		return err
	}
	// The suspicion timeout is a multiple of the probe interval, so a and
	// b tend to declare t dead right at a probe tick, and the dead message
	// then rides on a ping or ack. x probes slowly and re-gossips the dead
	// message it hears at a random moment, typically as bare gossip.
	x, err := s.addNode("x", nodeOpts{gossipInterval: 20 * time.Millisecond, probeInterval: 1100 * time.Millisecond})
	if err != nil {
		return err
	}
	if err := s.join(b, a); err != nil {
		return err
	}
	if err := s.join(t, a, b); err != nil {
		return err
	}
	if err := s.join(x, a, b, t); err != nil {
		return err
	}
	if err := s.converge(4, waitShort); err != nil {
		return err
	}
	time.Sleep(400 * time.Millisecond) // let queued broadcasts drain
	s.expect(
		w("packet-indirect-ping-plain", "indirect probe request to a helper (Nack true: the helper advertises PMax 5)", "packet|plain|indirect-ping", eq(0, "Nack", true), eq(0, "Node", "t")),
		w("packet-nack-plain", "nack from the helper: the target did not answer within ProbeTimeout", "packet|plain|nack"),
		w("packet-suspect-crc-plain", "gossip of a single suspect, CRC framed", "packet|crc|suspect", eq(0, "Node", "t")),
		w("packet-dead-crc-plain", "gossip of a dead declared after the suspicion timeout (From != Node)", "packet|crc|dead", eq(0, "Node", "t"), not(sameField(0, "From", "Node"))),
	)
	if err := t.ml.Shutdown(); err != nil {
		return err
	}
	return s.wait(waitLong)
}

// scSuspectProbe: UDP from a to c is dropped until a suspects c; then a's
// probe of the suspect node is the direct [ping, suspect] compound. While
// UDP is cut, c's acks from a are lost too, so c falls back to a TCP ping.
func scSuspectProbe(s *scenario) error {
	a, err := s.addNode("a", nodeOpts{disableTCPPings: true, suspicionMult: 30})
	if err != nil {
		return err
	}
	c, err := s.addNode("c", nodeOpts{suspicionMult: 30})
	if err != nil {
		return err
	}
	if err := s.join(c, a); err != nil {
		return err
	}
	if err := s.converge(2, waitShort); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	s.rec.setDrop(func(f, t string) bool { return f == "a" && t == "c" })
	s.expect(
		w("stream-ping-dialer-zip", "TCP fallback ping after the UDP probe timed out (same SeqNo as the UDP ping); compressed", "dialer|zip|ping", from("c")),
		w("stream-ack-acceptor-zip", "ack written back on the TCP fallback connection; Payload nil; compressed", "acceptor|zip|ack", from("a")),
	)
	if err := until("a to suspect c", waitLong, func() bool { return s.logs.contains("[INFO] memberlist: Suspect c has failed") }); err != nil {
		return err
	}
	if err := s.wait(waitShort); err != nil {
		return err
	}
	time.Sleep(400 * time.Millisecond) // suspect broadcasts used up while c is cut off
	s.expect(
		w("packet-compound-ping-suspect-crc-plain", "probe of a suspect node: [ping, suspect] compound sent directly, CRC framed since the target is known", "packet|crc+compound|ping,suspect", to("c")),
		w("packet-alive-refute-crc-plain", "refutation: the suspected node gossips its alive with a higher incarnation", "packet|crc|alive", from("c"), eq(0, "Node", "c"), not(eq(0, "Incarnation", 1))),
	)
	s.rec.setDrop(nil)
	return s.wait(waitLong)
}

// scUser: user messages over UDP and TCP, delegate broadcasts, and
// push/pull with delegate user state.
func scUser(s *scenario) error {
	a, err := s.addNode("a", nodeOpts{delegate: true, localState: []byte("state-of-a")})
	if err != nil {
		return err
	}
	b, err := s.addNode("b", nodeOpts{delegate: true, localState: []byte("state-of-b")})
	if err != nil {
		return err
	}
	s.expect(
		w("stream-pushpull-join-dialer-userstate-zip", "push/pull join request with Delegate.LocalState bytes after the node states (trailer); compressed", "dialer|zip|push-pull*", join(true), hasTrailer),
		w("stream-pushpull-join-acceptor-userstate-zip", "push/pull reply with the acceptor's LocalState trailer; compressed", "acceptor|zip|push-pull*", join(true), hasTrailer),
	)
	if err := s.join(b, a); err != nil {
		return err
	}
	if err := s.converge(2, waitShort); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	bn := a.member("b")
	if bn == nil {
		return fmt.Errorf("a does not know b")
	}
	s.expect(
		w("packet-user-crc-plain", "SendBestEffort: 0x08 + raw bytes, CRC framed because the target node is known", "packet|crc|user", from("a"), eq(0, "Payload", "68656c6c6f2d626573742d6566666f7274")),
		w("packet-user-empty-crc-plain", "SendBestEffort with an empty message: just the 0x08 type byte inside the CRC frame", "packet|crc|user", from("a"), eq(0, "Payload", "")),
		w("packet-user-plain", "SendToAddress: the destination is not looked up by node, so no CRC frame", "packet|plain|user", from("a")),
		w("stream-user-dialer-zip", "SendReliable: userMsgHeader then the raw message bytes (trailer); compressed", "dialer|zip|user-header", from("a"), hasTrailer),
	)
	if err := a.ml.SendBestEffort(bn, []byte("hello-best-effort")); err != nil {
		return err
	}
	if err := a.ml.SendBestEffort(bn, []byte{}); err != nil {
		return err
	}
	if err := a.ml.SendToAddress(memberlist.Address{Addr: b.addr(), Name: "b"}, []byte("hello-to-address")); err != nil {
		return err
	}
	if err := a.ml.SendReliable(bn, []byte("hello-reliable")); err != nil {
		return err
	}
	if err := s.wait(waitShort); err != nil {
		return err
	}
	s.expect(w("packet-compound-user-crc-plain", "two delegate broadcasts (GetBroadcasts) gossiped as one compound of 0x08 user messages, CRC framed", "packet|crc+compound|user,user", from("a")))
	a.del.enqueue([]byte("user-broadcast-1"), []byte("user-broadcast-2"))
	return s.wait(waitShort)
}

// scNoCompress: EnableCompression=false, so streams are plain.
func scNoCompress(s *scenario) error {
	a, err := s.addNode("a", nodeOpts{noCompress: true, pushPull: 300 * time.Millisecond})
	if err != nil {
		return err
	}
	b, err := s.addNode("b", nodeOpts{noCompress: true, delegate: true, localState: []byte("state-of-b"), pushPull: 300 * time.Millisecond})
	if err != nil {
		return err
	}
	s.expect(
		w("stream-pushpull-join-dialer-plain", "push/pull join request, compression off; the dialer's delegate LocalState is the trailer", "dialer|plain|push-pull*", join(true), from("b"), hasTrailer),
		w("stream-pushpull-join-acceptor-plain", "push/pull reply to a join, compression off, no delegate (UserStateLen 0, no trailer)", "acceptor|plain|push-pull*", join(true), from("a"), noTrailer),
		w("stream-pushpull-sync-dialer-plain", "periodic anti-entropy push/pull (Join false), compression off", "dialer|plain|push-pull*", join(false)),
		w("stream-user-dialer-plain", "SendReliable with compression off: 0x08, userMsgHeader, raw bytes", "dialer|plain|user-header", hasTrailer),
		w("stream-err-acceptor-plain", "errResp written by a node with compression off after a client sent 0x0a to it", "acceptor|plain|err", to("raw-client")),
	)
	if err := s.join(b, a); err != nil {
		return err
	}
	if err := s.converge(2, waitShort); err != nil {
		return err
	}
	if an := b.member("a"); an != nil {
		if err := b.ml.SendReliable(an, []byte("reliable-plain")); err != nil {
			return err
		}
	}
	if err := provokeErr(a); err != nil {
		return err
	}
	if err := s.wait(waitShort); err != nil {
		return err
	}
	s.expect(
		w("stream-ping-dialer-plain", "TCP fallback ping, compression off", "dialer|plain|ping"),
		w("stream-ack-acceptor-plain", "ack on the TCP fallback connection, compression off", "acceptor|plain|ack"),
	)
	s.rec.setDrop(func(f, t string) bool { return f == "a" && t == "b" })
	return s.wait(waitShort)
}

// variant runs a three-node cluster with the given label and keyring and
// captures the main message kinds through those layers.
func variant(suffix, label string, keys func(string) [][]byte) func(*scenario) error {
	return func(s *scenario) error {
		lay := []string{}
		if label != "" {
			lay = append(lay, "label")
		}
		enc := len(keys("a")) > 0
		if enc {
			lay = append(lay, "enc1")
		}
		pkt := strings.Join(lay, "+")
		acc := "zip"
		if enc {
			acc = "enc1+zip"
		}
		a, err := s.addNode("a", nodeOpts{label: label, keys: keys("a")})
		if err != nil {
			return err
		}
		b, err := s.addNode("b", nodeOpts{label: label, keys: keys("b"), delegate: true, meta: smallMeta})
		if err != nil {
			return err
		}
		var parts []string
		if label != "" {
			parts = append(parts, fmt.Sprintf("label %q", label))
		}
		if enc {
			parts = append(parts, fmt.Sprintf("AES-%d-GCM, encryption version 1", 8*len(keys("a")[0])))
		}
		desc := strings.Join(parts, ", ")
		s.expect(
			w("stream-pushpull-join-dialer-"+suffix, "push/pull join request; "+desc+"; compressed", "dialer|"+pkt+"+zip|push-pull*", join(true), from("b")),
			w("stream-pushpull-join-acceptor-"+suffix, "push/pull join reply (never has a label header; the label still goes into the AAD); "+desc+"; compressed", "acceptor|"+acc+"|push-pull*", join(true), from("a")),
		)
		if err := s.join(b, a); err != nil {
			return err
		}
		c, err := s.addNode("c", nodeOpts{label: label, keys: keys("c"), delegate: true, meta: bigMeta})
		if err != nil {
			return err
		}
		if err := s.join(c, a, b); err != nil {
			return err
		}
		if err := s.converge(3, waitShort); err != nil {
			return err
		}
		s.expect(
			w("packet-ping-"+suffix, "direct UDP probe; "+desc, "packet|"+pkt+"|ping"),
			w("packet-alive-crc-"+suffix, "gossip of a single alive, CRC framed inside the encryption/label layers; "+desc, "packet|"+pkt+"+crc|alive"),
			w("packet-user-crc-"+suffix, "SendBestEffort user message, CRC framed; "+desc, "packet|"+pkt+"+crc|user"),
			w("stream-err-acceptor-"+suffix, "errResp written after a client sent a bad first byte; "+desc, "acceptor|"+acc+"|err", to("raw-client")),
		)
		if suffix != "enc1-label" {
			s.expect(w("packet-ack-"+suffix, "ack; "+desc, "packet|"+pkt+"|ack"))
		}
		if suffix != "label" {
			s.expect(w("packet-alive-zip-crc-"+suffix, "gossip of an alive with 400 bytes of Meta: compressed, CRC framed, then encrypted; "+desc, "packet|"+pkt+"+crc+zip|alive"))
		}
		if suffix == "enc1" {
			s.expect(
				w("packet-compound-"+suffix, "compound packet; "+desc, "packet|"+pkt+"+*compound|*"),
				w("stream-user-dialer-"+suffix, "SendReliable user message; "+desc+"; compressed", "dialer|"+pkt+"+zip|user-header", hasTrailer),
			)
		}
		time.Sleep(300 * time.Millisecond)
		if err := s.update(b); err != nil {
			return err
		}
		if suffix != "label" {
			if err := s.update(c); err != nil {
				return err
			}
		}
		bn := a.member("b")
		if bn == nil {
			return fmt.Errorf("a does not know b")
		}
		if err := a.ml.SendBestEffort(bn, []byte("hello-"+suffix)); err != nil {
			return err
		}
		if suffix == "enc1" {
			if err := a.ml.SendReliable(bn, []byte("reliable-"+suffix)); err != nil {
				return err
			}
		}
		if err := provokeErr(a); err != nil {
			return err
		}
		return s.wait(waitLong)
	}
}

// scEnc0 runs a node speaking ProtocolVersion 1, which makes it encrypt
// with version 0 (PKCS#7 padding). A version-1 node also substitutes its own
// BindPort for every port it receives, so on loopback (one IP, many ports)
// that node's BindPort is set to its only peer's port; this affects only
// its local bookkeeping, not what it sends.
func scEnc0(suffix, label string, keys [][]byte, full bool) func(*scenario) error {
	return func(s *scenario) error {
		lay := ""
		if label != "" {
			lay = "label+"
		}
		b, err := s.addNode("b", nodeOpts{label: label, keys: keys, pushPull: 300 * time.Millisecond})
		if err != nil {
			return err
		}
		a, err := s.addNode("a", nodeOpts{label: label, keys: keys, protocolVersion: 1, bindPortAs: func() int { return b.port }})
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("sender speaks ProtocolVersion 1 so it encrypts with version 0 (PKCS#7 padded); AES-%d-GCM", 8*len(keys[0]))
		if label != "" {
			desc += fmt.Sprintf("; label %q", label)
		}
		s.expect(
			w("stream-pushpull-join-dialer-"+suffix, "push/pull join request; "+desc+"; compressed", "dialer|"+lay+"enc0+zip|push-pull*", join(true), from("a")),
			w("stream-pushpull-sync-acceptor-"+suffix, "push/pull reply to a periodic sync (Join false); "+desc+"; compressed", "acceptor|enc0+zip|push-pull*", join(false), from("a")),
			w("packet-ping-"+suffix, "direct UDP probe; "+desc, "packet|"+lay+"enc0|ping", from("a")),
		)
		if full {
			s.expect(
				w("packet-ack-"+suffix, "ack; "+desc, "packet|"+lay+"enc0|ack", from("a")),
				w("packet-alive-crc-"+suffix, "gossip of a single alive (Vsn PCur 1), CRC framed; "+desc, "packet|"+lay+"enc0+crc|alive", from("a")),
				w("packet-compound-"+suffix, "compound packet; "+desc, "packet|"+lay+"enc0*compound|*", from("a")),
			)
		}
		if err := s.join(a, b); err != nil {
			return err
		}
		if err := s.converge(2, waitShort); err != nil {
			return err
		}
		if full {
			time.Sleep(300 * time.Millisecond)
			if err := s.update(a); err != nil {
				return err
			}
		}
		return s.wait(waitLong)
	}
}

// scKeys2: two nodes whose keyrings hold the same two keys in opposite
// order, so each decrypts the other's traffic with its second key.
func scKeys2(s *scenario) error {
	a, err := s.addNode("a", nodeOpts{keys: [][]byte{key32b, key16}})
	if err != nil {
		return err
	}
	b, err := s.addNode("b", nodeOpts{keys: [][]byte{key16, key32b}})
	if err != nil {
		return err
	}
	s.expect(
		w("stream-pushpull-join-dialer-keys2", "push/pull join request encrypted with the dialer's primary (AES-128) key; the acceptor's keyring has it second", "dialer|enc1+zip|push-pull*", join(true), from("b")),
		w("stream-pushpull-join-acceptor-keys2", "push/pull reply encrypted with the acceptor's primary (AES-256) key; the dialer's keyring has it second", "acceptor|enc1+zip|push-pull*", join(true), from("a")),
		w("packet-ping-keys2-aes256", "ping encrypted with the sender's primary AES-256 key, which is the receiver's second key", "packet|enc1|ping", from("a")),
		w("packet-ping-keys2-aes128", "ping encrypted with the sender's primary AES-128 key, which is the receiver's second key", "packet|enc1|ping", from("b")),
	)
	if err := s.join(b, a); err != nil {
		return err
	}
	return s.wait(waitLong)
}

// scIPv6: two plain nodes bound on ::1.
func scIPv6(s *scenario) error {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return skipError{"IPv6 loopback ::1 is not available: " + err.Error()}
	}
	_ = l.Close()
	a, err := s.addNode("a", nodeOpts{ip: "::1"})
	if err != nil {
		return skipError{"cannot bind memberlist on ::1: " + err.Error()}
	}
	b, err := s.addNode("b", nodeOpts{ip: "::1"})
	if err != nil {
		return err
	}
	v6 := fmt.Sprintf("%x", bytes.Repeat([]byte{0}, 15)) + "01"
	s.expect(
		w("stream-pushpull-join-dialer-ipv6", "push/pull join request between nodes on ::1 (16-byte Addr); compressed", "dialer|zip|push-pull*", join(true), eq(1, "Addr", v6)),
		w("stream-pushpull-join-acceptor-ipv6", "push/pull join reply between nodes on ::1; compressed", "acceptor|zip|push-pull*", join(true), eq(1, "Addr", v6)),
		w("packet-ping-ipv6", "direct UDP probe between nodes on ::1 (16-byte SourceAddr)", "packet|plain|ping", eq(0, "SourceAddr", v6)),
		w("packet-ack-ipv6", "ack between nodes on ::1", "packet|plain|ack"),
		w("packet-alive-crc-ipv6", "gossip of an alive with the 16-byte ::1 Addr, CRC framed", "packet|crc|alive", eq(0, "Addr", v6)),
	)
	if err := s.join(b, a); err != nil {
		return err
	}
	if err := s.converge(2, waitShort); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	if err := s.update(a); err != nil {
		return err
	}
	return s.wait(waitLong)
}
