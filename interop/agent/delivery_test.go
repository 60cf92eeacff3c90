package agent

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/internal/agent"
	"github.com/rumorproject/rumor/internal/api"
)

// How often does a broadcast reach every member of a 5-node cluster on the
// local profile? BenchmarkBroadcastDelivery sends b.N broadcasts, one at a
// time, and reports the share of receivers reached (delivered_%) and the
// share of broadcasts that missed a member (missed_any_%):
//
//	cd interop && go test ./agent -run - -bench BroadcastDelivery -benchtime 50x
//
// memberlist: memberlist's own user broadcasts (TransmitLimitedQueue) among
// five memberlist nodes; rumor-node: package rumor's Node.Broadcast, which
// keeps memberlist's semantics, among five rumor nodes; agents: the agent's
// relay among three agents and two memberlist nodes.

// countingBox counts the copies of each message received.
type countingBox struct {
	mu  sync.Mutex
	got map[string]int
}

func newCountingBox() *countingBox { return &countingBox{got: map[string]int{}} }

func (c *countingBox) NotifyMsg(m []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got[string(m)]++
}
func (c *countingBox) has(msg string) bool { c.mu.Lock(); defer c.mu.Unlock(); return c.got[msg] > 0 }

// mlBroadcaster is a memberlist delegate with a broadcast queue.
type mlBroadcaster struct {
	*countingBox
	q *memberlist.TransmitLimitedQueue
}

type userBroadcast []byte

