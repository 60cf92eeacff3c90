package swim

import (
	"math"
	"time"
)

// suspicion tracks one suspected member: Lifeguard's timeout starts at max
// and shrinks toward min as independent members confirm the suspicion.
type suspicion struct {
	start    int64
	min, max time.Duration
	k        int      // confirmations that bring the timeout down to min
	from     []string // accusers counted so far, the first included
	gen      uint32   // matches the timer set for the current deadline (unique per node)
}

// suspicionTimeout is memberlist's min timeout: SuspicionMult ×
// max(1, log10(n)) × interval, the log truncated to thousandths.
func suspicionTimeout(mult, n int, interval time.Duration) time.Duration {
	scale := math.Max(1, math.Log10(math.Max(1, float64(n))))
	return time.Duration(mult) * time.Duration(scale*1000) * interval / 1000
}

// newSuspicion starts a suspicion raised by from for a cluster of n.
func newSuspicion(start int64, from string, mult, maxMult, n int, interval time.Duration) *suspicion {
	k := mult - 2
	if n-2 < k {
		k = 0 // too few members to expect confirmations
	}
	lo := suspicionTimeout(mult, n, interval)
	return &suspicion{start: start, min: lo, max: time.Duration(maxMult) * lo, k: k, from: []string{from}}
}

// confirm counts a new accuser; it reports whether from was new and the
// timeout may have shrunk.
func (s *suspicion) confirm(from string) bool {
	if len(s.from)-1 >= s.k {
		return false
	}
	for _, f := range s.from {
		if f == from {
			return false
		}
	}
	s.from = append(s.from, from)
	return true
}

// deadline is when the suspicion expires given the confirmations so far.
func (s *suspicion) deadline() int64 {
	if s.k < 1 {
		return s.start + int64(s.min)
	}
	c := len(s.from) - 1
	if c == 0 {
		return s.start + int64(s.max) // unconfirmed: exactly max, not max rounded down to the millisecond
	}
	frac := math.Log(float64(c)+1) / math.Log(float64(s.k)+1)
	raw := s.max.Seconds() - frac*(s.max.Seconds()-s.min.Seconds())
	timeout := time.Duration(math.Floor(1000*raw)) * time.Millisecond
	return s.start + int64(max(timeout, s.min))
}
