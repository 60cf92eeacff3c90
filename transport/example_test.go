package transport_test

import (
	"fmt"
	"log"
	"net/netip"

	"github.com/rumorproject/rumor/transport"
)

// Two transports on loopback: one sends a datagram, the other takes it
// from its queue when Ready says there is something.
func ExampleListen() {
	loopback := netip.MustParseAddrPort("127.0.0.1:0") // port 0: any free port
	a, err := transport.Listen(transport.Config{Bind: loopback})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := transport.Listen(transport.Config{Bind: loopback})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	if err := a.WriteTo([]byte("ping"), b.LocalAddr()); err != nil {
		log.Fatal(err)
	}
	<-b.Packets().Ready()
	for _, p := range b.Packets().Take(nil) {
		fmt.Printf("%s from a: %v\n", p.Data, p.From == a.LocalAddr())
	}
	// Output:
	// ping from a: true
}
