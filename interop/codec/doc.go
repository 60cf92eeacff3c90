// Package codec checks rumor's hand-written wire codec (internal/wire)
// against go-msgpack v2.1.5 used the way memberlist v0.7.0 uses it, and
// benchmarks the two side by side. It holds tests and benchmarks only.
//
//	go test ./codec/                                  # property tests
//	go test -run '^$' -bench Codec -benchmem ./codec/ # both implementations
package codec
