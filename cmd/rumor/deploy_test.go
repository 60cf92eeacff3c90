package main

// Tests of deploy/: the command lines in the Kubernetes manifest, the
// systemd unit and the Dockerfile parse with the real command model, the
// names and ports they share agree, the Docker build context holds every
// file the build needs, and the build gives a static binary.

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

// deployDir is deploy/ from this package's directory, where tests run.
const deployDir = "../../deploy"

func readDeploy(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// newParser builds the command model as run does, around root.
func newParser(t *testing.T, root *cli) *kong.Kong {
	t.Helper()
	parser, err := kong.New(root,
		kong.Name("rumor"),
		kong.Writers(io.Discard, io.Discard),
		kong.Exit(func(code int) { t.Fatalf("kong exited with %d", code) }),
		kong.Bind(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}),
	)
	if err != nil {
		t.Fatalf("command model: %v", err)
	}
	return parser
}

// parseAgent parses args without running anything, and returns the agent
// command's values.
func parseAgent(t *testing.T, args []string) agentCmd {
	t.Helper()
	var root cli
	ctx, err := newParser(t, &root).Parse(args)
	if err != nil {
		t.Fatalf("rumor %s: %v", strings.Join(args, " "), err)
	}
	if got := strings.Join(commandWords(ctx), " "); got != "agent" {
		t.Fatalf("rumor %s selects %q, want agent", strings.Join(args, " "), got)
	}
	return root.Agent
}

// agentEnvs returns the environment variable of every agent flag.
func agentEnvs(t *testing.T) []string {
	t.Helper()
	var envs []string
	for _, n := range newParser(t, &cli{}).Model.Children {
		if n.Name == "agent" {
			for _, f := range n.Flags {
				envs = append(envs, f.Envs...)
			}
		}
	}
	if len(envs) == 0 {
		t.Fatal("the agent command has no flag with an environment variable")
	}
	return envs
}

// clearAgentEnv unsets every agent variable for the test, so that only what
// the deploy file sets is parsed, and returns their names.
func clearAgentEnv(t *testing.T) []string {
	t.Helper()
	known := agentEnvs(t)
	for _, name := range known {
		t.Setenv(name, "") // restored after the test
		os.Unsetenv(name)
	}
	return known
}

