// Command classic is memberlist's classic example written on rumor: it
// joins a cluster, prints the members, sends a message to every member,
// and prints membership events and messages as they happen until SIGINT or
// SIGTERM, when it leaves gracefully.
//
//	go run ./examples/classic --bind-addr 127.0.0.1 --bind-port 7946 --name n1 --clusterAddress 127.0.0.1:7946
//
// Output, one line each: "total N" (seeds contacted), "Member: NAME
// ADDR:PORT" per member, then "join NAME ADDR:PORT", "leave NAME",
// "failed NAME" and "message: TEXT" as they happen. A failed join prints
// the reason and exits 1.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rumorproject/rumor"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// printer serializes output lines from the event loop and main.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) println(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// messages prints user messages as they arrive.
type messages struct{ out *printer }

func (m messages) NotifyMsg(msg []byte)            { m.out.println("message: %s", msg) }
func (m messages) GetBroadcasts(int, int) [][]byte { return nil }
func (m messages) LocalState(bool) []byte          { return nil }
func (m messages) MergeRemoteState([]byte, bool)   {}

// run is the program, minus the process: it returns the exit code once ctx
// ends (after leaving) or the join fails.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("classic", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bindAddr := fs.String("bind-addr", "0.0.0.0", "address to bind UDP and TCP to")
	bindPort := fs.Int("bind-port", 7946, "port to bind (0 picks one)")
	name := fs.String("name", "", "node name (default: the host name)")
	cluster := fs.String("clusterAddress", "", "comma-separated seeds, host:port")
	message := fs.String("message", "", "send this once, reliably, to every member after joining")
	profile := fs.String("profile", "local", "lan, wan or local")
	key := fs.String("encrypt-key", "", "base64 AES key (16, 24 or 32 bytes)")
	label := fs.String("label", "", "cluster label")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var cfg *rumor.Config
	switch *profile {
	case "lan":
		cfg = rumor.DefaultLANConfig()
	case "wan":
		cfg = rumor.DefaultWANConfig()
	case "local":
		cfg = rumor.DefaultLocalConfig()
	default:
		fmt.Fprintf(stderr, "classic: --profile %q: want lan, wan or local\n", *profile)
		return 2
	}
	out := &printer{w: stdout}
	events := make(chan rumor.Event, 1024)
	cfg.BindAddr, cfg.BindPort, cfg.Label = *bindAddr, *bindPort, *label
	if *name != "" {
		cfg.Name = *name
	}
	if *key != "" {
		k, err := base64.StdEncoding.DecodeString(*key)
		if err != nil {
			fmt.Fprintf(stderr, "classic: --encrypt-key: %v\n", err)
			return 2
		}
		cfg.SecretKey = k
	}
	cfg.Events, cfg.Delegate = events, messages{out}
	node, err := rumor.Create(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "classic: %v\n", err)
		return 1
	}
	defer node.Shutdown()

	var seeds []string
	for _, s := range strings.Split(*cluster, ",") {
		if s = strings.TrimSpace(s); s != "" {
			seeds = append(seeds, s)
		}
	}
	if len(seeds) > 0 {
		jctx, cancel := context.WithTimeout(ctx, cfg.TCPTimeout+5*time.Second)
		n, err := node.Join(jctx, seeds)
		cancel()
		if n == 0 {
			fmt.Fprintf(stderr, "classic: join failed: %v\n", err)
			return 1
		}
		out.println("total %d", n)
	} else {
		out.println("total 0")
	}
	// The members listed now already include what the join brought: the
	// events so far would only repeat them.
drained:
	for {
		select {
		case <-events:
		default:
			break drained
		}
	}
	for _, m := range node.Members() {
		out.println("Member: %s %s", m.Name, m.Addr)
	}
	if *message != "" {
		for _, m := range node.Members() {
			sctx, cancel := context.WithTimeout(ctx, cfg.TCPTimeout)
			if err := node.SendReliable(sctx, m, []byte(*message)); err != nil {
				fmt.Fprintf(stderr, "classic: %v\n", err)
			}
			cancel()
		}
	}
	for {
		select {
		case ev := <-events:
			switch ev.Kind {
			case rumor.EventJoin:
				out.println("join %s %s", ev.Member.Name, ev.Member.Addr)
			case rumor.EventLeave:
				out.println("leave %s", ev.Member.Name)
			case rumor.EventFailed:
				out.println("failed %s", ev.Member.Name)
			}
		case <-ctx.Done():
			lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := node.Leave(lctx)
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				fmt.Fprintf(stderr, "classic: leave: %v\n", err)
			}
			return 0
		}
	}
}
