package main

import "errors"

// inspectCmd is written by the inspect work; this stub keeps the build green.
type inspectCmd struct{}

func (c *inspectCmd) Run(e *env) error { return errors.New("not yet") }
