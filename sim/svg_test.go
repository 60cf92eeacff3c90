package sim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// svgElements parses an SVG document with encoding/xml and returns the
// start elements it holds and all its character data.
func svgElements(t *testing.T, b []byte) ([]xml.StartElement, string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var (
		elems []xml.StartElement
		text  strings.Builder
		depth int
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 && (tok.Name.Local != "svg" || tok.Name.Space != "http://www.w3.org/2000/svg") {
				t.Fatalf("root element is %v, want svg in the SVG namespace", tok.Name)
			}
			depth++
			elems = append(elems, tok.Copy())
		case xml.EndElement:
			depth--
		case xml.CharData:
			text.Write(tok)
		}
	}
	if len(elems) == 0 || depth != 0 {
		t.Fatalf("no complete root element in\n%s", b)
	}
	return elems, text.String()
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func TestWriteSVG(t *testing.T) {
	r, err := Run(Scenario{Name: "crash", Nodes: 20, Seed: 3, Duration: 30 * time.Second, SkipEnvelope: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Timeline) == 0 {
		t.Fatal("the run has no timeline")
	}
	var a, b bytes.Buffer
	if err := WriteSVG(&a, r); err != nil {
		t.Fatal(err)
	}
	r.WallS += 1 // the wall time is not drawn
	if err := WriteSVG(&b, r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two calls wrote different bytes")
	}
	elems, text := svgElements(t, a.Bytes())
	lines := map[string]int{}
	for _, e := range elems {
		if e.Name.Local == "polyline" || e.Name.Local == "path" {
			lines[attr(e, "data-state")]++
			if pts := strings.Fields(attr(e, "points")); len(pts) != len(r.Timeline) {
				t.Errorf("%s line has %d points, want %d", attr(e, "data-state"), len(pts), len(r.Timeline))
			}
		}
	}
	for _, st := range []string{"alive", "suspect", "dead", "left"} {
		if lines[st] != 1 {
			t.Errorf("%d lines for %s, want 1", lines[st], st)
		}
	}
	if len(lines) != 4 {
		t.Errorf("lines %v, want one per state", lines)
	}
	for _, want := range []string{"crash: 20 nodes, seed 3, profile lan, loss 0", "virtual time (s)",
		"members alive", "suspect", "dead", "left", "(trace " + r.TraceHash + ")", "converged true"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	if strings.Contains(text, "no samples") {
		t.Error(`an image with samples says "no samples"`)
	}
}

func TestWriteSVGEmpty(t *testing.T) {
	r := &Result{Scenario: `a<b & "c"`, Nodes: 2, Profile: "lan", Violations: []string{}}
	var b bytes.Buffer
	if err := WriteSVG(&b, r); err != nil {
		t.Fatal(err)
	}
	elems, text := svgElements(t, b.Bytes())
	if !strings.Contains(text, "no samples") || !strings.Contains(text, `a<b & "c": 2 nodes`) {
		t.Errorf("text %q lacks the title or %q", text, "no samples")
	}
	for _, e := range elems {
		if e.Name.Local == "polyline" || e.Name.Local == "path" {
			t.Errorf("an empty timeline draws a %s", e.Name.Local)
		}
	}
	if err := WriteSVG(io.Discard, nil); err == nil {
		t.Error("WriteSVG(nil) succeeded")
	}
}

// TestWriteSVGOddValues draws a timeline with a single sample at time zero
// and constant values, which must not divide by zero.
func TestWriteSVGOddValues(t *testing.T) {
	r := &Result{Scenario: "x", Nodes: 2, Timeline: []Sample{{T: 0, Alive: 2}}}
	var b bytes.Buffer
	if err := WriteSVG(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"NaN", "Inf", "-0.0"} {
		if bytes.Contains(b.Bytes(), []byte(bad)) {
			t.Errorf("image contains %s:\n%s", bad, b.Bytes())
		}
	}
	svgElements(t, b.Bytes())
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		n      int
		want   string
	}{
		{0, 60, 8, "0 10 20 30 40 50 60"},
		{0, 30, 8, "0 5 10 15 20 25 30"},
		{98.95, 100.05, 5, "98.5 99.0 99.5 100.0 100.5"},
		{0, 1, 4, "0.0 0.5 1.0"},
		{0, 600, 8, "0 100 200 300 400 500 600"},
		{5, 5, 4, "5.0 5.5 6.0"},
	}
	for _, tt := range tests {
		ticks := niceTicks(tt.lo, tt.hi, tt.n)
		var got []string
		for _, v := range ticks.values {
			got = append(got, ticks.label(v))
		}
		if s := strings.Join(got, " "); s != tt.want {
			t.Errorf("niceTicks(%v, %v, %d) = %s, want %s", tt.lo, tt.hi, tt.n, s, tt.want)
		}
	}
}
