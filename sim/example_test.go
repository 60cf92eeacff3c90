package sim_test

import (
	"fmt"
	"time"

	"github.com/rumorproject/rumor/sim"
)

// ExampleRun crashes one node of a converged 20-node LAN cluster 5 s in
// and reports what every other node concluded.
func ExampleRun() {
	r, err := sim.Run(sim.Scenario{Name: "crash", Nodes: 20, Seed: 1, Duration: 40 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("converged:", r.Converged)
	fmt.Printf("n%d declared dead by %d of %d live nodes\n", r.Target, r.TargetDead, r.Nodes-1)
	fmt.Println("detected by all:", r.DetectAllS != nil)
	fmt.Println("false deaths:", r.FalseDead, "violations:", len(r.Violations))
	// Output:
	// converged: true
	// n2 declared dead by 19 of 19 live nodes
	// detected by all: true
	// false deaths: 0 violations: 0
}
