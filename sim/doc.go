// Package sim runs many protocol cores (internal/swim) on one virtual clock
// over a simulated network with latency, loss, duplication, reordering,
// partitions, paused, slow, crashed and restarted nodes.
//
// A run is a pure function of its Config and seed: one goroutine, a
// priority queue of events keyed by virtual time, and a seeded random
// source; the trace hash of two runs with the same inputs is the same.
// Every packet and stream goes through the real wire encoder and decoder
// unless Config.SkipEnvelope asks to skip the envelope layers for speed.
//
// # Usage
//
//	s, _ := sim.New(sim.Config{Nodes: 100, Seed: 1, Swim: swim.LAN()})
//	s.Bootstrap(0)          // every node joins through node 0
//	s.RunFor(30 * time.Second)
//	fmt.Println(s.Converged())
//
// Scenarios (scenario.go) build on this and report Results.
//
// # Invariants
//
// Checked as the run goes, recorded by Violations: a running node never
// suspects or declares itself dead, nor leaves unasked; its incarnation
// never goes back within a life; no node holds another at an incarnation
// that node never used; every packet a node builds encodes and decodes;
// and once a partition heals with no further fault, views converge within
// two reconnect intervals and ten probe intervals.
package sim
