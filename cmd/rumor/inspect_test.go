package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/tags"
)

var (
	inspectKey        = []byte("0123456789abcdef")
	inspectKey64      = base64.StdEncoding.EncodeToString(inspectKey)
	inspectOtherKey64 = base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba98"))
)

// inspectCluster starts three rumor nodes on loopback, encrypted with
// inspectKey and labelled "prod", and waits until each lists all three.
func inspectCluster(t *testing.T) []*rumor.Node {
	t.Helper()
	meta := map[string][]byte{"n1": nil, "n2": []byte("plain meta"), "n3": nil}
	var err error
	if meta["n1"], err = tags.Encode(map[string]string{"role": "seed", "dc": "east"}); err != nil {
		t.Fatal(err)
	}
	if meta["n3"], err = tags.Encode(map[string]string{"role": "web server", "empty": ""}); err != nil {
		t.Fatal(err)
	}
	var nodes []*rumor.Node
	for _, name := range []string{"n3", "n1", "n2"} { // not in name order
		c := rumor.DefaultLocalConfig()
		c.Name, c.BindAddr, c.BindPort = name, "127.0.0.1", 0
		c.SecretKey, c.Label, c.Meta = inspectKey, "prod", meta[name]
		n, err := rumor.Create(c)
		if err != nil {
			t.Fatalf("Create(%s): %v", name, err)
		}
		t.Cleanup(func() { n.Shutdown() })
		nodes = append(nodes, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range nodes[1:] {
		if k, err := n.Join(ctx, []string{nodes[0].Addr().String()}); err != nil || k != 1 {
			t.Fatalf("join: %d, %v", k, err)
		}
	}
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		all := true
		for _, n := range nodes {
			all = all && n.NumMembers() == 3
		}
		if all {
			return nodes
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatal("the 3 nodes did not converge within 15 s")
		}
	}
}

// inspectNode returns the node called name.
func inspectNode(t *testing.T, nodes []*rumor.Node, name string) *rumor.Node {
	t.Helper()
	for _, n := range nodes {
		if n.LocalNode().Name == name {
			return n
		}
	}
	t.Fatalf("no node %s", name)
	return nil
}

func TestInspectCommand(t *testing.T) {
	nodes := inspectCluster(t)
	addr := nodes[0].Addr().String()
	keyring := filepath.Join(t.TempDir(), "keyring.json")
	if err := os.WriteFile(keyring, []byte(`["`+inspectKey64+`", "`+inspectOtherKey64+`"]`), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("table", func(t *testing.T) {
		for _, args := range [][]string{
			{"inspect", addr, "--encrypt-key", inspectKey64, "--label", "prod"},
			{"inspect", addr, "--keyring-file", keyring, "--label=prod", "--timeout", "5s"},
			{"inspect", addr, "--encrypt-key", inspectKey64, "--encrypt-key", inspectOtherKey64, "--label", "prod"},
		} {
			code, out, errOut := runCmd(t, "", args...)
			if code != exitOK || errOut != "" {
				t.Fatalf("%q: exit %d, stderr %q", args, code, errOut)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 4 {
				t.Fatalf("%q: want a header and 3 rows, got:\n%s", args, out)
			}
			if got := strings.Fields(lines[0]); strings.Join(got, " ") != "NAME ADDRESS STATE INCARNATION TAGS" {
				t.Errorf("header %q", lines[0])
			}
			wantTags := map[string]string{
				"n1": "dc=east,role=seed", "n2": `"plain meta"`, "n3": `empty=,role="web server"`,
			}
			for i, name := range []string{"n1", "n2", "n3"} {
				n := inspectNode(t, nodes, name)
				f := strings.Fields(lines[i+1])
				if len(f) < 5 {
					t.Fatalf("row %q", lines[i+1])
				}
				wantAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(n.Addr().Port())))
				inc := strconv.FormatUint(uint64(n.LocalNode().Incarnation), 10)
				if f[0] != name || f[1] != wantAddr || f[2] != "alive" || f[3] != inc {
					t.Errorf("row %d = %q, want %s %s alive %s", i+1, lines[i+1], name, wantAddr, inc)
				}
				// Columns line up: the tags start where the header's do.
				if col := strings.Index(lines[0], "TAGS"); len(lines[i+1]) < col || lines[i+1][col:] != wantTags[name] {
					t.Errorf("row %q: tags column is not %q", lines[i+1], wantTags[name])
				}
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		code, out, errOut := runCmd(t, "", "inspect", addr, "--encrypt-key", inspectKey64, "--label", "prod", "--json")
		if code != exitOK || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "[") {
			t.Errorf("want one JSON array line, got %q", out)
		}
		var members []api.Member
		if err := json.Unmarshal([]byte(out), &members); err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]string{
			"n1": {"dc": "east", "role": "seed"}, "n2": {}, "n3": {"role": "web server", "empty": ""},
		}
		if len(members) != 3 {
			t.Fatalf("%d members: %+v", len(members), members)
		}
		for i, name := range []string{"n1", "n2", "n3"} {
			m := members[i]
			n := inspectNode(t, nodes, name)
			if m.Name != name || m.Addr != "127.0.0.1" || m.Port != n.Addr().Port() || m.State != "alive" ||
				m.Tags == nil || !maps.Equal(m.Tags, want[name]) || string(m.Meta) != string(n.LocalNode().Meta) {
				t.Errorf("member %d = %+v", i, m)
			}
		}
		if !strings.Contains(out, `"tags":{}`) {
			t.Errorf("a member without tags should have \"tags\":{} in %s", out)
		}
	})

	t.Run("failures", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := ln.Addr().String()
		ln.Close()
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"refused", []string{"inspect", closed}, "connection refused"},
			{"wrong key", []string{"inspect", addr, "--encrypt-key", inspectOtherKey64, "--label", "prod"}, "no key decrypts the reply"},
			{"no key", []string{"inspect", addr, "--label", "prod"}, "the reply is encrypted and no key was given"},
			{"wrong label", []string{"inspect", addr, "--encrypt-key", inspectKey64, "--label", "dev"}, "wrong label"},
			{"missing keyring file", []string{"inspect", addr, "--keyring-file", filepath.Join(t.TempDir(), "none.json")}, "--keyring-file"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, out, errOut := runCmd(t, "", tc.args...)
				if code != exitFail || out != "" {
					t.Errorf("exit %d, stdout %q; want %d and nothing", code, out, exitFail)
				}
				if !strings.HasPrefix(errOut, "rumor: inspect: ") || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
					t.Errorf("stderr %q, want one line with %q", errOut, tc.want)
				}
			})
		}
	})
	for _, n := range nodes {
		if k := n.NumMembers(); k != 3 {
			t.Errorf("%s lists %d members after the inspections, want 3", n.LocalNode().Name, k)
		}
	}
}

