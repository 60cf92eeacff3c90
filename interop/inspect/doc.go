// Package inspect checks rumor's read-only cluster inspection
// (internal/inspect) and its Serf tag codec (internal/tags) against the
// real hashicorp/memberlist v0.7.0 and go-msgpack v2.1.5: inspecting a
// memberlist cluster shows its table and leaves it unchanged, wrong keys
// and labels give clear errors, and tags encode and decode byte for byte
// as Serf's encodeTags and decodeTags do. It holds tests only.
package inspect
