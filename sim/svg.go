package sim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Layout of the image, in SVG user units. The timeline is drawn in two
// panels that share the x axis: alive members on top, and suspect, dead
// and left members below, each with its own y scale, so that one dead
// member in a cluster of a thousand still shows.
const (
	svgWidth   = 900
	svgHeight  = 580
	svgLeft    = 80  // left edge of the plot area
	svgRight   = 870 // right edge of the plot area
	svgLegendY = 92
	svgTopY0   = 114 // top panel: alive
	svgTopY1   = 324
	svgBotY0   = 354 // bottom panel: suspect, dead, left
	svgBotY1   = 504
	svgTickLen = 5
)

// svgState is one line of the timeline.
type svgState struct {
	name  string
	color string
	dash  string // stroke-dasharray, or ""
	value func(Sample) float64
}

var svgStates = []svgState{
	{"alive", "#2ca02c", "", func(s Sample) float64 { return s.Alive }},
	{"suspect", "#ff7f0e", "", func(s Sample) float64 { return s.Suspect }},
	{"dead", "#d62728", "", func(s Sample) float64 { return s.Dead }},
	{"left", "#1f77b4", "6 3", func(s Sample) float64 { return s.Left }},
}

// WriteSVG writes r's timeline as a self-contained SVG image: the average
// number of members each live node holds alive, suspect, dead and left,
// against virtual seconds, with the run's parameters in the title. The
// same Result always gives the same bytes (the wall time is left out). A
// Result without samples gives an image that says so.
func WriteSVG(w io.Writer, r *Result) error {
	if r == nil {
		return errors.New("sim: WriteSVG of a nil Result")
	}
	var b svgBuf
	b.printf(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, svgHeight, svgWidth, svgHeight)
	title := svgTitle(r)
	b.printf("<title>%s</title>\n", xmlText(title))
	b.printf(`<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", svgWidth, svgHeight)
	b.printf(`<text x="%d" y="28" font-size="16" font-weight="bold">%s</text>`+"\n", svgLeft, xmlText(title))
	for i, line := range svgSubtitle(r) {
		b.printf(`<text x="%d" y="%d" fill="#444444">%s</text>`+"\n", svgLeft, 50+18*i, xmlText(line))
	}
	if len(r.Timeline) == 0 {
		b.printf(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999999"/>`+"\n",
			svgLeft, svgTopY0, svgRight-svgLeft, svgBotY1-svgTopY0)
		b.printf(`<text x="%d" y="%d" text-anchor="middle" font-size="16" fill="#666666">no samples</text>`+"\n",
			(svgLeft+svgRight)/2, (svgTopY0+svgBotY1)/2)
		b.printf("</svg>\n")
		_, err := w.Write(b.Bytes())
		return err
	}
	svgLegend(&b)

	// The x axis runs from 0 to the end of the run.
	xmax := r.VirtualS
	for _, s := range r.Timeline {
		xmax = max(xmax, s.T)
	}
	if !(xmax > 0) || math.IsInf(xmax, 0) {
		xmax = 1
	}
	// Round ticks, but the axis ends where the run did.
	xt := niceTicks(0, xmax, 8)
	xt.lo, xt.hi = 0, xmax
	for len(xt.values) > 1 && xt.values[len(xt.values)-1] > xmax*(1+1e-9) {
		xt.values = xt.values[:len(xt.values)-1]
	}
	x := func(t float64) float64 {
		return svgLeft + (t-xt.lo)/(xt.hi-xt.lo)*(svgRight-svgLeft)
	}

	// Top panel: alive, scaled to the values it takes.
	lo, hi := svgRange(r.Timeline, svgStates[:1])
	pad := max(hi-lo, 1) * 0.05
	top := niceTicks(max(lo-pad, 0), hi+pad, 5)
	// Bottom panel: the others, from zero.
	_, bhi := svgRange(r.Timeline, svgStates[1:])
	bot := niceTicks(0, max(bhi, 1), 4)

	panels := []struct {
		y0, y1 float64
		ticks  svgTicks
		label  string
		states []svgState
	}{
		{svgTopY0, svgTopY1, top, "members alive", svgStates[:1]},
		{svgBotY0, svgBotY1, bot, "members suspect, dead, left", svgStates[1:]},
	}
	for _, p := range panels {
		y := func(v float64) float64 {
			return p.y1 - (v-p.ticks.lo)/(p.ticks.hi-p.ticks.lo)*(p.y1-p.y0)
		}
		b.printf(`<g class="panel">` + "\n")
		// Grid, frame and ticks.
		for _, t := range xt.values {
			b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e6e6e6"/>`+"\n",
				num(x(t)), num(p.y0), num(x(t)), num(p.y1))
		}
		for _, v := range p.ticks.values {
			yy := num(y(v))
			b.printf(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#e6e6e6"/>`+"\n", svgLeft, yy, svgRight, yy)
			b.printf(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#333333"/>`+"\n", svgLeft-svgTickLen, yy, svgLeft, yy)
			b.printf(`<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n",
				svgLeft-svgTickLen-3, yy, p.ticks.label(v))
		}
		b.printf(`<rect x="%d" y="%s" width="%d" height="%s" fill="none" stroke="#333333"/>`+"\n",
			svgLeft, num(p.y0), svgRight-svgLeft, num(p.y1-p.y0))
		mid := num((p.y0 + p.y1) / 2)
		b.printf(`<text x="22" y="%s" text-anchor="middle" transform="rotate(-90 22 %s)">%s</text>`+"\n",
			mid, mid, xmlText(p.label))
		// One line per state.
		for _, st := range p.states {
			b.printf(`<polyline data-state="%s" fill="none" stroke="%s" stroke-width="1.5" stroke-linejoin="round"`, st.name, st.color)
			if st.dash != "" {
				b.printf(` stroke-dasharray="%s"`, st.dash)
			}
			b.printf(` points="`)
			for i, s := range r.Timeline {
				if i > 0 {
					b.printf(" ")
				}
				b.printf("%s,%s", num(x(svgClamp(s.T, 0, xmax))), num(y(svgClamp(st.value(s), p.ticks.lo, p.ticks.hi))))
			}
			b.printf(`"><title>%s</title></polyline>`+"\n", st.name)
		}
		b.printf("</g>\n")
	}
	// The fault, as a dashed line across both panels.
	if r.FaultS != nil && *r.FaultS >= 0 && *r.FaultS <= xmax {
		xx := num(x(*r.FaultS))
		b.printf(`<line data-fault="%s" x1="%s" y1="%d" x2="%s" y2="%d" stroke="#c0392b" stroke-dasharray="2,3"/>`+"\n",
			num(*r.FaultS), xx, svgTopY0, xx, svgBotY1)
		b.printf(`<text x="%s" y="%d" text-anchor="middle" fill="#c0392b">%s</text>`+"\n", xx, svgTopY0-4, xmlText(r.Scenario))
	}
	// The x axis, under the bottom panel.
	for _, t := range xt.values {
		xx := num(x(t))
		b.printf(`<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#333333"/>`+"\n", xx, svgBotY1, xx, svgBotY1+svgTickLen)
		b.printf(`<text x="%s" y="%d" text-anchor="middle">%s</text>`+"\n", xx, svgBotY1+svgTickLen+14, xt.label(t))
	}
	b.printf(`<text x="%d" y="%d" text-anchor="middle">virtual time (s)</text>`+"\n", (svgLeft+svgRight)/2, svgBotY1+44)
	b.printf("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// svgTitle names the run.
func svgTitle(r *Result) string {
	return r.Scenario + ": " + strconv.Itoa(r.Nodes) + " nodes, seed " + strconv.FormatUint(r.Seed, 10) +
		", profile " + r.Profile + ", loss " + strconv.FormatFloat(r.Loss, 'g', -1, 64)
}

// svgSubtitle says what is plotted and sums up the outcome, in two lines.
func svgSubtitle(r *Result) [2]string {
	what := "average members per live node, by state, over " +
		strconv.FormatFloat(r.VirtualS, 'f', 1, 64) + " virtual seconds"
	if r.TraceHash != "" {
		what += " (trace " + r.TraceHash + ")"
	}
	parts := []string{"converged " + strconv.FormatBool(r.Converged)}
	for _, f := range []struct {
		name string
		v    *float64
	}{
		{"full view", r.FullViewS}, {"detect all", r.DetectAllS}, {"leave all", r.LeaveAllS},
		{"rejoin all", r.RejoinAllS}, {"heal converge", r.HealConvergeS}, {"broadcast all", r.BroadcastAllS},
	} {
		if f.v != nil {
			parts = append(parts, f.name+" "+strconv.FormatFloat(*f.v, 'f', 3, 64)+" s")
		}
	}
	parts = append(parts, "false dead "+strconv.Itoa(r.FalseDead), "false suspect "+strconv.Itoa(r.FalseSuspect))
	if n := len(r.Violations); n > 0 {
		parts = append(parts, strconv.Itoa(n)+" violations")
	}
	return [2]string{what, strings.Join(parts, " · ")}
}

func svgLegend(b *svgBuf) {
	x := svgLeft
	for _, st := range svgStates {
		b.printf(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2.5"`, x, svgLegendY, x+24, svgLegendY, st.color)
		if st.dash != "" {
			b.printf(` stroke-dasharray="%s"`, st.dash)
		}
		b.printf("/>\n")
		b.printf(`<text x="%d" y="%d" dominant-baseline="middle">%s</text>`+"\n", x+30, svgLegendY, st.name)
		x += 110
	}
}

// svgRange returns the least and greatest finite value the states take.
func svgRange(samples []Sample, states []svgState) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range samples {
		for _, st := range states {
			if v := st.value(s); !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if lo > hi {
		return 0, 0
	}
	return lo, hi
}

func svgClamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return lo
	}
	return min(max(v, lo), hi)
}

// svgTicks is an axis: its range and the round values to mark on it.
type svgTicks struct {
	lo, hi   float64
	values   []float64
	decimals int
}

func (t svgTicks) label(v float64) string {
	return strconv.FormatFloat(v+0, 'f', t.decimals, 64) // +0 turns -0 into 0
}

// niceTicks picks about n round tick values (1, 2 or 5 times a power of
// ten apart) covering [lo, hi].
func niceTicks(lo, hi float64, n int) svgTicks {
	if !(hi > lo) {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	k0 := math.Floor(lo/step + 1e-9)
	k1 := math.Ceil(hi/step - 1e-9)
	t := svgTicks{lo: k0 * step, hi: k1 * step, decimals: max(0, -int(math.Floor(math.Log10(step)+1e-9)))}
	for k := k0; k <= k1; k++ {
		t.values = append(t.values, k*step)
	}
	return t
}

// num formats a coordinate with one decimal.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if s == "-0.0" {
		s = "0.0"
	}
	return s
}

// xmlText escapes s for XML character data and attribute values.
func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// svgBuf collects the image before it is written in one go.
type svgBuf struct{ bytes.Buffer }

func (b *svgBuf) printf(format string, args ...any) {
	if len(args) == 0 {
		b.WriteString(format)
		return
	}
	fmt.Fprintf(&b.Buffer, format, args...)
}
