package swim

import "time"

// awareness is Lifeguard's local health score: 0 is healthy; each step
// slows this node's probing, so an overloaded node accuses others less.
type awareness struct {
	score, max int
}

func (a *awareness) apply(delta int) {
	a.score = min(max(a.score+delta, 0), a.max-1)
}

// scale stretches a timeout by the health score.
func (a *awareness) scale(d time.Duration) time.Duration {
	return d * time.Duration(a.score+1)
}