// portOf returns the port of a HOST:PORT flag value.
func portOf(t *testing.T, hostPort string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		t.Fatalf("%q: %v", hostPort, err)
	}
	return port
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func TestDeployKubernetes(t *testing.T) {
	text := readDeploy(t, "kubernetes/rumor.yaml")
	docs, err := parseYAML(text)
	if err != nil {
		t.Fatalf("rumor.yaml: %v", err)
	}
	byKind := map[string][]yamlNode{}
	for _, d := range docs {
		byKind[d.str("kind")] = append(byKind[d.str("kind")], d)
	}
	var headless, httpSvc yamlNode
	for _, s := range byKind["Service"] {
		if s.str("spec", "clusterIP") == "None" {
			headless = s
		} else {
			httpSvc = s
		}
	}
	if headless.m == nil || httpSvc.m == nil || len(byKind["StatefulSet"]) != 1 {
		t.Fatalf("want a headless Service, another Service and a StatefulSet; have %v", slices.Sorted(maps.Keys(byKind)))
	}
	sts := byKind["StatefulSet"][0]
	if got := headless.str("spec", "publishNotReadyAddresses"); got != "true" {
		t.Errorf("headless Service: publishNotReadyAddresses = %q; starting members could not find each other", got)
	}
	svcName := headless.str("metadata", "name")
	if got := sts.str("spec", "serviceName"); got != svcName {
		t.Errorf("StatefulSet serviceName %q, headless Service %q", got, svcName)
	}
	podLabels := sts.get("spec", "template", "metadata", "labels")
	for _, sel := range []yamlNode{headless.get("spec", "selector"), httpSvc.get("spec", "selector"), sts.get("spec", "selector", "matchLabels")} {
		for k, v := range sel.m {
			if podLabels.str(k) != v.s {
				t.Errorf("selector %s=%s does not select the pods", k, v.s)
			}
		}
	}

	known := clearAgentEnv(t)
	c := sts.get("spec", "template", "spec", "containers", "0")
	env := map[string]bool{}
	for _, e := range c.get("env").l {
		env[e.str("name")] = true
		if v, ok := e.m["value"]; ok {
			t.Setenv(e.str("name"), v.s) // parsed with the args below
		}
	}
	// Agent settings, the commented-out ones included, are real variables.
	for _, m := range regexp.MustCompile(`name: (RUMOR_\w+)`).FindAllStringSubmatch(text, -1) {
		if !slices.Contains(known, m[1]) {
			t.Errorf("the manifest sets %s, which no agent flag reads", m[1])
		}
	}
	var args []string
	for _, a := range c.get("args").l {
		// Kubernetes leaves a reference to an undefined variable as it is.
		for _, m := range varRef.FindAllStringSubmatch(a.s, -1) {
			if !env[m[1]] {
				t.Errorf("args refer to $(%s), which the container's env does not define", m[1])
			}
		}
		args = append(args, varRef.ReplaceAllStringFunc(a.s, func(ref string) string {
			return map[string]string{"$(POD_NAME)": "rumor-0", "$(POD_IP)": "10.1.2.3", "$(POD_NAMESPACE)": "prod"}[ref]
		}))
	}
	if _, ok := c.m["command"]; ok {
		t.Error("the container sets command; the image's entrypoint is the binary, so set only args")
	}
	agent := parseAgent(t, args)
	if agent.Name != "rumor-0" || agent.AdvertiseAddr != "10.1.2.3" || !agent.RetryJoin || agent.LogFormat != "json" {
		t.Errorf("agent: name %q, advertise %q, retry-join %v, log format %q", agent.Name, agent.AdvertiseAddr, agent.RetryJoin, agent.LogFormat)
	}
	if want := svcName + ".prod.svc.cluster.local"; !slices.Equal(agent.JoinDNS, []string{want}) {
		t.Errorf("--join-dns %q, want the headless Service's name %q", agent.JoinDNS, want)
	}

	// Ports: the container's by name, then what each Service and flag says.
	ports := map[string]string{} // name → containerPort/protocol
	for _, p := range c.get("ports").l {
		ports[p.str("name")] = p.str("containerPort") + "/" + p.str("protocol")
	}
	gossip := strconv.Itoa(agent.BindPort)
	if ports["gossip"] != gossip+"/TCP" || ports["gossip-udp"] != gossip+"/UDP" {
		t.Errorf("container ports %v; --bind-port %s wants gossip on TCP and UDP", ports, gossip)
	}
	httpPort := portOf(t, agent.HTTPAddr)
	if ports["http"] != httpPort+"/TCP" {
		t.Errorf("container port http = %q; --http-addr %s", ports["http"], agent.HTTPAddr)
	}
	// DNS answers SRV for the bare service name with every port it lists,
	// and --join-dns takes SRV records first: a non-gossip port here
	// would be handed out as a seed.
	var protos []string
	for _, p := range headless.get("spec", "ports").l {
		if p.str("port") != gossip || ports[p.str("targetPort")] != gossip+"/"+p.str("protocol") {
			t.Errorf("headless Service port %s (%s → %s) is not the gossip port %s", p.str("name"), p.str("port"), p.str("targetPort"), gossip)
		}
		protos = append(protos, p.str("protocol"))
	}
	if slices.Sort(protos); !slices.Equal(protos, []string{"TCP", "UDP"}) {
		t.Errorf("headless Service protocols %v, want TCP and UDP", protos)
	}
	hp := httpSvc.get("spec", "ports")
	if len(hp.l) != 1 || hp.str("0", "port") != httpPort || ports[hp.str("0", "targetPort")] != httpPort+"/TCP" {
		t.Errorf("HTTP Service: %d ports, the first %s → %s; want one, %s → the container's", len(hp.l), hp.str("0", "port"), hp.str("0", "targetPort"), httpPort)
	}

	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		g := c.get(probe, "httpGet")
		if g.str("path") != "/v1/health" || ports[g.str("port")] != httpPort+"/TCP" {
			t.Errorf("%s: GET %s on port %s, want /v1/health on %s", probe, g.str("path"), g.str("port"), httpPort)
		}
	}
	sc := c.get("securityContext")
	if sc.str("readOnlyRootFilesystem") != "true" || sc.str("allowPrivilegeEscalation") != "false" ||
		len(sc.get("capabilities", "drop").l) != 1 || sc.str("capabilities", "drop", "0") != "ALL" {
		t.Error("container securityContext: want a read-only root, no privilege escalation, every capability dropped")
	}
	if sts.str("spec", "template", "spec", "securityContext", "runAsNonRoot") != "true" {
		t.Error("pod securityContext: runAsNonRoot is not set")
	}
	grace, err := strconv.Atoi(sts.str("spec", "template", "spec", "terminationGracePeriodSeconds"))
	if err != nil || time.Duration(grace)*time.Second <= leaveTimeout {
		t.Errorf("terminationGracePeriodSeconds %d (%v) leaves no time for the %v graceful leave", grace, err, leaveTimeout)
	}
}

