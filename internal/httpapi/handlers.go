package httpapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/rumorproject/rumor/internal/api"
)

// members answers GET /v1/members[?state=alive,suspect].
func (s *server) members(w http.ResponseWriter, r *http.Request) error {
	want, err := listParam(r, "state", "state", api.States)
	if err != nil {
		return err
	}
	all := s.b.Members()
	out := make([]api.Member, 0, len(all))
	for _, m := range all {
		if len(want) == 0 || slices.Contains(want, m.State) {
			out = append(out, normalize(m))
		}
	}
	slices.SortFunc(out, func(a, b api.Member) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, out)
	return nil
}

// member answers GET /v1/members/{name}.
func (s *server) member(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	m, ok := s.b.Member(name)
	if !ok {
		return errorf(http.StatusNotFound, "no member named %q", name)
	}
	writeJSON(w, http.StatusOK, normalize(m))
	return nil
}

func (s *server) self(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, normalize(s.b.Self()))
	return nil
}

// health answers 200 while the node is a working member ("ok" or
// "degraded") and 503 otherwise (it left, or is shutting down), so that a
// load balancer's check needs no body parsing.
func (s *server) health(w http.ResponseWriter, r *http.Request) error {
	h := s.b.Health()
	if h.ProbeRTT == nil {
		h.ProbeRTT = map[string]float64{}
	}
	status := http.StatusOK
	if h.Status != "ok" && h.Status != "degraded" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
	return nil
}

