package main

import "errors"

// Client commands of the HTTP API; these stubs keep the build green.
type (
	membersCmd   struct{}
	joinCmd      struct{}
	leaveCmd     struct{}
	broadcastCmd struct{}
	sendCmd      struct{}
	eventsCmd    struct{}
	tagsCmd      struct{}
	keysCmd      struct{}
)

var errNotYet = errors.New("not yet")

func (c *membersCmd) Run(e *env) error   { return errNotYet }
func (c *joinCmd) Run(e *env) error      { return errNotYet }
func (c *leaveCmd) Run(e *env) error     { return errNotYet }
func (c *broadcastCmd) Run(e *env) error { return errNotYet }
func (c *sendCmd) Run(e *env) error      { return errNotYet }
func (c *eventsCmd) Run(e *env) error    { return errNotYet }
func (c *tagsCmd) Run(e *env) error      { return errNotYet }
func (c *keysCmd) Run(e *env) error      { return errNotYet }
