package main

import "errors"

// demoCmd starts a local cluster of agents in this process.
type demoCmd struct {
	Nodes int  `default:"5" placeholder:"N" help:"How many agents to start (default: ${default})."`
	Chaos bool `help:"Now and then crash, pause or restart a node, to watch failure detection."`
}

func (c *demoCmd) Run(e *env) error { return errors.New("not yet") }
