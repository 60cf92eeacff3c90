package runtimebench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor"
)

// Both clusters use each library's LAN defaults, which are the same values
// (interop/rumorconfig checks them field by field).

type memberlistCluster struct{ ms []*memberlist.Memberlist }

func (c *memberlistCluster) start() error {
	for i := range nodes {
		cfg := memberlist.DefaultLANConfig()
		cfg.Name, cfg.BindAddr, cfg.BindPort, cfg.LogOutput = "ml-"+strconv.Itoa(i), "127.0.0.1", 0, io.Discard
		m, err := memberlist.Create(cfg)
		if err != nil {
			return fmt.Errorf("memberlist node %d: %w", i, err)
		}
		c.ms = append(c.ms, m)
		if i > 0 {
			n := c.ms[0].LocalNode()
			if _, err := m.Join([]string{fmt.Sprintf("%s:%d", n.Addr, n.Port)}); err != nil {
				return fmt.Errorf("memberlist node %d joins: %w", i, err)
			}
		}
	}
	return nil
}

func (c *memberlistCluster) members() int { return c.ms[0].NumMembers() }

func (c *memberlistCluster) stop() {
	for _, m := range c.ms {
		_ = m.Shutdown()
	}
}

type rumorCluster struct{ rs []*rumor.Node }

func (c *rumorCluster) start() error {
	for i := range nodes {
		cfg := rumor.DefaultLANConfig()
		cfg.Name, cfg.BindAddr, cfg.BindPort = "rumor-"+strconv.Itoa(i), "127.0.0.1", 0
		r, err := rumor.Create(cfg)
		if err != nil {
			return fmt.Errorf("rumor node %d: %w", i, err)
		}
		c.rs = append(c.rs, r)
		if i > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := r.Join(ctx, []string{c.rs[0].Addr().String()})
			cancel()
			if err != nil {
				return fmt.Errorf("rumor node %d joins: %w", i, err)
			}
		}
	}
	return nil
}

func (c *rumorCluster) members() int { return c.rs[0].NumMembers() }

func (c *rumorCluster) stop() {
	for _, r := range c.rs {
		_ = r.Shutdown()
	}
}
