package httpapi

import (
	"context"

	"github.com/rumorproject/rumor/internal/api"
)

// Backend is what the API serves: an agent. Errors that wrap
// api.ErrNotFound answer 404, api.ErrInvalid 400, others 500.
type Backend interface {
	Self() api.Member
	Members() []api.Member // every state, dead and left included
	Member(name string) (api.Member, bool)
	Health() api.Health

	// EventsSince returns the retained events with an ID above after
	// (oldest first, at most max, possibly fewer though more are held), whether some such events are no longer
	// retained, and a channel closed when a newer event arrives.
	EventsSince(after uint64, max int) (evs []api.Event, lost bool, wake <-chan struct{})

	Broadcast(ctx context.Context, payload []byte) error
	Send(ctx context.Context, node string, payload []byte) error
	Join(ctx context.Context, addrs []string) (int, error)
	Leave(ctx context.Context) error
	SetTags(ctx context.Context, tags map[string]string) error

	Keys() []string // base64, primary first
	InstallKey(key []byte, primary bool) error
	RemoveKey(key []byte) error
}

// Viewer is a backend that also knows other nodes' views (rumor demo).
type Viewer interface {
	Views() []api.View
}
