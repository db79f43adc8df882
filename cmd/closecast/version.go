package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/closecast/closecast"
)

var versionCmd = &command{
	name:    "version",
	summary: "Print closecast's version",
	run: func(ctx context.Context, c *command, e *env, args []string) error {
		if err := parse(c.flags(e), args); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "closecast %s (%s, %s/%s)\n", closecast.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	},
}
