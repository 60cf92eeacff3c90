package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A reader for the YAML that deploy/kubernetes uses, for deploy_test.go.

// yamlNode is a node of the YAML subset deploy/kubernetes uses: block
// mappings and sequences, plain and quoted scalars, comments, several
// documents. Anything else is an error rather than a guess. Scalars stay
// strings; the zero node stands for an absent one.
type yamlNode struct {
	s string
	m map[string]yamlNode
	l []yamlNode
}

// get follows keys, and list indexes given as numbers.
func (n yamlNode) get(path ...string) yamlNode {
	for _, k := range path {
		if i, err := strconv.Atoi(k); err == nil && n.l != nil {
			if i >= len(n.l) {
				return yamlNode{}
			}
			n = n.l[i]
		} else {
			n = n.m[k]
		}
	}
	return n
}

func (n yamlNode) str(path ...string) string { return n.get(path...).s }

type yamlLine struct {
	indent, no int
	text       string
}

type yamlParser struct {
	lines []yamlLine
	i     int
}

// parseYAML returns the non-empty documents of text.
func parseYAML(text string) ([]yamlNode, error) {
	var docs []yamlNode
	var cur []yamlLine
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		p := &yamlParser{lines: cur}
		n, err := p.block(cur[0].indent)
		if err == nil && p.i < len(p.lines) {
			err = fmt.Errorf("line %d: unexpected indentation", p.lines[p.i].no)
		}
		docs, cur = append(docs, n), nil
		return err
	}
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimRight(yamlUncomment(raw), " ")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line == "---" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if strings.ContainsRune(line, '\t') {
			return nil, fmt.Errorf("line %d: tab", i+1)
		}
		text := strings.TrimLeft(line, " ")
		cur = append(cur, yamlLine{indent: len(line) - len(text), no: i + 1, text: text})
	}
	return docs, flush()
}

// yamlUncomment cuts a comment: a # at the start or after a space, outside
// quotes.
func yamlUncomment(s string) string {
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '#' && (i == 0 || s[i-1] == ' '):
			return s[:i]
		}
	}
	return s
}

func isItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

var yamlKey = regexp.MustCompile(`^([A-Za-z0-9_./-]+):(?: +(.*))?$`)

func (p *yamlParser) block(indent int) (yamlNode, error) {
	if isItem(p.lines[p.i].text) {
		return p.sequence(indent)
	}
	return p.mapping(indent)
}

func (p *yamlParser) sequence(indent int) (yamlNode, error) {
	n := yamlNode{l: []yamlNode{}}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent && isItem(p.lines[p.i].text) {
		l := p.lines[p.i]
		rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		var item yamlNode
		var err error
		switch {
		case rest == "":
			if p.i++; p.i == len(p.lines) || p.lines[p.i].indent <= indent {
				return n, fmt.Errorf("line %d: empty item", l.no)
			}
			item, err = p.block(p.lines[p.i].indent)
		case yamlKey.MatchString(rest) || isItem(rest):
			// "- key: value": a mapping whose keys line up with key.
			col := indent + len(l.text) - len(rest)
			p.lines[p.i] = yamlLine{indent: col, no: l.no, text: rest}
			item, err = p.block(col)
		default:
			p.i++
			item, err = yamlScalar(rest, l.no)
		}
		if err != nil {
			return n, err
		}
		n.l = append(n.l, item)
	}
	return n, nil
}

func (p *yamlParser) mapping(indent int) (yamlNode, error) {
	n := yamlNode{m: map[string]yamlNode{}}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent && !isItem(p.lines[p.i].text) {
		l := p.lines[p.i]
		m := yamlKey.FindStringSubmatch(l.text)
		if m == nil {
			return n, fmt.Errorf("line %d: want key: value, have %q", l.no, l.text)
		}
		if _, dup := n.m[m[1]]; dup {
			return n, fmt.Errorf("line %d: key %s repeated", l.no, m[1])
		}
		p.i++
		var v yamlNode // null if nothing follows
		var err error
		switch {
		case m[2] != "":
			v, err = yamlScalar(m[2], l.no)
		case p.i < len(p.lines) && (p.lines[p.i].indent > indent ||
			p.lines[p.i].indent == indent && isItem(p.lines[p.i].text)): // a list may align with its key
			v, err = p.block(p.lines[p.i].indent)
		}
		if err != nil {
			return n, err
		}
		n.m[m[1]] = v
	}
	return n, nil
}

func yamlScalar(s string, no int) (yamlNode, error) {
	switch {
	case s == "[]":
		return yamlNode{l: []yamlNode{}}, nil
	case s == "{}":
		return yamlNode{m: map[string]yamlNode{}}, nil
	case strings.HasPrefix(s, `"`):
		v, err := strconv.Unquote(s)
		if err != nil {
			return yamlNode{}, fmt.Errorf("line %d: %s: %w", no, s, err)
		}
		return yamlNode{s: v}, nil
	case len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'':
		return yamlNode{s: strings.ReplaceAll(s[1:len(s)-1], "''", "'")}, nil
	case strings.ContainsAny(s[:1], "[{|>&*!%@`'"):
		return yamlNode{}, fmt.Errorf("line %d: %q: not in the YAML subset this test reads", no, s)
	}
	return yamlNode{s: s}, nil
}
