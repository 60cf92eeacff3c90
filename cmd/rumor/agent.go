package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rumorproject/rumor/internal/agent"
	"github.com/rumorproject/rumor/internal/dashboard"
	"github.com/rumorproject/rumor/internal/httpapi"
	"github.com/rumorproject/rumor/internal/metrics"
)

// agentCmd runs a long-lived member of a cluster with an HTTP API.
type agentCmd struct {
	Name          string            `env:"RUMOR_NAME" placeholder:"NAME" help:"Node name, unique in the cluster (default: the host name)."`
	BindAddr      string            `env:"RUMOR_BIND_ADDR" default:"0.0.0.0" placeholder:"IP" help:"Address to bind gossip UDP and TCP to (default: ${default})."`
	BindPort      int               `env:"RUMOR_BIND_PORT" default:"7946" placeholder:"PORT" help:"Port to bind gossip UDP and TCP to; 0 picks a free one (default: ${default})."`
	AdvertiseAddr string            `env:"RUMOR_ADVERTISE_ADDR" placeholder:"IP[:PORT]" help:"Address other nodes reach this one at, if not the bound one (behind NAT, in a container)."`
	Join          []string          `env:"RUMOR_JOIN" aliases:"cluster-address,clusterAddress" placeholder:"ADDR" help:"Seed to join: host:port, host, or name/host:port; repeat or separate with commas."`
	JoinDNS       []string          `name:"join-dns" env:"RUMOR_JOIN_DNS" placeholder:"NAME" help:"DNS name whose SRV or A/AAAA records are seeds (a Kubernetes headless service, say); repeatable."`
	RetryJoin     bool              `env:"RUMOR_RETRY_JOIN" help:"Keep retrying the seeds, with backoff, until one answers, instead of giving up after five attempts."`
	RetryMax      time.Duration     `env:"RUMOR_RETRY_MAX" default:"30s" placeholder:"D" help:"Longest wait between join attempts with --retry-join (default: ${default})."`
	Profile       string            `env:"RUMOR_PROFILE" enum:"lan,wan,local" default:"lan" help:"Protocol timing: lan, wan or local (default: ${default})."`
	EncryptKey    string            `env:"RUMOR_ENCRYPT_KEY" placeholder:"BASE64" help:"AES key (16, 24 or 32 bytes, base64) for gossip encryption."`
	KeyringFile   string            `env:"RUMOR_KEYRING_FILE" type:"path" placeholder:"FILE" help:"JSON array of base64 keys, primary first (Serf's format); key changes made through the API are written back."`
	Label         string            `env:"RUMOR_LABEL" placeholder:"LABEL" help:"Cluster label: nodes only talk to nodes with the same label."`
	Tag           map[string]string `env:"RUMOR_TAG" placeholder:"KEY=VALUE" mapsep:"," help:"Tag carried in the node's metadata; repeatable."`
	HTTPAddr      string            `name:"http-addr" env:"RUMOR_HTTP_ADDR" default:"127.0.0.1:7947" placeholder:"HOST:PORT" help:"Where to serve the HTTP API, metrics and dashboard; empty disables it; if the default is taken, a free port is used (default: ${default})."`
	HTTPToken     string            `name:"http-token" env:"RUMOR_HTTP_TOKEN" placeholder:"TOKEN" help:"Require Authorization: Bearer TOKEN on the HTTP API (all but /v1/health)."`
	LogLevel      string            `env:"RUMOR_LOG_LEVEL" enum:"debug,info,warn,error" default:"info" help:"debug, info, warn or error (default: ${default})."`
	LogFormat     string            `env:"RUMOR_LOG_FORMAT" enum:"text,json" default:"text" help:"text or json (default: ${default})."`
}

// defaultHTTPAddr is --http-addr's default.
const defaultHTTPAddr = "127.0.0.1:7947"

// leaveTimeout bounds the graceful leave at SIGINT or SIGTERM.
const leaveTimeout = 10 * time.Second

