package rumor_test

import (
	"fmt"

	"github.com/rumorproject/rumor"
)

// A configuration starts from memberlist's defaults; Validate names the
// field that cannot work.
func ExampleConfig_Validate() {
	c := rumor.DefaultLocalConfig()
	c.Name = "n1"
	c.BindAddr, c.BindPort = "127.0.0.1", 0
	fmt.Println(c.Validate())

	c.ProbeTimeout = 2 * c.ProbeInterval
	fmt.Println(c.Validate())
	// Output:
	// <nil>
	// rumor: config ProbeTimeout: must be positive and at most ProbeInterval
}
