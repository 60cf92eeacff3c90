package rumor_test

import (
	"context"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/rumorproject/rumor"
)

// startLocal starts a node on loopback with the local profile.
func startLocal(name string, edit func(*rumor.Config)) *rumor.Node {
	c := rumor.DefaultLocalConfig()
	c.Name, c.BindAddr, c.BindPort = name, "127.0.0.1", 0 // port 0: any free port
	if edit != nil {
		edit(c)
	}
	n, err := rumor.Create(c)
	if err != nil {
		log.Fatal(err)
	}
	return n
}

// until polls cond every 10 ms for up to 5 s.
func until(cond func() bool) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			return false
		}
	}
	return true
}

// Two nodes form a cluster: the second joins through the first, and both
// list both.
func Example() {
	n1 := startLocal("n1", nil)
	defer n1.Shutdown()
	n2 := startLocal("n2", nil)
	defer n2.Shutdown()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	contacted, err := n2.Join(ctx, []string{n1.Addr().String()})
	fmt.Println("contacted:", contacted, err)

	until(func() bool { return n1.NumMembers() == 2 })
	var names []string
	for _, m := range n1.Members() {
		names = append(names, m.Name+" "+m.State.String())
	}
	slices.Sort(names)
	fmt.Println(names)

	// Leave first, so that n1 sees a graceful leave, not a failure.
	if err := n2.Leave(ctx); err != nil {
		fmt.Println(err)
	}
	until(func() bool { return n1.NumMembers() == 1 })
	fmt.Println("members after n2 left:", n1.NumMembers())
	// Output:
	// contacted: 1 <nil>
	// [n1 alive n2 alive]
	// members after n2 left: 1
}

// printer is a Delegate that prints the user messages it receives.
type printer struct{ got chan string }

func (p printer) NotifyMsg(msg []byte)                     { p.got <- string(msg) }
func (printer) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (printer) LocalState(join bool) []byte                { return nil }
func (printer) MergeRemoteState(buf []byte, join bool)     {}

// A user broadcast reaches every other member's Delegate, memberlist
// nodes' included.
func ExampleNode_Broadcast() {
	p := printer{got: make(chan string, 1)}
	n1 := startLocal("n1", func(c *rumor.Config) { c.Delegate = p })
	defer n1.Shutdown()
	n2 := startLocal("n2", nil)
	defer n2.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := n2.Join(ctx, []string{n1.Addr().String()}); err != nil {
		log.Fatal(err)
	}

	if err := n2.Broadcast([]byte("deploy v42")); err != nil {
		log.Fatal(err)
	}
	select {
	case msg := <-p.got:
		fmt.Println("n1 got:", msg)
	case <-ctx.Done():
		fmt.Println("n1 got nothing")
	}
	// Output:
	// n1 got: deploy v42
}

// Stats and OnSample feed a metrics exporter: totals and gauges on each
// scrape, and samples for histograms as they are taken.
func ExampleConfig_OnSample() {
	rtts := make(chan time.Duration, 16)
	n1 := startLocal("n1", nil)
	defer n1.Shutdown()
	n2 := startLocal("n2", func(c *rumor.Config) {
		c.OnSample = func(s rumor.Sample) {
			if s.Kind == rumor.SampleProbeRTT {
				select {
				case rtts <- s.Duration: // never block the node
				default:
				}
			}
		}
	})
	defer n2.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := n2.Join(ctx, []string{n1.Addr().String()}); err != nil {
		log.Fatal(err)
	}
	select {
	case rtt := <-rtts:
		fmt.Println("probe answered within the timeout:", rtt < rumor.DefaultLocalConfig().ProbeTimeout)
	case <-ctx.Done():
		fmt.Println("no probe")
	}
	s := n2.Stats()
	fmt.Println("alive:", s.Members["alive"], "pings sent:", s.MessagesOut["ping"] > 0)
	// Output:
	// probe answered within the timeout: true
	// alive: 2 pings sent: true
}