// envFile reads a systemd EnvironmentFile: its assignments, and with
// examples also the commented-out ones ("#RUMOR_X=...").
func envFile(t *testing.T, text string, examples bool) map[string]string {
	t.Helper()
	vars := map[string]string{}
	assign := regexp.MustCompile(`^#?([A-Z_][A-Z0-9_]*)=(.*)$`)
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		m := assign.FindStringSubmatch(line)
		if m == nil || (strings.HasPrefix(line, "#") && !examples) {
			if line != "" && !strings.HasPrefix(line, "#") {
				t.Errorf("rumor.env: not an assignment: %q", line)
			}
			continue
		}
		vars[m[1]] = m[2]
	}
	return vars
}

func TestDeploySystemd(t *testing.T) {
	unit := readDeploy(t, "systemd/rumor.service")
	keys := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			keys[k] = append(keys[k], v)
		}
	}
	if len(keys["ExecStart"]) != 1 {
		t.Fatalf("want one ExecStart, have %q", keys["ExecStart"])
	}
	argv := strings.Fields(keys["ExecStart"][0])
	if argv[0] != "/usr/local/bin/rumor" || strings.ContainsAny(keys["ExecStart"][0], `"'$%\`) {
		t.Fatalf("ExecStart=%s: want /usr/local/bin/rumor and plain words", keys["ExecStart"][0])
	}
	for k, want := range map[string]string{"Type": "simple", "KillSignal": "SIGTERM", "DynamicUser": "yes",
		"EnvironmentFile": "-/etc/rumor/rumor.env", "Restart": "on-failure", "RestartPreventExitStatus": strconv.Itoa(exitUsage)} {
		if !slices.Equal(keys[k], []string{want}) {
			t.Errorf("%s=%q, want %q", k, keys[k], want)
		}
	}
	stop, err := time.ParseDuration(strings.Join(keys["TimeoutStopSec"], "") + "s")
	if err != nil || stop <= leaveTimeout {
		t.Errorf("TimeoutStopSec=%q (%v) leaves no time for the %v graceful leave", keys["TimeoutStopSec"], err, leaveTimeout)
	}

	envText := readDeploy(t, "systemd/rumor.env")
	known := agentEnvs(t)
	for name := range envFile(t, envText, true) {
		if !slices.Contains(known, name) {
			t.Errorf("rumor.env sets %s, which no agent flag reads", name)
		}
	}
	for _, examples := range []bool{false, true} {
		t.Run(fmt.Sprintf("examples=%v", examples), func(t *testing.T) {
			clearAgentEnv(t)
			vars := envFile(t, envText, examples)
			for k, v := range vars {
				t.Setenv(k, v)
			}
			a := parseAgent(t, argv[1:])
			if !a.RetryJoin || a.Profile != "lan" || portOf(t, a.HTTPAddr) != "7947" {
				t.Errorf("agent from rumor.env: retry-join %v, profile %q, http %q", a.RetryJoin, a.Profile, a.HTTPAddr)
			}
			if examples && (len(a.Join) != 2 || len(a.Tag) != 2 || a.KeyringFile == "") {
				t.Errorf("examples: join %q, tags %v, keyring %q", a.Join, a.Tag, a.KeyringFile)
			}
		})
	}
}

var instruction = regexp.MustCompile(`^[A-Z]+$`)

func TestDeployDockerfile(t *testing.T) {
	text := readDeploy(t, "Dockerfile")
	instr := map[string][]string{} // instruction → its lines' arguments
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, " "); ok && instruction.MatchString(k) {
			instr[k] = append(instr[k], strings.TrimSpace(v))
		}
	}
	jsonForm := func(k string) []string {
		if len(instr[k]) != 1 {
			t.Fatalf("want one %s, have %q", k, instr[k])
		}
		var v []string
		if err := json.Unmarshal([]byte(instr[k][0]), &v); err != nil {
			t.Fatalf("%s %s: want the JSON (exec) form: %v", k, instr[k][0], err)
		}
		return v
	}
	entry, cmd := jsonForm("ENTRYPOINT"), jsonForm("CMD")
	clearAgentEnv(t)
	if !slices.Equal(entry, []string{"/rumor"}) || !slices.Contains(instr["COPY"], "--from=build /out/rumor /rumor") {
		t.Errorf("ENTRYPOINT %q, COPY %q: want the built binary at /rumor", entry, instr["COPY"])
	}
	a := parseAgent(t, cmd)
	expose := strings.Fields(strings.Join(instr["EXPOSE"], " "))
	gossip, httpPort := strconv.Itoa(a.BindPort), portOf(t, a.HTTPAddr)
	if want := []string{gossip + "/tcp", gossip + "/udp", httpPort + "/tcp"}; !slices.Equal(expose, want) {
		t.Errorf("EXPOSE %q, want %q from the CMD's flags", expose, want)
	}
	if host, _, _ := net.SplitHostPort(a.HTTPAddr); !net.ParseIP(host).IsUnspecified() {
		t.Errorf("--http-addr %s: unreachable from outside the container", a.HTTPAddr)
	}
	if !strings.Contains(text, "USER 65532:65532") {
		t.Error("the image does not run as the numeric non-root user 65532")
	}

	// The Go image is the go.mod's version, and the build the one
	// TestStaticBinary checks.
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if m == nil || !slices.Contains(instr["ARG"], "GO_VERSION="+string(m[1])) {
		t.Errorf("ARG %q: want GO_VERSION=%s, go.mod's", instr["ARG"], m[1])
	}
	for _, s := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w`, "./cmd/rumor"} {
		if !strings.Contains(text, s) {
			t.Errorf("the build does not use %s", s)
		}
	}
}

