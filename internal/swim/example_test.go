package swim_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
)

// ExampleNode drives two nodes by hand: b joins through a, the way a
// driver would, by carrying b's push-pull stream to a and a's reply back.
func ExampleNode() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	newNode := func(name, addr string, seed uint64) *swim.Node {
		cfg := swim.LAN()
		cfg.Name, cfg.Addr = name, netip.MustParseAddrPort(addr)
		n, err := swim.New(cfg, start, rand.New(rand.NewPCG(seed, seed)))
		if err != nil {
			panic(err)
		}
		return n
	}
	a := newNode("a", "10.0.0.1:7946", 1)
	b := newNode("b", "10.0.0.2:7946", 2)

	now := start.Add(time.Millisecond)
	b.Join(now, []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:7946")})
	var out swim.Output
	b.Drain(&out)
	st := out.Streams[0] // the push-pull b wants sent
	reply := a.HandleStream(now, netip.MustParseAddrPort("10.0.0.2:40000"), st.Msg)
	b.StreamDone(now, st.ID, reply, nil)

	b.Drain(&out)
	for _, ev := range out.Events {
		fmt.Println("b:", ev.Kind, ev.Member.Name, ev.N)
	}
	a.Drain(&out)
	for _, ev := range out.Events {
		fmt.Println("a:", ev.Kind, ev.Member.Name)
	}
	fmt.Println("a knows", a.NumAlive(), "members; b knows", b.NumAlive())
	// Output:
	// b: join a 0
	// b: join-done  1
	// a: join b
	// a knows 2 members; b knows 2
}
