package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/closecast/closecast/internal/atomicfile"
)

// Sharding for array jobs: a command whose work is a list of independent
// tasks (train --symbols or --repeat, backtest folds, retrain --symbols)
// runs, as shard I of N, only the tasks whose index is ≡ I (mod N), and
// writes each task's result to its own file in a shared --results
// directory. The same command with --collect reads every task's file and
// prints what one process running every task would have printed.

// shard is this process's slice of a task list; Count 0 means all tasks.
type shard struct{ Index, Count int }

// owns reports whether task i is this shard's.
func (s shard) owns(i int) bool { return s.Count == 0 || i%s.Count == s.Index }

func (s shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Environment variables naming a shard, set by the engines that run array
// jobs. Kubernetes sets JOB_COMPLETION_INDEX in an Indexed Job's pods (the
// manifest passes the size as JOB_COMPLETIONS); AWS Batch sets
// AWS_BATCH_JOB_ARRAY_INDEX and the size comes from --shards or
// CLOSECAST_SHARDS.
const (
	envK8sIndex   = "JOB_COMPLETION_INDEX"
	envK8sCount   = "JOB_COMPLETIONS"
	envBatchIndex = "AWS_BATCH_JOB_ARRAY_INDEX"
	envShards     = "CLOSECAST_SHARDS"
)

// shardFlags are the flags of a shardable command.
type shardFlags struct {
	spec    string
	shards  int
	results string
	collect bool
}

// addShardFlags registers --shard, --shards, --results and --collect.
func addShardFlags(fs *flag.FlagSet) *shardFlags {
	f := &shardFlags{}
	fs.StringVar(&f.spec, "shard", "", "run only shard `I/N`: the tasks whose index is ≡ I (mod N), 0 ≤ I < N (default: from $"+envK8sIndex+"/$"+envK8sCount+" or $"+envBatchIndex+" with --shards)")
	fs.IntVar(&f.shards, "shards", 0, "`N`, the number of shards, with $"+envBatchIndex+" or $"+envK8sIndex+" (default $"+envShards+", else $"+envK8sCount+")")
	fs.StringVar(&f.results, "results", "", "shared `directory` where each task writes its result (required with a shard; read by --collect)")
	fs.BoolVar(&f.collect, "collect", false, "run no task: merge the task results in --results into the output one process would print")
	return f
}

// resolve returns the shard this process runs: --shard wins, then the
// engine's environment. Without either it is every task.
func (f *shardFlags) resolve(getenv func(string) string) (shard, error) {
	if f.collect {
		if f.results == "" {
			return shard{}, fmt.Errorf("%w: --collect needs --results DIR", errUsage)
		}
		return shard{}, nil
	}
	var s shard
	var err error
	switch {
	case f.spec != "":
		i, n, ok := strings.Cut(f.spec, "/")
		if !ok {
			return shard{}, fmt.Errorf("%w: --shard %q: want I/N, e.g. 0/3", errUsage, f.spec)
		}
		s, err = newShard("--shard index", i, "--shard count", n)
	case getenv(envK8sIndex) != "":
		name, n := f.count(getenv, envK8sCount)
		s, err = newShard("$"+envK8sIndex, getenv(envK8sIndex), name, n)
	case getenv(envBatchIndex) != "":
		name, n := f.count(getenv, "")
		s, err = newShard("$"+envBatchIndex, getenv(envBatchIndex), name, n)
	default:
		if f.results != "" {
			return shard{}, fmt.Errorf("%w: --results is for a shard (--shard I/N) or --collect", errUsage)
		}
		return shard{}, nil
	}
	if err != nil {
		return shard{}, err
	}
	if f.results == "" {
		return shard{}, fmt.Errorf("%w: shard %s needs --results DIR, a directory every shard can write and --collect reads", errUsage, s)
	}
	return s, nil
}

// count returns the number of shards and where it came from: --shards,
// $CLOSECAST_SHARDS or env; "" when none gives it.
func (f *shardFlags) count(getenv func(string) string, env string) (name, value string) {
	switch {
	case f.shards != 0:
		return "--shards", strconv.Itoa(f.shards)
	case getenv(envShards) != "":
		return "$" + envShards, getenv(envShards)
	case env != "" && getenv(env) != "":
		return "$" + env, getenv(env)
	}
	return "", ""
}

// newShard parses an index and a count, named for errors, and checks
// 0 ≤ index < count.
func newShard(indexName, index, countName, count string) (shard, error) {
	if count == "" {
		return shard{}, fmt.Errorf("%w: %s is set but not the number of shards: give --shards N (or $%s)", errUsage, indexName, envShards)
	}
	i, err := strconv.Atoi(strings.TrimSpace(index))
	if err != nil || i < 0 {
		return shard{}, fmt.Errorf("%w: %s %q is not an index ≥ 0", errUsage, indexName, index)
	}
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil || n < 1 {
		return shard{}, fmt.Errorf("%w: %s %q is not a number of shards ≥ 1", errUsage, countName, count)
	}
	if i >= n {
		return shard{}, fmt.Errorf("%w: shard index %d (%s) is not below the number of shards %d (%s): indices run from 0 to %d", errUsage, i, indexName, n, countName, n-1)
	}
	return shard{Index: i, Count: n}, nil
}

// taskFile is one task's result in a --results directory. Job names the
// command and the arguments that define the task list, so that --collect
// refuses results of another sweep left in the same directory.
type taskFile struct {
	Job    string          `json:"job"`
	Task   int             `json:"task"`
	Tasks  int             `json:"tasks"`
	Result json.RawMessage `json:"result"`
}

func taskPath(dir string, task int) string {
	return filepath.Join(dir, fmt.Sprintf("task-%05d.json", task))
}

// writeTask writes task's result atomically: a reader (or --collect) sees
// the whole file or none.
func writeTask(dir, job string, task, tasks int, result any) error {
	raw, err := json.Marshal(result)
	if err != nil {
		return err
	}
	doc, err := json.MarshalIndent(taskFile{Job: job, Task: task, Tasks: tasks, Result: raw}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(taskPath(dir, task), append(doc, '\n'))
}

// collectTasks reads the results of tasks 0..tasks-1 of job from dir, in
// task order, and fails naming every missing task.
func collectTasks(dir, job string, tasks int) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, tasks)
	var missing []string
	for i := range tasks {
		b, err := os.ReadFile(taskPath(dir, i))
		if errors.Is(err, os.ErrNotExist) {
			missing = append(missing, strconv.Itoa(i))
			continue
		}
		if err != nil {
			return nil, err
		}
		var f taskFile
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("%s: %w", taskPath(dir, i), err)
		}
		if f.Job != job || f.Task != i || f.Tasks != tasks {
			return nil, fmt.Errorf("%s is task %d of %d of %q, not task %d of %d of %q: use a fresh --results directory per sweep", taskPath(dir, i), f.Task, f.Tasks, f.Job, i, tasks, job)
		}
		out[i] = f.Result
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s lacks the results of %d of %d tasks (%s): run their shards first", dir, len(missing), tasks, strings.Join(missing, ", "))
	}
	return out, nil
}

// jobName is the identity of a sweep: the command and its task-defining
// arguments.
func jobName(cmd string, parts ...any) string {
	s := cmd
	for _, p := range parts {
		s += " " + fmt.Sprint(p)
	}
	return s
}
