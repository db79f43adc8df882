// Command closecast forecasts the next daily close of a market with an LSTM
// network: it keeps daily bars (embedded, local store, Yahoo Finance), trains
// and evaluates models, predicts, and serves forecasts over HTTP.
//
// This package only wires the other packages together: flags in, calls,
// output out.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/closecast/closecast/yahoo"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // arguments after the command name
	example string
	run     func(ctx context.Context, c *command, e *env, args []string) error
}

var commands = []*command{
	describeCmd, fetchCmd, dataCmd, trainCmd, evaluateCmd, predictCmd, backtestCmd, retrainCmd, serveCmd, benchCmd, modelsCmd, dbCmd, versionCmd,
}

// env is what every command may use: output streams and the environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	yahooURL       string // --yahoo-url, on commands that fetch
	dbURL          string // --db, on commands that use the store
	// tuneYahoo, when set, adjusts the Yahoo client (tests shorten its
	// back-off and timeouts).
	tuneYahoo func(*yahoo.Client)
}

// errUsage marks an error caused by bad arguments: exit status 2.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(signalContext(), os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
}

// signalError is the cause of the command context's cancellation when the
// process receives SIGINT (Ctrl-C) or SIGTERM.
type signalError struct{ sig syscall.Signal }

func (e *signalError) Error() string { return "interrupted by " + signalName(e.sig) }

// exitCode is the shell's convention for a process ended by sig: 128 + its
// number (130 for SIGINT, 143 for SIGTERM).
func (e *signalError) exitCode() int { return 128 + int(e.sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// signalContext returns a context cancelled, with a *signalError cause, by
// the first SIGINT or SIGTERM: every long command stops at its next check
// and exits 130 or 143 (train after saving its best weights). A second
// signal exits at once.
func signalContext() context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		first := &signalError{(<-sigs).(syscall.Signal)}
		cancel(first)
		second := &signalError{(<-sigs).(syscall.Signal)}
		fmt.Fprintf(os.Stderr, "closecast: %v again; stopping now\n", second)
		os.Exit(second.exitCode())
	}()
	return ctx
}

// untilDone runs work, which cannot be interrupted (a pure computation),
// and returns its error, or the cause of ctx as soon as ctx is done: the
// command then exits without waiting for the computation, which the exit
// discards.
func untilDone(ctx context.Context, work func() error) error {
	done := make(chan error, 1)
	go func() { done <- work() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// run executes one command line and returns the exit status. No input may
// crash it with a Go stack trace: a panic is reported as one line and exit
// status 70 (EX_SOFTWARE), and is a bug to fix.
func run(ctx context.Context, args []string, e *env) (code int) {
	defer func() {
		if r := recover(); r != nil {
			name := "closecast"
			if len(args) > 0 {
				name += " " + args[0]
			}
			fmt.Fprintf(e.stderr, "%s: internal error: %v (this is a bug; please report it with the command line)\n", name, r)
			code = 70
		}
	}()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				return run(ctx, []string{c.name, "--help"}, e)
			}
		}
		printUsage(e.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(e.stderr, "closecast: unknown command %q\n\n", args[0])
		printUsage(e.stderr)
		return 2
	}
	err := c.run(ctx, c, e, args[1:])
	var sig *signalError
	switch {
	case err == nil:
		return 0
	case errors.As(context.Cause(ctx), &sig):
		fmt.Fprintf(e.stderr, "closecast %s: %v\n", c.name, sig)
		return sig.exitCode()
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(e.stderr, "closecast %s: %v\nRun 'closecast %s --help' for usage.\n", c.name, err, c.name)
		return 2
	default:
		fmt.Fprintf(e.stderr, "closecast %s: %v\n", c.name, err)
		return 1
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "closecast forecasts the next daily close of a market (BTC-USD by default) with an LSTM network.")
	fmt.Fprintln(w, "\nUsage: closecast <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'closecast <command> --help' for a command's flags and examples.")
	fmt.Fprintln(w, "Environment: CLOSECAST_HOME (store directory, default ~/.closecast), CLOSECAST_DATABASE_URL (store URL, as --db),")
	fmt.Fprintln(w, "CLOSECAST_YAHOO_URL (Yahoo base URL).")
}

// flags returns a FlagSet for c whose --help prints usage and examples.
func (c *command) flags(e *env) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "%s\n\nUsage: closecast %s %s\n\nFlags:\n", c.summary, c.name, c.usage)
		fs.PrintDefaults()
		if c.example != "" {
			fmt.Fprintf(e.stderr, "\nExamples:\n%s\n", strings.TrimRight(c.example, "\n"))
		}
	}
	return fs
}

// parse parses args, rejecting stray positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}
