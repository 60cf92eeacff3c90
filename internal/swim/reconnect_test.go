package swim

import (
	"errors"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// A member declared dead is pinged now and then for a while; if it
// answers (its refutation missed us), a push-pull with it follows at once.
// A member that stays dead costs at most recheckWindow pings.
func TestRecheckRecentlyDead(t *testing.T) {
	run := func(answers bool) (pings, pushPulls int) {
		h := newHarness(t, func(c *Config) { c.PushPullInterval = 0 })
		h.joinN(10)
		h.recv(&wire.Dead{Incarnation: 1, Node: "m3", From: "m1"})
		if got := h.member("m3").State; got != StateDead {
			t.Fatalf("m3 after a dead message: %v, want dead", got)
		}
		h.quiet()
		to := h.addr("m3")
		h.runUntil(epoch.Add(5*time.Minute), map[string]bool{"m3": !answers}, func(o Output) {
			for _, s := range messages(t, o) {
				if p, ok := s.msg.(*wire.Ping); ok && s.to == to && p.Node == "m3" {
					pings++
					if s.dp.Compound != 0 {
						t.Errorf("recheck ping in a compound of %d: want it alone, no gossip to the dead", s.dp.Compound)
					}
				}
			}
			for _, s := range o.Streams {
				if s.Kind == StreamPushPull && s.To == to {
					pushPulls++
					h.n.StreamDone(h.now, s.ID, nil, errors.New("connection refused"))
				}
			}
		})
		return pings, pushPulls
	}
	deadPings, rolled := run(false) // the reconnect roll alone
	if deadPings == 0 || deadPings > recheckWindow {
		t.Errorf("pings to a member that stays dead: %d, want 1 to %d", deadPings, recheckWindow)
	}
	upPings, upPushPulls := run(true)
	t.Logf("member stays dead: %d pings, %d rolled push-pulls; answers: %d pings, %d push-pulls", deadPings, rolled, upPings, upPushPulls)
	if upPings != deadPings {
		t.Fatalf("rechecks differ with the answer: %d, %d (the random draws should not)", upPings, deadPings)
	}
	if upPushPulls != rolled+upPings {
		t.Errorf("push-pulls with a dead member that answers %d pings: %d, want %d (one per answer, plus %d rolled)",
			upPings, upPushPulls, rolled+upPings, rolled)
	}
}
