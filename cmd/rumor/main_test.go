package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// runCmd runs the rumor command line in-process.
func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // substrings of stdout
	}{
		{"text", []string{"version"}, []string{"rumor dev", "protocol versions 1-5", "memberlist v0.7.0", "go:"}},
		{"json", []string{"version", "--json"}, []string{`"version":"dev"`, `"protocol_min":1`, `"protocol_max":5`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, "", tt.args...)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout %q lacks %q", out, w)
				}
			}
		})
	}
}

func TestVersionJSON(t *testing.T) {
	old := version
	version = "v9.9.9-test"
	defer func() { version = old }()
	code, out, _ := runCmd(t, "", "version", "--json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if strings.Count(out, "\n") != 1 {
		t.Errorf("want one line, got %q", out)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if v.Version != "v9.9.9-test" || v.ProtocolMin != 1 || v.ProtocolMax != 5 || v.Memberlist != "v0.7.0" || !strings.HasPrefix(v.Go, "go") {
		t.Errorf("version info = %+v", v)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []usageCase{
		{"unknown command", []string{"frobnicate"}, "unexpected argument frobnicate"},
		{"unknown flag", []string{"wire", "decode", "--bogus"}, `unknown flag --bogus (see "rumor wire decode --help")`},
		{"bad format", []string{"wire", "decode", "--format", "octal"}, "--format"},
		{"bad base64 key", []string{"wire", "decode", "--key", "not*base64", "--hex", "00"}, "not valid base64"},
		{"short key", []string{"wire", "decode", "--key", "AAECAwQFBgc=", "--hex", "00"}, "key is 8 bytes, want 16, 24 or 32"},
		{"bad hex key", []string{"wire", "decode", "--key", "hex:zz", "--hex", "00"}, "not valid hex"},
		{"long label", []string{"wire", "decode", "--label", strings.Repeat("x", 256), "--hex", "00"}, "--label is 256 bytes"},
		{"file and hex", []string{"wire", "decode", "f.hex", "--hex", "00"}, "not both"},
		{"raw and hex format", []string{"wire", "decode", "--raw", "--format", "hex"}, "--raw conflicts"},
		{"plaintext without key", []string{"wire", "decode", "--allow-plaintext", "--hex", "00"}, "needs --key"},
	}
	wantUsageErrors(t, tests)
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"--help"}, {"wire", "decode", "--help"}, {"version", "-h"}} {
		code, out, errOut := runCmd(t, "", args...)
		if code != exitOK || !strings.Contains(out, "Usage: rumor") || errOut != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// usageCase is a command line that must be refused as misused.
type usageCase struct {
	name string
	args []string
	want string // substring of stderr
}

// wantUsageErrors checks that each command line exits 2 with one line on
// stderr naming the problem, and nothing on stdout.
func wantUsageErrors(t *testing.T, tests []usageCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, "", tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.HasPrefix(errOut, "rumor: ") || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr %q, want one line with %q", errOut, tt.want)
			}
		})
	}
}
