package main

import (
	"errors"
	"time"
)

// agentCmd runs a long-lived member of a cluster with an HTTP API.
type agentCmd struct {
	Name          string            `env:"RUMOR_NAME" placeholder:"NAME" help:"Node name, unique in the cluster (default: the host name)."`
	BindAddr      string            `env:"RUMOR_BIND_ADDR" default:"0.0.0.0" placeholder:"IP" help:"Address to bind gossip UDP and TCP to (default: ${default})."`
	BindPort      int               `env:"RUMOR_BIND_PORT" default:"7946" placeholder:"PORT" help:"Port to bind gossip UDP and TCP to; 0 picks a free one (default: ${default})."`
	AdvertiseAddr string            `env:"RUMOR_ADVERTISE_ADDR" placeholder:"IP[:PORT]" help:"Address other nodes reach this one at, if not the bound one (behind NAT, in a container)."`
	Join          []string          `env:"RUMOR_JOIN" aliases:"cluster-address,clusterAddress" placeholder:"ADDR" help:"Seed to join: host:port, host, or name/host:port; repeat or separate with commas."`
	JoinDNS       []string          `name:"join-dns" env:"RUMOR_JOIN_DNS" placeholder:"NAME" help:"DNS name whose SRV or A/AAAA records are seeds (a Kubernetes headless service, say); repeatable."`
	RetryJoin     bool              `env:"RUMOR_RETRY_JOIN" help:"Keep retrying the seeds, with backoff, until one answers, instead of giving up after the first attempt."`
	RetryMax      time.Duration     `env:"RUMOR_RETRY_MAX" default:"30s" placeholder:"D" help:"Longest wait between join attempts with --retry-join (default: ${default})."`
	Profile       string            `env:"RUMOR_PROFILE" enum:"lan,wan,local" default:"lan" help:"Protocol timing: lan, wan or local (default: ${default})."`
	EncryptKey    string            `env:"RUMOR_ENCRYPT_KEY" placeholder:"BASE64" help:"AES key (16, 24 or 32 bytes, base64) for gossip encryption."`
	KeyringFile   string            `env:"RUMOR_KEYRING_FILE" type:"path" placeholder:"FILE" help:"JSON array of base64 keys, primary first (Serf's format); key changes made through the API are written back."`
	Label         string            `env:"RUMOR_LABEL" placeholder:"LABEL" help:"Cluster label: nodes only talk to nodes with the same label."`
	Tag           map[string]string `env:"RUMOR_TAG" placeholder:"KEY=VALUE" mapsep:"," help:"Tag carried in the node's metadata; repeatable."`
	HTTPAddr      string            `name:"http-addr" env:"RUMOR_HTTP_ADDR" default:"127.0.0.1:7947" placeholder:"HOST:PORT" help:"Where to serve the HTTP API, metrics and dashboard; empty disables it (default: ${default})."`
	HTTPToken     string            `name:"http-token" env:"RUMOR_HTTP_TOKEN" placeholder:"TOKEN" help:"Require Authorization: Bearer TOKEN on the HTTP API (all but /v1/health)."`
	LogLevel      string            `env:"RUMOR_LOG_LEVEL" enum:"debug,info,warn,error" default:"info" help:"debug, info, warn or error (default: ${default})."`
	LogFormat     string            `env:"RUMOR_LOG_FORMAT" enum:"text,json" default:"text" help:"text or json (default: ${default})."`
}

func (c *agentCmd) Run(e *env) error { return errors.New("not yet") }
