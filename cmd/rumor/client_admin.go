package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rumorproject/rumor/internal/client"
)

// tagsCmd groups the tag subcommands; its flags apply to all of them
// (kong hands the parent to the subcommand's Run).
type tagsCmd struct {
	clientFlags
	List   tagsListCmd   `cmd:"" default:"1" help:"Print the agent's tags, one KEY=VALUE a line (the default)."`
	Set    tagsSetCmd    `cmd:"" help:"Add or change tags."`
	Delete tagsDeleteCmd `cmd:"" help:"Remove tags."`
}

type tagsListCmd struct{}

type tagsSetCmd struct {
	Tags []string `arg:"" name:"tag" placeholder:"KEY=VALUE" help:"A tag to set."`
}

type tagsDeleteCmd struct {
	Keys []string `arg:"" name:"key" placeholder:"KEY" help:"A tag to remove."`
}

func (c *tagsListCmd) Run(e *env, t *tagsCmd) error {
	return t.change(func(tags map[string]string) bool {
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			fmt.Fprintf(e.stdout, "%s=%s\n", k, tags[k])
		}
		return false
	})
}

func (c *tagsSetCmd) Run(e *env, t *tagsCmd) error {
	set := map[string]string{}
	for _, kv := range c.Tags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("tag %q: want KEY=VALUE", kv)
		}
		set[k] = v
	}
	return t.change(func(tags map[string]string) bool {
		maps.Copy(tags, set)
		return true
	})
}

func (c *tagsDeleteCmd) Run(e *env, t *tagsCmd) error {
	for _, k := range c.Keys {
		if k == "" {
			return usagef("an empty tag name")
		}
	}
	return t.change(func(tags map[string]string) bool {
		n := len(tags)
		for _, k := range c.Keys {
			delete(tags, k)
		}
		return len(tags) != n
	})
}

// change reads the agent's tags, lets edit modify them, and writes them
// back if it says so. The API sets the whole tag set, so two concurrent
// changes can lose one: tags are an operator's tool, not a database.
func (t *tagsCmd) change(edit func(map[string]string) bool) error {
	cl, err := t.agentClient()
	if err != nil {
		return err
	}
	ctx, cancel := clientContext(clientTimeout)
	defer cancel()
	self, err := cl.Self(ctx)
	if err != nil {
		return agentError(err)
	}
	tags := maps.Clone(self.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	if !edit(tags) {
		return nil
	}
	return agentError(cl.SetTags(ctx, tags))
}

// keysCmd groups the keyring subcommands, as `serf keys` does.
type keysCmd struct {
	clientFlags
	List    keysListCmd    `cmd:"" default:"1" help:"Print the agent's keys, base64, one a line, the primary key first (the default)."`
	Install keysInstallCmd `cmd:"" help:"Add a key to the keyring: the agent then decrypts with it."`
	Use     keysUseCmd     `cmd:"" help:"Make a key the primary one, installing it if needed: the agent then encrypts with it."`
	Remove  keysRemoveCmd  `cmd:"" help:"Remove a key (not the primary one) from the keyring."`
}

type keysListCmd struct{}

type keysInstallCmd struct {
	Key string `arg:"" placeholder:"KEY" help:"AES key, 16, 24 or 32 bytes, base64."`
}

type keysUseCmd struct {
	Key string `arg:"" placeholder:"KEY" help:"AES key, 16, 24 or 32 bytes, base64."`
}

type keysRemoveCmd struct {
	Key string `arg:"" placeholder:"KEY" help:"AES key, base64."`
}

func (c *keysListCmd) Run(e *env, k *keysCmd) error {
	return k.call("", func(cl *client.Client, ctx context.Context) error {
		keys, err := cl.Keys(ctx)
		if err != nil {
			return err
		}
		for _, key := range keys {
			fmt.Fprintln(e.stdout, key)
		}
		return nil
	})
}

func (c *keysInstallCmd) Run(e *env, k *keysCmd) error {
	return k.call(c.Key, func(cl *client.Client, ctx context.Context) error { return cl.InstallKey(ctx, c.Key, false) })
}

func (c *keysUseCmd) Run(e *env, k *keysCmd) error {
	return k.call(c.Key, func(cl *client.Client, ctx context.Context) error { return cl.InstallKey(ctx, c.Key, true) })
}

func (c *keysRemoveCmd) Run(e *env, k *keysCmd) error {
	return k.call(c.Key, func(cl *client.Client, ctx context.Context) error { return cl.RemoveKey(ctx, c.Key) })
}

// call checks key (unless it is empty: list takes none) and runs fn with a
// client and a bounded context.
func (k *keysCmd) call(key string, fn func(*client.Client, context.Context) error) error {
	if key != "" {
		b, err := base64.StdEncoding.DecodeString(key)
		if err != nil {
			return usagef("key %q is not valid base64", key)
		}
		if n := len(b); n != 16 && n != 24 && n != 32 {
			return usagef("key is %d bytes, want 16, 24 or 32", n)
		}
	}
	cl, err := k.agentClient()
	if err != nil {
		return err
	}
	ctx, cancel := clientContext(clientTimeout)
	defer cancel()
	return agentError(fn(cl, ctx))
}
