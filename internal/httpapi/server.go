// Package httpapi serves the rumor agent's HTTP API (docs/http-api.md) for a
// Backend: JSON requests and responses under /v1/, the event stream as
// Server-Sent Events, bearer-token auth, request size limits, and the
// metrics and dashboard handlers the agent passes in.
package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Limits and defaults.
const (
	// MaxBodyBytes bounds every request body.
	MaxBodyBytes = 1 << 20
	// MaxPayloadBytes bounds a broadcast or message payload.
	MaxPayloadBytes = 64 << 10
	// DefaultHeartbeat is how often an idle event stream gets a comment,
	// so that proxies and clients see the connection is alive.
	DefaultHeartbeat = 15 * time.Second
	// eventBatch is how many events one EventsSince call returns at most.
	eventBatch = 256
)

// Options configure the handler New returns.
type Options struct {
	// Token, when set, is required as "Authorization: Bearer TOKEN" (or
	// ?token=TOKEN) on every request but GET /v1/health and the dashboard.
	Token string
	// Metrics, when set, is served at GET /metrics (behind the token).
	Metrics http.Handler
	// Dashboard, when set, serves GET / and every other GET path outside
	// /v1/ and /metrics (its assets), without the token: it is static,
	// and its API calls carry the token themselves.
	Dashboard http.Handler
	// Logger receives one debug record per request; nil discards them.
	Logger *slog.Logger
	// Heartbeat is the interval of the event stream's keep-alive
	// comments; 0 means DefaultHeartbeat.
	Heartbeat time.Duration
}

type server struct {
	b         Backend
	opts      Options
	log       *slog.Logger
	mux       *http.ServeMux
	tokenHash [sha256.Size]byte
	heartbeat time.Duration
}

// New returns the API handler for b.
func New(b Backend, opts Options) http.Handler {
	s := &server{
		b:         b,
		opts:      opts,
		log:       opts.Logger,
		mux:       http.NewServeMux(),
		tokenHash: sha256.Sum256([]byte(opts.Token)),
		heartbeat: opts.Heartbeat,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.heartbeat <= 0 {
		s.heartbeat = DefaultHeartbeat
	}
	s.handle("GET /v1/members", s.members)
	s.handle("GET /v1/members/{name}", s.member)
	s.handle("GET /v1/self", s.self)
	s.handle("GET /v1/health", s.health)
	s.handle("GET /v1/views", s.views)
	s.handle("GET /v1/events", s.events)
	s.handle("POST /v1/broadcast", s.broadcast)
	s.handle("POST /v1/send", s.send)
	s.handle("POST /v1/join", s.join)
	s.handle("POST /v1/leave", s.leave)
	s.handle("PUT /v1/tags", s.setTags)
	s.handle("GET /v1/keys", s.keys)
	s.handle("POST /v1/keys", s.installKey)
	s.handle("DELETE /v1/keys", s.removeKey)
	if opts.Metrics != nil {
		s.mux.Handle("GET /metrics", opts.Metrics)
	}
	return s
}

// handlerFunc is an API handler; an error it returns becomes the response
// (see writeError), so handlers cannot forget the status or the body shape.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *server) handle(pattern string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	lw := &logWriter{ResponseWriter: w}
	s.serve(lw, r)
	if lw.status == 0 {
		lw.status = http.StatusOK
	}
	// The path only: the query may hold the token.
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "http request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", lw.status), slog.Int64("bytes", lw.bytes),
		slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr))
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	if pattern == "" && s.opts.Dashboard != nil && !isAPIPath(r.URL.Path) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			s.writeError(w, r, errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path))
			return
		}
		s.opts.Dashboard.ServeHTTP(w, r)
		return
	}
	// Health stays open so load balancers and orchestrators can probe it
	// without the secret.
	if r.URL.Path != "/v1/health" && !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rumor"`)
		s.writeError(w, r, errorf(http.StatusUnauthorized, "missing or wrong token: send Authorization: Bearer TOKEN"))
		return
	}
	if pattern == "" {
		s.notRouted(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// notRouted answers a request no pattern matches: 404, or 405 with Allow
// when the path exists under another method. The mux knows which; its
// plain-text answer is captured and rewritten as an api.Error.
func (s *server) notRouted(w http.ResponseWriter, r *http.Request) {
	h, _ := s.mux.Handler(r)
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		s.writeError(w, r, errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s (allowed: %s)",
			r.Method, r.URL.Path, rec.header.Get("Allow")))
	case http.StatusNotFound, 0:
		s.writeError(w, r, errorf(http.StatusNotFound, "no such endpoint: %s", r.URL.Path))
	default: // a redirect to the cleaned path: let the mux send it
		s.mux.ServeHTTP(w, r)
	}
}

func isAPIPath(path string) bool {
	return path == "/v1" || strings.HasPrefix(path, "/v1/") || path == "/metrics"
}

// authorized reports whether r carries the token. The header wins over
// the query parameter, which exists for browsers' EventSource (it cannot
// set headers). Hashing first makes the comparison constant-time in the
// length too.
func (s *server) authorized(r *http.Request) bool {
	if s.opts.Token == "" {
		return true
	}
	var got string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return false
		}
		got = strings.TrimSpace(rest)
	} else {
		got = r.URL.Query().Get("token")
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], s.tokenHash[:]) == 1
}

// logWriter records the status and size of a response for the request
// log. Unwrap lets http.ResponseController reach the real writer's Flush
// and deadlines.
type logWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *logWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// headerRecorder captures the status and headers of the mux's own 404 and
// 405 answers and discards their bodies.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *headerRecorder) Write(p []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return len(p), nil
}
