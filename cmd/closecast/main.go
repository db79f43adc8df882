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
	describeCmd, fetchCmd, dataCmd, trainCmd, evaluateCmd, predictCmd, backtestCmd, retrainCmd, serveCmd, benchCmd, versionCmd,
}

// env is what every command may use: output streams and the environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	yahooURL       string // --yahoo-url, on commands that fetch
	// tuneYahoo, when set, adjusts the Yahoo client (tests shorten its
	// back-off and timeouts).
	tuneYahoo func(*yahoo.Client)
}

// errUsage marks an error caused by bad arguments: exit status 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, e *env) int {
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
	switch {
	case err == nil:
		return 0
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
	fmt.Fprintln(w, "Environment: CLOSECAST_HOME (store directory, default ~/.closecast), CLOSECAST_YAHOO_URL (Yahoo base URL).")
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