// dockerignore is a .dockerignore's patterns, matched as Docker does for
// the forms used here: a pattern excludes the paths it matches and
// everything under them; "**" matches any number of directories.
type dockerignore []string

func (d dockerignore) excludes(p string) bool {
	parts := strings.Split(p, "/")
	for _, pat := range d {
		pp := strings.Split(path.Clean(strings.TrimPrefix(pat, "/")), "/")
		for n := 1; n <= len(parts); n++ { // p or one of its parents
			if globParts(pp, parts[:n]) {
				return true
			}
		}
	}
	return false
}

func globParts(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if globParts(pat[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	ok, err := path.Match(pat[0], strings.Join(name[:min(1, len(name))], ""))
	return err == nil && ok && len(name) > 0 && globParts(pat[1:], name[1:])
}

func TestDockerignore(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	b, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var ign dockerignore
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			if strings.HasPrefix(line, "!") {
				t.Fatalf(".dockerignore: exceptions (%q) are not modelled by this test", line)
			}
			ign = append(ign, line)
		}
	}
	// The matcher itself, on paths the file means to leave out.
	for _, p := range []string{".git/HEAD", "interop/go.mod", "cmd/rumor/main_test.go", "internal/wire/testdata/golden/x", "rumor"} {
		if !ign.excludes(p) {
			t.Errorf(".dockerignore keeps %s", p)
		}
	}

	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f",
		`{{if and .Module .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}`,
		".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	files := append(strings.Fields(string(out)), filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum"))
	if len(files) < 10 {
		t.Fatalf("go list found only %q", files)
	}
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("%s is outside the module at %s", f, root)
		}
		if ign.excludes(filepath.ToSlash(rel)) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", rel)
		}
	}
}

// TestStaticBinary builds cmd/rumor for Linux as deploy/Dockerfile does
// and checks that it needs no dynamic loader or shared library, so that it
// runs on distroless/static or scratch.
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	bin := filepath.Join(t.TempDir(), "rumor")
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("the binary is not ELF: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("shared libraries %q (%v)", libs, err)
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary keeps its symbol table despite -s")
	}
}
