package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/rumorproject/rumor/internal/wire"
)

// version is the release version, set at build time with
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/rumor
var version = "dev"

// The memberlist protocol versions rumor speaks, and the memberlist release
// whose wire format it reproduces.
const (
	protocolMin       = wire.ProtocolVersionMin
	protocolMax       = wire.ProtocolVersionMax
	memberlistVersion = "v0.7.0"
)

type versionCmd struct {
	JSON bool `help:"Print one JSON object."`
}

// versionInfo is what `rumor version` reports.
type versionInfo struct {
	Version       string `json:"version"`
	Module        string `json:"module,omitempty"`
	ModuleVersion string `json:"module_version,omitempty"`
	Revision      string `json:"revision,omitempty"`
	RevisionTime  string `json:"revision_time,omitempty"`
	Modified      bool   `json:"modified,omitempty"`
	ProtocolMin   int    `json:"protocol_min"`
	ProtocolMax   int    `json:"protocol_max"`
	Memberlist    string `json:"memberlist"`
	Go            string `json:"go"`
}

func currentVersion() versionInfo {
	v := versionInfo{
		Version:     version,
		ProtocolMin: protocolMin,
		ProtocolMax: protocolMax,
		Memberlist:  memberlistVersion,
		Go:          runtime.Version(),
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Module, v.ModuleVersion = bi.Main.Path, bi.Main.Version
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.RevisionTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func (c *versionCmd) Run(e *env) error {
	v := currentVersion()
	if c.JSON {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	w := &errWriter{w: e.stdout}
	w.printf("rumor %s\n", v.Version)
	if v.Module != "" {
		w.printf("module:   %s %s\n", v.Module, v.ModuleVersion)
	}
	if v.Revision != "" {
		rev := v.Revision
		if v.RevisionTime != "" {
			rev += " " + v.RevisionTime
		}
		if v.Modified {
			rev += " (modified)"
		}
		w.printf("revision: %s\n", rev)
	}
	w.printf("protocol: memberlist protocol versions %d-%d (wire compatible with hashicorp/memberlist %s)\n",
		v.ProtocolMin, v.ProtocolMax, v.Memberlist)
	w.printf("go:       %s\n", v.Go)
	return w.err
}

// errWriter remembers the first write error so a run of prints is checked
// once.
type errWriter struct {
	w   io.Writer
	err error
}

func (w *errWriter) printf(format string, args ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.w, format, args...)
	}
}