func (u userBroadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (u userBroadcast) Message() []byte                       { return u }
func (u userBroadcast) Finished()                             {}

func (d *mlBroadcaster) NodeMeta(int) []byte { return nil }
func (d *mlBroadcaster) GetBroadcasts(overhead, limit int) [][]byte {
	if d.q == nil {
		return nil
	}
	return d.q.GetBroadcasts(overhead, limit)
}
func (d *mlBroadcaster) LocalState(bool) []byte        { return nil }
func (d *mlBroadcaster) MergeRemoteState([]byte, bool) {}

// rumorBox is a rumor.Delegate counting user messages.
type rumorBox struct{ *countingBox }

func (rumorBox) GetBroadcasts(int, int) [][]byte { return nil }
func (rumorBox) LocalState(bool) []byte          { return nil }
func (rumorBox) MergeRemoteState([]byte, bool)   {}

// deliveryRun is one cluster under measurement: send starts a broadcast,
// reached tells whether receiver i has it, idle whether the sender has
// nothing left to send.
type deliveryRun struct {
	receivers int
	send      func(msg string)
	reached   func(i int, msg string) bool
	idle      func() bool
}

func measureDelivery(b *testing.B, run deliveryRun) {
	delivered, missedAny := 0, 0
	for i := 0; b.Loop(); i++ {
		msg := fmt.Sprintf("broadcast %d", i)
		run.send(msg)
		all := func() bool {
			for r := range run.receivers {
				if !run.reached(r, msg) {
					return false
				}
			}
			return true
		}
		// Until every receiver has it, or the sender has been idle for
		// 500 ms (memberlist gossips every 100 ms on this profile).
		var idleSince time.Time
		for deadline := time.Now().Add(10 * time.Second); !all() && time.Now().Before(deadline); {
			if !run.idle() {
				idleSince = time.Time{}
			} else if idleSince.IsZero() {
				idleSince = time.Now()
			} else if time.Since(idleSince) > 500*time.Millisecond {
				break
			}
			<-time.After(5 * time.Millisecond)
		}
		n := 0
		for r := range run.receivers {
			if run.reached(r, msg) {
				n++
			}
		}
		delivered += n
		if n < run.receivers {
			missedAny++
		}
	}
	b.ReportMetric(100*float64(delivered)/float64(b.N*run.receivers), "delivered_%")
	b.ReportMetric(100*float64(missedAny)/float64(b.N), "missed_any_%")
}

func BenchmarkBroadcastDelivery(b *testing.B) {
	ctx := context.Background()
	b.Run("memberlist", func(b *testing.B) {
		var nodes []*memberlist.Memberlist
		var boxes []*mlBroadcaster
		for i := range 5 {
			m, d := startMLBroadcaster(b, fmt.Sprintf("m%d", i))
			if i == 0 {
				d.q = &memberlist.TransmitLimitedQueue{NumNodes: m.NumMembers, RetransmitMult: memberlist.DefaultLocalConfig().RetransmitMult}
			} else if _, err := m.Join([]string{nodes[0].LocalNode().Address()}); err != nil {
				b.Fatal(err)
			}
			nodes, boxes = append(nodes, m), append(boxes, d)
		}
		waitMembers(b, func() bool {
			for _, m := range nodes {
				if m.NumMembers() != 5 {
					return false
				}
			}
			return true
		})
		measureDelivery(b, deliveryRun{
			receivers: 4,
			send:      func(msg string) { boxes[0].q.QueueBroadcast(userBroadcast(msg)) },
			reached:   func(i int, msg string) bool { return boxes[i+1].has(msg) },
			idle:      func() bool { return boxes[0].q.NumQueued() == 0 },
		})
	})
	b.Run("rumor-node", func(b *testing.B) {
		var nodes []*rumor.Node
		var boxes []*countingBox
		for i := range 5 {
			c := rumor.DefaultLocalConfig()
			box := newCountingBox()
			c.Name, c.BindAddr, c.BindPort, c.Delegate = fmt.Sprintf("r%d", i), "127.0.0.1", 0, rumorBox{box}
			n, err := rumor.Create(c)
			if err != nil {
				b.Fatal(err)
			}
			defer n.Shutdown()
			if i > 0 {
				if _, err := n.Join(ctx, []string{nodes[0].Addr().String()}); err != nil {
					b.Fatal(err)
				}
			}
			nodes, boxes = append(nodes, n), append(boxes, box)
		}
		waitMembers(b, func() bool {
			for _, n := range nodes {
				if n.NumMembers() != 5 {
					return false
				}
			}
			return true
		})
		measureDelivery(b, deliveryRun{
			receivers: 4,
			send:      func(msg string) { _ = nodes[0].Broadcast([]byte(msg)) },
			reached:   func(i int, msg string) bool { return boxes[i+1].has(msg) },
			idle:      func() bool { return nodes[0].Stats().QueuedBroadcasts == 0 },
		})
	})
	b.Run("agents", func(b *testing.B) {
		var agents []*agent.Agent
		for i := range 3 {
			a, err := agent.Start(agent.Config{Name: fmt.Sprintf("a%d", i), Profile: "local", BindAddr: "127.0.0.1"})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Shutdown()
			if i > 0 {
				if _, err := a.Join(ctx, []string{agents[0].Node().Addr().String()}); err != nil {
					b.Fatal(err)
				}
			}
			agents = append(agents, a)
		}
		var mls []*memberlist.Memberlist
		var boxes []*mlBroadcaster
		for i := range 2 {
			m, d := startMLBroadcaster(b, fmt.Sprintf("m%d", i))
			if _, err := m.Join([]string{agents[0].Node().Addr().String()}); err != nil {
				b.Fatal(err)
			}
			mls, boxes = append(mls, m), append(boxes, d)
		}
		waitMembers(b, func() bool {
			for _, a := range agents {
				if a.Node().NumMembers() != 5 {
					return false
				}
			}
			return mls[0].NumMembers() == 5 && mls[1].NumMembers() == 5
		})
		agentHas := func(a *agent.Agent, msg string) bool {
			evs, _, _ := a.EventsSince(0, 1<<20)
			for _, ev := range evs {
				if ev.Type == api.EventBroadcast && ev.Text == msg {
					return true
				}
			}
			return false
		}
		measureDelivery(b, deliveryRun{
			receivers: 4,
			send:      func(msg string) { _ = agents[0].Broadcast(ctx, []byte(msg)) },
			reached: func(i int, msg string) bool {
				if i < 2 {
					return agentHas(agents[i+1], msg)
				}
				return boxes[i-2].has(msg)
			},
			idle: func() bool { return true }, // sends finish on their own; wait out the 500 ms
		})
	})
}

// startMLBroadcaster starts a memberlist node on the local profile whose
// delegate counts user messages; it stops when b ends.
func startMLBroadcaster(b *testing.B, name string) (*memberlist.Memberlist, *mlBroadcaster) {
	b.Helper()
	c := memberlist.DefaultLocalConfig()
	d := &mlBroadcaster{countingBox: newCountingBox()}
	c.Name, c.BindAddr, c.BindPort, c.LogOutput, c.Delegate = name, "127.0.0.1", 0, io.Discard, d
	m, err := memberlist.Create(c)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Shutdown() })
	return m, d
}

func waitMembers(b *testing.B, all func() bool) {
	b.Helper()
	for deadline := time.Now().Add(20 * time.Second); !all(); {
		if time.Now().After(deadline) {
			b.Fatal("the cluster did not converge within 20 s")
		}
		<-time.After(10 * time.Millisecond)
	}
}
