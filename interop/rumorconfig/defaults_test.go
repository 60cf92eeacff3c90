// Package rumorconfig checks rumor's configuration defaults against
// memberlist's own.
package rumorconfig

import (
	"reflect"
	"testing"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor"
)

// renamed maps rumor's field names to memberlist's where Go's initialisms
// differ.
var renamed = map[string]string{"DisableTCPPings": "DisableTcpPings"}

// TestDefaultsMatchMemberlist compares every field rumor.Config shares
// with memberlist.Config, for the LAN, WAN and Local defaults.
func TestDefaultsMatchMemberlist(t *testing.T) {
	pairs := []struct {
		name string
		r    *rumor.Config
		m    *memberlist.Config
	}{
		{"LAN", rumor.DefaultLANConfig(), memberlist.DefaultLANConfig()},
		{"WAN", rumor.DefaultWANConfig(), memberlist.DefaultWANConfig()},
		{"Local", rumor.DefaultLocalConfig(), memberlist.DefaultLocalConfig()},
	}
	for _, p := range pairs {
		rv, mv := reflect.ValueOf(p.r).Elem(), reflect.ValueOf(p.m).Elem()
		shared := 0
		for i := range rv.NumField() {
			f := rv.Type().Field(i)
			name := f.Name
			if n, ok := renamed[name]; ok {
				name = n
			}
			mf := mv.FieldByName(name)
			if !mf.IsValid() || mf.Type() != f.Type {
				continue // rumor's own (ReconnectInterval), or hooks of other types (Events, Delegate)
			}
			shared++
			if got, want := rv.Field(i).Interface(), mf.Interface(); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: rumor %s = %#v; memberlist %s = %#v", p.name, f.Name, got, name, want)
			}
		}
		if shared < 25 {
			t.Errorf("%s: only %d fields shared with memberlist.Config; want at least 25", p.name, shared)
		}
	}
}