func (s *server) views(w http.ResponseWriter, r *http.Request) error {
	v, ok := s.b.(Viewer)
	if !ok {
		return errorf(http.StatusNotFound, "this agent serves no views (only rumor demo does)")
	}
	views := v.Views()
	out := make([]api.View, len(views)) // a copy: the backend's slice stays as it was
	for i, view := range views {
		ms := make([]api.Member, len(view.Members))
		for j, m := range view.Members {
			ms[j] = normalize(m)
		}
		view.Members = ms
		out[i] = view
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// broadcast answers POST /v1/broadcast with 204.
func (s *server) broadcast(w http.ResponseWriter, r *http.Request) error {
	msg, err := readSend(w, r)
	if err != nil {
		return err
	}
	if msg.Node != "" {
		return errorf(http.StatusBadRequest, "a broadcast goes to every member: drop node %q, or POST to /v1/send", msg.Node)
	}
	if err := s.b.Broadcast(r.Context(), msg.Payload); err != nil {
		return backendError(err, "broadcast")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// send answers POST /v1/send with 204.
func (s *server) send(w http.ResponseWriter, r *http.Request) error {
	msg, err := readSend(w, r)
	if err != nil {
		return err
	}
	if msg.Node == "" {
		return errorf(http.StatusBadRequest, "node is required: the member to send to")
	}
	if err := s.b.Send(r.Context(), msg.Node, msg.Payload); err != nil {
		return backendError(err, "send to "+msg.Node)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readSend reads the body of a broadcast or send: an api.Send when it is
// JSON, the payload itself otherwise (the recipient of a send then comes
// from ?node=). The payload ends up in Payload, non-empty and at most
// MaxPayloadBytes.
func readSend(w http.ResponseWriter, r *http.Request) (api.Send, error) {
	var msg api.Send
	if isJSON(r) {
		if err := decodeJSON(w, r, &msg); err != nil {
			return msg, err
		}
		if msg.Text != "" && len(msg.Payload) > 0 {
			return msg, errorf(http.StatusBadRequest, "give text or payload, not both")
		}
		if msg.Text != "" {
			msg.Payload, msg.Text = []byte(msg.Text), ""
		}
	} else {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPayloadBytes))
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return msg, errorf(http.StatusRequestEntityTooLarge, "payload larger than %d bytes", MaxPayloadBytes)
		}
		if err != nil {
			return msg, fmt.Errorf("reading the body: %w", err)
		}
		msg.Payload = body
	}
	if msg.Node == "" {
		msg.Node = r.URL.Query().Get("node")
	}
	switch {
	case len(msg.Payload) == 0:
		return msg, errorf(http.StatusBadRequest, "empty payload: send text, payload (base64) or a non-JSON body")
	case len(msg.Payload) > MaxPayloadBytes:
		return msg, errorf(http.StatusRequestEntityTooLarge, "payload is %d bytes, more than %d", len(msg.Payload), MaxPayloadBytes)
	}
	return msg, nil
}

// join answers POST /v1/join: 200 when at least one seed answered (with
// the failures, if any, in the error field), else 502 with the same shape,
// which is also an api.Error.
func (s *server) join(w http.ResponseWriter, r *http.Request) error {
	var req api.Join
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Addrs) == 0 {
		return errorf(http.StatusBadRequest, "addrs is empty: give at least one seed address")
	}
	if slices.Contains(req.Addrs, "") {
		return errorf(http.StatusBadRequest, "addrs holds an empty address")
	}
	n, err := s.b.Join(r.Context(), req.Addrs)
	res := api.JoinResult{Contacted: n}
	if err != nil {
		res.Error = err.Error()
	}
	if n > 0 {
		writeJSON(w, http.StatusOK, res)
		return nil
	}
	if err != nil && statusOf(err) != http.StatusInternalServerError {
		return backendError(err, "join") // a bad address, a timeout
	}
	if err == nil {
		res.Error = "no seed answered"
	}
	writeJSON(w, http.StatusBadGateway, res)
	return nil
}

func (s *server) leave(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.Leave(r.Context()); err != nil {
		return backendError(err, "leave")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setTags answers PUT /v1/tags: the body is the whole new set.
func (s *server) setTags(w http.ResponseWriter, r *http.Request) error {
	var req api.Tags
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Tags == nil {
		// Clearing every tag must be said with {"tags":{}}, not by
		// leaving the field out by mistake.
		return errorf(http.StatusBadRequest, `tags is required: the whole new tag set ({"tags":{}} clears them)`)
	}
	if _, ok := req.Tags[""]; ok {
		return errorf(http.StatusBadRequest, "a tag name is empty")
	}
	if err := s.b.SetTags(r.Context(), req.Tags); err != nil {
		return backendError(err, "set tags")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) keys(w http.ResponseWriter, r *http.Request) error {
	keys := s.b.Keys()
	if keys == nil {
		keys = []string{}
	}
	writeJSON(w, http.StatusOK, api.Keys{Keys: keys})
	return nil
}

// installKey answers POST /v1/keys with 204.
func (s *server) installKey(w http.ResponseWriter, r *http.Request) error {
	var req api.Key
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	key, err := parseKey(req.Key)
	if err != nil {
		return err
	}
	if err := s.b.InstallKey(key, req.Primary); err != nil {
		return backendError(err, "install key")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeKey answers DELETE /v1/keys (key in the body or in ?key=) with 204.
func (s *server) removeKey(w http.ResponseWriter, r *http.Request) error {
	var req api.Key
	if q := r.URL.Query(); q.Has("key") {
		// An unescaped "+" in a query string reads as a space.
		req.Key = strings.ReplaceAll(q.Get("key"), " ", "+")
	} else if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	key, err := parseKey(req.Key)
	if err != nil {
		return err
	}
	if err := s.b.RemoveKey(key); err != nil {
		return backendError(err, "remove key")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// backendError names the operation in a server-side failure; the
// backend's own message for a bad request already says what is wrong.
func backendError(err error, op string) error {
	if statusOf(err) < http.StatusInternalServerError {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// parseKey decodes a base64 AES key as memberlist takes it.
func parseKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errorf(http.StatusBadRequest, "key is required (base64)")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "key is not valid base64: %v", err)
	}
	if n := len(key); n != 16 && n != 24 && n != 32 {
		return nil, errorf(http.StatusBadRequest, "key is %d bytes, want 16, 24 or 32 (AES-128, -192 or -256)", n)
	}
	return key, nil
}

// listParam returns the values of a query parameter, repeated or
// comma-separated, each checked against valid; what names one value.
func listParam(r *http.Request, name, what string, valid []string) ([]string, error) {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if !slices.Contains(valid, s) {
				return nil, errorf(http.StatusBadRequest, "?%s: unknown %s %q: want one of %s", name, what, s, strings.Join(valid, ", "))
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// normalize keeps the documented promise that tags are never null.
func normalize(m api.Member) api.Member {
	if m.Tags == nil {
		m.Tags = map[string]string{}
	}
	return m
}
