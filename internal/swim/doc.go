// Package swim implements the SWIM membership protocol with HashiCorp's
// Lifeguard refinements as a deterministic state machine that speaks
// memberlist v0.7.0's protocol.
//
// A [Node] owns no goroutines, clocks, sockets or global randomness. Every
// input carries the current time; randomness comes from the *rand.Rand given
// to [New]. Inputs are received packets ([Node.HandlePacket]), received
// streams ([Node.HandleStream]), results of streams the node asked for
// ([Node.StreamDone]), deadlines ([Node.Advance]) and API calls
// ([Node.Join], [Node.Leave], [Node.UpdateMeta], [Node.SendPacket],
// [Node.SendReliable]). Outputs accumulate until [Node.Drain] moves them to
// the caller: packets and streams to send, and events. The same inputs give
// the same outputs, byte for byte.
//
// # Usage
//
// The driver (the rumor runtime or the simulator) loops: feed inputs, Drain,
// send what came out, sleep until [Node.NextDeadline] or the next input, and
// call Advance. Packets leave the core as encoded message payloads (a single
// message or a compound); the driver adds the envelope layers (compression,
// CRC when Packet.CRC is set, encryption, label). Streams leave as messages.
//
// # Concurrency
//
// A Node is not safe for concurrent use: one goroutine owns it. Nodes that
// share a [Directory] must all be owned by the same goroutine.
package swim
