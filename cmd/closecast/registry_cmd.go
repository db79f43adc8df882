package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/database"
)

var modelsCmd = &command{
	name:    "models",
	summary: "List, push, pull and promote models in the model registry (the store, or --db)",
	usage:   "list|push DIR|pull [VERSION] --out DIR|promote VERSION [--symbol S] [--db URL] [--json]",
	example: `  closecast models list                                   # every model, newest first; * marks a champion
  closecast models push out/default --promote              # store an artifact and make it its symbol's champion
  closecast models pull btc-usd-default-1a2b3c4d5e6f --out /tmp/m
  closecast models pull --symbol BTC-USD --out /tmp/champ  # no VERSION: the symbol's champion
  closecast models promote btc-usd-default-1a2b3c4d5e6f --db postgres://closecast@db.internal/closecast

The registry lives in the store: the local SQLite file by default, or the
database --db (or $CLOSECAST_DATABASE_URL) names, shared by every server.
An artifact is stored whole and verified by its checksums when pushed and
again when pulled; a damaged or edited model is refused, never written out.
There is one champion per symbol: the model servers load.`,
	run: runModels,
}

// modelsAction is one subcommand of models: its flags are registered on fs,
// and run gets the positional arguments.
type modelsAction struct {
	nargs int    // positional arguments wanted (pull: 0 or 1)
	usage string // after "models <name>"
	run   func(ctx context.Context, e *env, o *modelsOpts, args []string) error
}

// modelsOpts are the flags of every models subcommand.
type modelsOpts struct {
	symbol  string
	out     string
	promote bool
	asJSON  bool
}

var modelsActions = map[string]modelsAction{
	"list":    {0, "[--symbol S]", modelsList},
	"push":    {1, "DIR [--promote]", modelsPush},
	"pull":    {-1, "[VERSION] [--symbol S] --out DIR", modelsPull},
	"promote": {1, "VERSION", modelsPromote},
}

func runModels(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	var o modelsOpts
	fs.StringVar(&o.symbol, "symbol", "", "market `symbol`: list only its models; pull its champion when no VERSION is given")
	fs.StringVar(&o.out, "out", "", "pull: the `directory` to write the model to (replaced atomically)")
	fs.BoolVar(&o.promote, "promote", false, "push: also make the model its symbol's champion, in the same transaction")
	fs.BoolVar(&o.asJSON, "json", false, "print the result as JSON")
	dbFlag(fs, e)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fs.Usage()
		if len(args) == 0 {
			return fmt.Errorf("%w: want a subcommand: list, push, pull or promote", errUsage)
		}
		return flag.ErrHelp
	}
	act, ok := modelsActions[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown subcommand %q: want list, push, pull or promote", errUsage, args[0])
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case act.nargs >= 0 && len(pos) != act.nargs:
		return fmt.Errorf("%w: models %s %s: want %d argument(s), got %d", errUsage, args[0], act.usage, act.nargs, len(pos))
	case act.nargs < 0 && len(pos) > 1:
		return fmt.Errorf("%w: models %s %s: unexpected argument %q", errUsage, args[0], act.usage, pos[1])
	}
	return act.run(ctx, e, &o, pos)
}

// parseInterspersed parses args allowing flags after positional arguments
// (models pull VERSION --out DIR), and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// openRegistry opens the store holding the registry; a SQLite file that
// does not exist is created only when create is set (push, promote).
func openRegistry(ctx context.Context, e *env, create bool) (database.DB, error) {
	db, err := openDB(ctx, e, !create)
	if err == nil && db == nil {
		loc, _ := dbLocation(e)
		return nil, fmt.Errorf("%w: no store at %s yet (push a model first)", closecast.ErrModelNotFound, loc)
	}
	return db, err
}

func modelsList(ctx context.Context, e *env, o *modelsOpts, _ []string) error {
	db, err := openDB(ctx, e, true)
	if err != nil {
		return err
	}
	var infos []closecast.ModelInfo
	if db != nil {
		defer db.Close()
		if infos, err = db.Models(ctx, o.symbol); err != nil {
			return err
		}
	}
	if o.asJSON {
		if infos == nil {
			infos = []closecast.ModelInfo{}
		}
		return json.NewEncoder(e.stdout).Encode(infos)
	}
	if len(infos) == 0 {
		fmt.Fprintln(e.stdout, "no models in the registry")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tVERSION\tSYMBOL\tCREATED\tPUSHED\tSIZE")
	for _, m := range infos {
		mark := ""
		if m.Champion {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", mark, m.Version, m.Symbol,
			m.Created.UTC().Format("2006-01-02 15:04"), m.Pushed.UTC().Format("2006-01-02 15:04"), m.Size)
	}
	return tw.Flush()
}

func modelsPush(ctx context.Context, e *env, o *modelsOpts, args []string) error {
	files, err := artifact.ReadFiles(args[0])
	if err != nil {
		return err
	}
	db, err := openRegistry(ctx, e, true)
	if err != nil {
		return err
	}
	defer db.Close()
	put := db.PutModel
	if o.promote {
		put = db.PutChampion
	}
	info, err := put(ctx, files)
	if err != nil {
		return fmt.Errorf("pushing %s: %w", args[0], err)
	}
	if o.asJSON {
		return json.NewEncoder(e.stdout).Encode(info)
	}
	fmt.Fprintf(e.stdout, "pushed %s (%s, %d bytes, checksum %.12s…)\n", info.Version, info.Symbol, info.Size, info.Checksum)
	if info.Champion {
		fmt.Fprintf(e.stdout, "%s is now the champion of %s\n", info.Version, info.Symbol)
	}
	return nil
}

func modelsPull(ctx context.Context, e *env, o *modelsOpts, args []string) error {
	if o.out == "" {
		return fmt.Errorf("%w: models pull: --out DIR is required", errUsage)
	}
	if len(args) == 0 && o.symbol == "" {
		return fmt.Errorf("%w: models pull: name a VERSION, or --symbol S for its champion", errUsage)
	}
	db, err := openRegistry(ctx, e, false)
	if err != nil {
		return err
	}
	defer db.Close()
	var version string
	if len(args) == 1 {
		version = args[0]
	} else {
		ch, err := db.Champion(ctx, o.symbol)
		if err != nil {
			return err
		}
		version = ch.Version
	}
	info, files, err := db.Model(ctx, version) // verified against the registry's checksums
	if err != nil {
		return err
	}
	if err := artifact.WriteFiles(o.out, files); err != nil {
		return fmt.Errorf("writing %s: %w", o.out, err)
	}
	if o.asJSON {
		return json.NewEncoder(e.stdout).Encode(info)
	}
	fmt.Fprintf(e.stdout, "pulled %s (%s) into %s\n", info.Version, info.Symbol, o.out)
	return nil
}

func modelsPromote(ctx context.Context, e *env, o *modelsOpts, args []string) error {
	db, err := openRegistry(ctx, e, false)
	if err != nil {
		return err
	}
	defer db.Close()
	info, err := db.Promote(ctx, args[0])
	if err != nil {
		return err
	}
	if o.asJSON {
		return json.NewEncoder(e.stdout).Encode(info)
	}
	fmt.Fprintf(e.stdout, "%s is now the champion of %s\n", info.Version, info.Symbol)
	return nil
}
