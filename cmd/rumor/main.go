// Command rumor is the command-line tool of rumor, a gossip membership system
// that speaks hashicorp/memberlist v0.7.0's wire protocol.
//
// Usage:
//
//	rumor agent [--name N] [--bind-addr IP] [--bind-port P] [--join ADDR]... [--join-dns NAME]... [--http-addr A] ...
//	rumor demo [--nodes 5] [--chaos]
//	rumor inspect HOST:PORT [--encrypt-key K] [--label L] [--json]
//	rumor members|join|leave|broadcast|send|events|tags|keys ... [--http-addr A] [--http-token T]
//	rumor version [--json]
//	rumor wire decode [FILE] [--hex HEX] [--key KEY]... [--label L] [--stream|--reply] ...
//	rumor sim SCENARIO [--nodes N] [--seed S] [--loss P] [--duration D] [--profile lan|wan|local] [--fast] [--svg FILE] [--json] [--quiet]
//
// Every subcommand is a kong command in its own file; [run] parses the
// arguments and executes one, reading and writing only the streams it is
// given, so that tests call it in-process.
//
// Exit codes: 0 on success, 1 when the command fails (for example, input that
// does not decode), 2 for a usage error (unknown flag, bad flag value).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/alecthomas/kong"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// cli is the kong root: one field per top-level command.
type cli struct {
	Agent   agentCmd   `cmd:"" help:"Run an agent: a cluster member with an HTTP API, metrics and a dashboard."`
	Demo    demoCmd    `cmd:"" help:"Start a local cluster of agents in this process and print where to watch it."`
	Inspect inspectCmd `cmd:"" help:"Show the member table of any memberlist or rumor cluster without joining it."`

	Members   membersCmd   `cmd:"" group:"Client" help:"List an agent's members."`
	Join      joinCmd      `cmd:"" group:"Client" help:"Tell an agent to join seeds."`
	Leave     leaveCmd     `cmd:"" group:"Client" help:"Tell an agent to leave the cluster gracefully."`
	Broadcast broadcastCmd `cmd:"" group:"Client" help:"Send a message to every member."`
	Send      sendCmd      `cmd:"" group:"Client" help:"Send a message to one member, reliably."`
	Events    eventsCmd    `cmd:"" group:"Client" help:"Follow an agent's event stream."`
	Tags      tagsCmd      `cmd:"" group:"Client" help:"Change an agent's tags."`
	Keys      keysCmd      `cmd:"" group:"Client" help:"Manage an agent's encryption keys."`

	Version versionCmd `cmd:"" help:"Print the version, the memberlist protocol versions spoken, and the Go version."`
	Wire    wireCmd    `cmd:"" help:"Work with memberlist wire bytes."`
	Sim     simCmd     `cmd:"" help:"Simulate a cluster on a virtual clock and report what a scenario measures."`
}

// env holds the streams a command reads and writes; kong binds it into every
// Run method.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	args   []string // the command line, for what kong cannot tell (was a flag given?)
}

// usageError is an error in how the command was invoked (a bad flag value,
// say) rather than in what it processed; it exits with code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitPanic carries kong's exit request (after --help, say) out of the
// parser; run recovers it, so kong never calls os.Exit.
type exitPanic struct{ code int }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line args (without the program name) and returns
// the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	var root cli
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, args: args}
	parser, err := kong.New(&root,
		kong.Name("rumor"),
		kong.Description("rumor: gossip cluster membership, wire compatible with hashicorp/memberlist v0.7.0."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitPanic{code}) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Bind(e),
	)
	if err != nil { // a malformed command model: a programming error
		fmt.Fprintf(stderr, "rumor: %v\n", err)
		return exitFail
	}
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if ep, ok := r.(exitPanic); ok {
			code = ep.code
			if code != exitOK {
				code = exitUsage // kong exits non-zero only for usage problems
			}
			return
		}
		// A bug; report it in one line rather than with a stack trace.
		fmt.Fprintf(stderr, "rumor: internal error: %v\n", r)
		code = exitFail
	}()
	if len(args) == 0 {
		args = []string{"--help"}
	}
	ctx, err := parser.Parse(args)
	if err != nil {
		var pe *kong.ParseError
		if errors.As(err, &pe) {
			help := append(append([]string{"rumor"}, commandWords(pe.Context)...), "--help")
			fmt.Fprintf(stderr, "rumor: %v (see \"%s\")\n", err, strings.Join(help, " "))
			return exitUsage
		}
		fmt.Fprintf(stderr, "rumor: %v\n", err)
		return exitUsage
	}
	if err := ctx.Run(); err != nil {
		fmt.Fprintf(stderr, "rumor: %s: %v\n", strings.Join(commandWords(ctx), " "), err)
		var ue *usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitFail
	}
	return exitOK
}

// commandWords returns the names of the commands selected so far, for
// example ["wire", "decode"].
func commandWords(ctx *kong.Context) []string {
	var words []string
	if ctx != nil {
		for _, p := range ctx.Path {
			if p.Command != nil {
				words = append(words, p.Command.Name)
			}
		}
	}
	return words
}
