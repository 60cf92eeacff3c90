// Package api holds the JSON shapes of the rumor agent's HTTP API (see
// docs/http-api.md), shared by the server, the CLI client and the tests so
// that the three cannot drift apart.
package api

import (
	"errors"
	"time"
)

// Member states as the API spells them.
const (
	StateAlive   = "alive"
	StateSuspect = "suspect"
	StateDead    = "dead"
	StateLeft    = "left"
)

// States lists every member state, for filters (GET /v1/members?state=).
var States = []string{StateAlive, StateSuspect, StateDead, StateLeft}

// Member is one entry of a node's member table.
type Member struct {
	Name        string            `json:"name"`
	Addr        string            `json:"addr"` // IP address, without the port
	Port        uint16            `json:"port"`
	State       string            `json:"state"`
	Incarnation uint32            `json:"incarnation"`
	Tags        map[string]string `json:"tags"` // decoded from Meta when it holds tags; never null
	Meta        []byte            `json:"meta"` // raw metadata, base64 in JSON
	Protocol    Protocol          `json:"protocol"`
}

// Protocol is the range of protocol versions a member speaks: memberlist's
// (min, max, current) and the application's (delegate) versions.
type Protocol struct {
	Min         uint8 `json:"min"`
	Max         uint8 `json:"max"`
	Cur         uint8 `json:"cur"`
	DelegateMin uint8 `json:"delegate_min"`
	DelegateMax uint8 `json:"delegate_max"`
	DelegateCur uint8 `json:"delegate_cur"`
}

// Health is GET /v1/health.
type Health struct {
	Status  string `json:"status"`  // "ok", or "degraded" when Score > 0
	Score   int    `json:"score"`   // Lifeguard's local health score; 0 is healthy
	Members int    `json:"members"` // alive and suspect, this node included
	// ProbeRTT is the latest probe round trip to each member, in
	// milliseconds, for members probed lately.
	ProbeRTT map[string]float64 `json:"probe_rtt_ms"`
}

// Event kinds on GET /v1/events (the SSE "event:" field and Event.Type).
const (
	EventJoin      = "join"
	EventLeave     = "leave"
	EventDead      = "dead"
	EventUpdate    = "update"
	EventSuspect   = "suspect"
	EventAlive     = "alive" // a suspect member proved alive
	EventRefute    = "refute"
	EventBroadcast = "broadcast" // a payload sent to every member
	EventMessage   = "message"   // a payload sent to this member alone
)

// EventTypes lists every Event.Type, for filters (GET /v1/events?types=);
// add a new kind here too, or filtering on it is refused.
var EventTypes = []string{
	EventJoin, EventLeave, EventDead, EventUpdate, EventSuspect,
	EventAlive, EventRefute, EventBroadcast, EventMessage,
}

// EventLost is the SSE event the server sends instead of events a
// resuming client asked for but the agent no longer retains; its data is
// a Lost. It is never an Event.Type on the agent's side.
const EventLost = "lost"

// Lost is the data of an SSE "lost" event: events with IDs above After
// were dropped before this client could read them.
type Lost struct {
	After uint64 `json:"after"`
}

// Event is one entry of the event stream. ID increases by one per event
// on an agent, and across its restarts (it starts from the start time in
// microseconds); a client resumes after the last ID it saw.
type Event struct {
	ID     uint64    `json:"id"`
	Type   string    `json:"type"`
	Time   time.Time `json:"time"`
	Member *Member   `json:"member,omitempty"` // membership events
	// From is who sent a broadcast or message, when known, or who
	// accused a suspect member.
	From string `json:"from,omitempty"`
	// Payload of a broadcast or message: base64 in JSON; Text repeats it
	// when it is valid UTF-8.
	Payload []byte `json:"payload,omitempty"`
	Text    string `json:"text,omitempty"`
}

// Send is the body of POST /v1/broadcast and POST /v1/send (where Node
// names the recipient). Text and Payload are alternatives; a request body
// that is not JSON is taken as the payload itself.
type Send struct {
	Node    string `json:"node,omitempty"`
	Text    string `json:"text,omitempty"`
	Payload []byte `json:"payload,omitempty"`
}

// Join is the body of POST /v1/join.
type Join struct {
	Addrs []string `json:"addrs"`
}

// JoinResult answers POST /v1/join.
type JoinResult struct {
	Contacted int    `json:"contacted"`
	Error     string `json:"error,omitempty"` // seeds that did not answer, if any
}

// Tags is the body of PUT /v1/tags: the node's whole new tag set.
type Tags struct {
	Tags map[string]string `json:"tags"`
}

// Key is the body of POST /v1/keys (install) and DELETE /v1/keys
// (remove); POST with Primary set installs it and makes it primary.
type Key struct {
	Key     string `json:"key"` // base64
	Primary bool   `json:"primary,omitempty"`
}

// Keys answers GET /v1/keys; the primary key comes first.
type Keys struct {
	Keys []string `json:"keys"`
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

// View is one node's member table, for GET /v1/views: `rumor demo` runs
// several nodes in one process and its dashboard shows every view side by
// side.
type View struct {
	Node    string   `json:"node"`
	HTTP    string   `json:"http"` // that node's API address
	Members []Member `json:"members"`
}

// Errors a backend wraps so the server picks the status code.
var (
	ErrNotFound = errors.New("not found")       // 404: unknown member, say
	ErrInvalid  = errors.New("invalid request") // 400: a bad tag or key
)