func TestInspectUsageErrors(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notJSON := file("not.json", "AAECAwQFBgcICQoLDA0ODw==\n")
	empty := file("empty.json", "[]")
	bad64 := file("bad64.json", `["not*base64"]`)
	short := file("short.json", `["AAECAwQFBgc="]`)
	wantUsageErrors(t, []usageCase{
		{"no address", []string{"inspect"}, `expected "<host:port>"`},
		{"no port", []string{"inspect", "127.0.0.1"}, "want HOST:PORT"},
		{"no host", []string{"inspect", ":7946"}, "want HOST:PORT"},
		{"bad port", []string{"inspect", "127.0.0.1:http"}, "not a number from 1 to 65535"},
		{"port zero", []string{"inspect", "127.0.0.1:0"}, "not a number from 1 to 65535"},
		{"port too big", []string{"inspect", "127.0.0.1:65536"}, "not a number from 1 to 65535"},
		{"bad key", []string{"inspect", "127.0.0.1:7946", "--encrypt-key", "not*base64"}, "not valid base64"},
		{"short key", []string{"inspect", "127.0.0.1:7946", "--encrypt-key", "AAECAwQFBgc="}, "key is 8 bytes"},
		{"long label", []string{"inspect", "127.0.0.1:7946", "--label", strings.Repeat("x", 256)}, "--label is 256 bytes"},
		{"zero timeout", []string{"inspect", "127.0.0.1:7946", "--timeout", "0s"}, "--timeout 0s"},
		{"negative timeout", []string{"inspect", "127.0.0.1:7946", "--timeout=-1s"}, "--timeout -1s"},
		{"bad timeout", []string{"inspect", "127.0.0.1:7946", "--timeout", "soon"}, "--timeout"},
		{"keyring not JSON", []string{"inspect", "127.0.0.1:7946", "--keyring-file", notJSON}, "want a JSON array"},
		{"empty keyring", []string{"inspect", "127.0.0.1:7946", "--keyring-file", empty}, "holds no keys"},
		{"keyring bad base64", []string{"inspect", "127.0.0.1:7946", "--keyring-file", bad64}, "key 1 is not valid base64"},
		{"keyring short key", []string{"inspect", "127.0.0.1:7946", "--keyring-file", short}, "key 1: key is 8 bytes"},
	})
}