func (c *agentCmd) Run(e *env) error {
	log, err := newLogger(e.stderr, c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	var keys [][]byte
	if c.EncryptKey != "" {
		k, err := base64.StdEncoding.DecodeString(c.EncryptKey)
		if err != nil {
			return usagef("--encrypt-key: not base64: %v", err)
		}
		keys = append(keys, k)
	}
	m := metrics.New()
	a, err := agent.Start(agent.Config{
		Name: c.Name, Profile: c.Profile, BindAddr: c.BindAddr, BindPort: c.BindPort,
		AdvertiseAddr: c.AdvertiseAddr, Label: c.Label, Tags: c.Tag,
		Seeds: c.Join, JoinDNS: c.JoinDNS, RetryJoin: c.RetryJoin, RetryMax: c.RetryMax,
		Keys: keys, KeyringFile: c.KeyringFile, Logger: log, OnSample: m.Observe,
	})
	if err != nil {
		if _, ok := errors.AsType[*agent.ConfigError](err); ok {
			return usagef("%v", err)
		}
		if errors.Is(err, syscall.EADDRINUSE) {
			// Often a first agent's HTTP API, which takes 7947 by default.
			return fmt.Errorf("%w (another process holds port %d: pick another --bind-port; an agent's HTTP API takes %s unless told otherwise)",
				err, c.BindPort, defaultHTTPAddr)
		}
		return err
	}
	defer a.Shutdown()
	m.Attach(a.Node().Stats)
	registerRelayMetrics(m, a.RelayStats)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var httpURL string
	if c.HTTPAddr != "" {
		h := httpapi.New(a, httpapi.Options{Token: c.HTTPToken, Metrics: m.Handler(), Dashboard: dashboard.Handler(), Logger: log})
		srv, addr, err := serveHTTP(ctx, c.HTTPAddr, h, log)
		if err != nil && c.HTTPAddr == defaultHTTPAddr && !e.flagGiven("http-addr", "RUMOR_HTTP_ADDR") {
			// A second agent on one machine, started with the defaults:
			// serve on a free port rather than fail, and say where.
			log.Warn("the default HTTP address is taken (another agent?); using a free port instead", "addr", c.HTTPAddr, "err", err)
			srv, addr, err = serveHTTP(ctx, "127.0.0.1:0", h, log)
		}
		if err != nil {
			return fmt.Errorf("%w (choose another address with --http-addr)", err)
		}
		defer func() {
			// Finish the requests under way (the leave is over by now).
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if srv.Shutdown(sctx) != nil {
				srv.Close()
			}
		}()
		httpURL = "http://" + addr
	}
	log.Info("agent started", "name", a.Name(), "gossip", a.Node().Addr().String(), "http", httpURL)

	joined := make(chan struct{})
	go func() {
		defer close(joined)
		_ = a.JoinSeeds(ctx) // logs its own outcome
	}()
	<-ctx.Done()
	<-joined
	log.Info("leaving the cluster")
	lctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	if err := a.Leave(lctx); err != nil {
		log.Warn("leave not confirmed", "err", err)
	}
	return nil
}

// flagGiven reports whether --name was on the command line or its
// environment variable set, as opposed to kong filling in the default.
func (e *env) flagGiven(name, envVar string) bool {
	if _, ok := os.LookupEnv(envVar); ok {
		return true
	}
	return slices.ContainsFunc(e.args, func(a string) bool { return a == "--"+name || strings.HasPrefix(a, "--"+name+"=") })
}

// serveHTTP listens on addr and serves h until ctx ends; the returned
// address is the one bound (addr may ask for port 0). Open event streams
// end with ctx, so that closing the server does not wait on them.
func serveHTTP(ctx context.Context, addr string, h http.Handler, log *slog.Logger) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("http: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	return srv, ln.Addr().String(), nil
}

// newLogger writes records of level and up to w as text or JSON.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

// registerRelayMetrics exports what the agent's broadcast relay could not
// do, beside the node's metrics.
func registerRelayMetrics(m *metrics.Metrics, stats func() agent.RelayStats) {
	for _, c := range []struct {
		name, help string
		value      func(agent.RelayStats) uint64
	}{
		{"relay_messages_dropped_total", "User messages from the network the agent dropped: over 64 KiB, malformed, or its queue full.",
			func(s agent.RelayStats) uint64 { return s.Dropped }},
		{"relay_sends_failed_total", "Relayed broadcasts and messages whose reliable send failed or timed out.",
			func(s agent.RelayStats) uint64 { return s.SendsFailed }},
		{"relay_sends_dropped_total", "Relayed sends dropped because the send queue was full.",
			func(s agent.RelayStats) uint64 { return s.SendsQueued }},
	} {
		m.Registry().MustRegister(prometheus.NewCounterFunc(
			prometheus.CounterOpts{Namespace: metrics.Namespace, Name: c.name, Help: c.help},
			func() float64 { return float64(c.value(stats())) }))
	}
}
