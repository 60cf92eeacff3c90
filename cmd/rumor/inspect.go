package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/inspect"
	"github.com/rumorproject/rumor/internal/wire"
)

// inspectCmd shows a cluster's member table without joining it.
type inspectCmd struct {
	Addr        string        `arg:"" name:"host:port" help:"Gossip address (TCP) of any member of the cluster, such as 10.0.0.5:7946."`
	EncryptKey  []keyFlag     `name:"encrypt-key" sep:"none" placeholder:"BASE64" help:"The cluster's AES key, base64 (or hex:<hex>); 16, 24 or 32 bytes. Repeat for a keyring; the first is primary."`
	KeyringFile string        `name:"keyring-file" type:"path" placeholder:"FILE" help:"JSON array of base64 keys, primary first (Serf's and Consul's keyring file); added after --encrypt-key keys."`
	Label       string        `placeholder:"LABEL" help:"The cluster's label, if it has one."`
	JSON        bool          `name:"json" help:"Print the members as a JSON array."`
	Timeout     time.Duration `default:"10s" placeholder:"D" help:"Give up after this long, as a Go duration (default: ${default})."`
}

func (c *inspectCmd) Help() string {
	return `Connects to one member of a hashicorp/memberlist, Serf, Consul or rumor cluster
and prints its member table: NAME, ADDRESS, STATE, INCARNATION and TAGS (Serf's
tags, or the raw metadata quoted when it holds something else).

It sends the member a single push-pull request that lists no nodes: the member
answers with its table and has nothing to merge, so the cluster never learns of
the inspector. Give the cluster's key and label if it uses them; the first key
encrypts the request, any of them may decrypt the reply.

Exit status: 0 when the member answered, 1 when it could not be reached or
refused the request (a wrong key or label, say), 2 for bad arguments.`
}

func (c *inspectCmd) Run(e *env) error {
	opts, err := c.options()
	if err != nil {
		return err
	}
	res, err := inspect.Inspect(context.Background(), c.Addr, opts)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeInspectJSON(e.stdout, res.Members)
	}
	return writeInspectTable(e.stdout, res.Members)
}

// options checks the arguments and builds the inspection's options.
func (c *inspectCmd) options() (inspect.Options, error) {
	opts := inspect.Options{Label: c.Label, Timeout: c.Timeout}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" {
		return opts, usagef("address %q: want HOST:PORT", c.Addr)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return opts, usagef("address %q: port %q is not a number from 1 to 65535", c.Addr, port)
	}
	if len(c.Label) > wire.MaxLabelLen {
		return opts, usagef("--label is %d bytes, want at most %d", len(c.Label), wire.MaxLabelLen)
	}
	if c.Timeout <= 0 {
		return opts, usagef("--timeout %v: want a positive duration", c.Timeout)
	}
	for _, k := range c.EncryptKey {
		if err := wire.ValidateKey(k); err != nil {
			return opts, usagef("--encrypt-key: %s", strings.TrimPrefix(err.Error(), "wire: "))
		}
		opts.Keys = append(opts.Keys, k)
	}
	if c.KeyringFile != "" {
		keys, err := readInspectKeyring(c.KeyringFile)
		if err != nil {
			return opts, err
		}
		opts.Keys = append(opts.Keys, keys...)
	}
	return opts, nil
}

// readInspectKeyring reads a JSON array of base64 keys. A file that cannot
// be read is a failure; one that holds no valid keyring is a usage error.
func readInspectKeyring(name string) ([][]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--keyring-file: %w", err)
	}
	var encoded []string
	if err := json.Unmarshal(b, &encoded); err != nil {
		return nil, usagef("--keyring-file %s: want a JSON array of base64 keys: %v", name, err)
	}
	if len(encoded) == 0 {
		return nil, usagef("--keyring-file %s holds no keys", name)
	}
	keys := make([][]byte, 0, len(encoded))
	for i, s := range encoded {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		if err != nil {
			return nil, usagef("--keyring-file %s: key %d is not valid base64", name, i+1)
		}
		if err := wire.ValidateKey(k); err != nil {
			return nil, usagef("--keyring-file %s: key %d: %s", name, i+1, strings.TrimPrefix(err.Error(), "wire: "))
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// inspectSorted returns the members in name order.
func inspectSorted(members []api.Member) []api.Member {
	return slices.SortedStableFunc(slices.Values(members), func(a, b api.Member) int { return cmp.Compare(a.Name, b.Name) })
}

func writeInspectJSON(w io.Writer, members []api.Member) error {
	members = inspectSorted(members)
	if members == nil {
		members = []api.Member{} // "[]", not "null"
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(members)
}

func writeInspectTable(w io.Writer, members []api.Member) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tSTATE\tINCARNATION\tTAGS")
	for _, m := range inspectSorted(members) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", quoteCell(m.Name, " "), net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port))),
			m.State, m.Incarnation, memberTags(m))
	}
	return tw.Flush()
}
