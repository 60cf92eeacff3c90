// Package wire encodes and decodes the messages of memberlist's wire protocol
// (hashicorp/memberlist v0.7.0), byte for byte as memberlist does.
//
// The package is a codec only: bytes in, values out, and back. It knows no
// sockets, clocks or protocol rules, so the protocol core, the runtime, the
// simulator and the CLI all share it.
//
// # Layers
//
// A UDP packet is built, from the inside out, as
//
//	message | compound of messages → compress (LZW) → CRC frame → AES-GCM → label header
//
// and a TCP stream as
//
//	label header (dialer only) | message [raw trailer] → compress → AES-GCM with 0x0a framing
//
// [EncodePacket] and [DecodePacket] handle the whole packet stack, [AppendStream]
// and [ReadStream] the stream stack. Single messages are encoded with
// [AppendMessage] and decoded with [DecodeMessage].
//
// # Encoding rules
//
// memberlist encodes its structs with go-msgpack's default handle: structs become
// maps whose keys are the Go field names sorted byte-wise, byte slices are
// encoded as msgpack raw strings (never bin, never str8), nil slices as nil, and
// Go int fields with signed formats. This package writes the same bytes with
// hand-written appenders (no reflection, no allocation into a reused buffer) and
// reads everything go-msgpack accepts: any integer width, str or bin for byte
// fields, unknown keys (skipped), and structs sent as arrays.
//
// # Errors
//
// Every decoding failure is an [*Error] naming the layer, the offset and a
// [Reason]. Callers count drops by reason with [ReasonOf], or test one with
// errors.Is(err, wire.ErrTruncated). Decoders never panic, and never allocate
// more than the input can justify: every length is checked against the bytes
// that remain, and decompression stops at a configured limit.
package wire
