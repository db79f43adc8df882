// Package pgtest gives tests a real PostgreSQL server: a throwaway cluster
// started once per test binary (initdb into a temporary directory, a free
// loopback port, fsync off) and removed when the binary ends, or the server
// CLOSECAST_TEST_DATABASE_URL names. Each test gets a fresh database of its
// own, so tests are independent and may run in parallel.
//
// Use it from TestMain, so the cluster is stopped after the last test:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and in a test: url := pgtest.NewDatabase(t). Without a server (no
// PostgreSQL installed) the test is skipped, or fails when CI=true.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URLEnv names an existing server to test against instead of a throwaway
// cluster, as a URL whose user may create databases.
const URLEnv = "CLOSECAST_TEST_DATABASE_URL"

// startTimeout bounds how long a starting server may take to accept
// connections: a hang guard on a loaded machine, not a performance claim.
const startTimeout = 60 * time.Second

// Cluster is a PostgreSQL server for tests: a throwaway cluster this package
// started, or an external one (URLEnv), which cannot be stopped.
type Cluster struct {
	admin string // URL of the maintenance database, as the superuser

	// A throwaway cluster only.
	bin, dir, data, sock string
	port                 int
	cred                 *syscall.Credential // nil: run as this process's user
	mu                   sync.Mutex
	cmd                  *exec.Cmd
	exited               chan struct{}
	log                  *os.File
}

var (
	once    sync.Once
	shared  *Cluster
	initErr error
	dbSeq   atomic.Int64
)

// Main runs the tests of m and then stops and removes the cluster if one was
// started. It returns m.Run's exit code.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	return code
}

// Get returns the binary's shared server, starting it on first use. When
// none can be had the test is skipped, or fails when CI=true.
func Get(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() { shared, initErr = start() })
	if initErr != nil {
		unavailable(t, initErr)
	}
	return shared
}

// unavailable skips t for want of a server, or fails it under CI, where a
// missing PostgreSQL is a broken machine rather than a choice.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("pgtest: no PostgreSQL server (CI=true, so this fails instead of skipping): %v", err)
		return
	}
	t.Skipf("pgtest: no PostgreSQL server: %v", err)
}

// Stoppable returns the shared server for a test that stops and restarts
// it: a throwaway cluster. With an external server (URLEnv) the test is
// skipped, or fails when CI=true.
func Stoppable(t testing.TB) *Cluster {
	t.Helper()
	c := Get(t)
	if c.bin == "" {
		unavailable(t, errors.New("the server named by "+URLEnv+" cannot be stopped by tests"))
	}
	return c
}

// NewDatabase creates an empty database on the shared server for t, dropped
// when t ends, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return Get(t).NewDatabase(t)
}

// start connects to URLEnv's server or starts a throwaway cluster.
func start() (*Cluster, error) {
	if u := os.Getenv(URLEnv); u != "" {
		c := &Cluster{admin: u}
		if err := c.ping(startTimeout); err != nil {
			return nil, fmt.Errorf("%s: %w", URLEnv, err)
		}
		return c, nil
	}
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	if err := c.initdb(); err != nil {
		c.remove()
		return nil, err
	}
	if err := c.Start(); err != nil {
		c.remove()
		return nil, err
	}
	return c, nil
}

// findBin returns the bin directory of the newest PostgreSQL installed under
// /usr/lib/postgresql (Debian's layout), or of the initdb on PATH.
func findBin() (string, error) {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if p := newest(found); p != "" {
		return filepath.Dir(p), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("initdb not found in /usr/lib/postgresql/*/bin or PATH (install Debian's postgresql)")
}

// newest returns the initdb of the highest major version among paths
// (numerically: 9 is older than 15), or "" for none.
func newest(paths []string) string {
	paths = slices.Clone(paths)
	sort.SliceStable(paths, func(i, j int) bool { return majorOf(paths[i]) > majorOf(paths[j]) })
	if len(paths) == 0 {
		return ""
	}
	return paths[0]
}

// majorOf returns the major version in /usr/lib/postgresql/<major>/bin/initdb.
func majorOf(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

// initdb creates the cluster in a new temporary directory. PostgreSQL refuses
// to run as root, so as root the directory is given to user nobody and the
// server runs as nobody.
func (c *Cluster) initdb() error {
	dir, err := os.MkdirTemp("", "closecast-pgtest-")
	if err != nil {
		return err
	}
	c.dir, c.data, c.sock = dir, filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	if err := os.Mkdir(c.sock, 0o700); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			return fmt.Errorf("running as root and no user nobody to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
		for _, p := range []string{dir, c.sock} {
			if err := os.Chown(p, uid, gid); err != nil {
				return err
			}
		}
	}
	cmd := c.command("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return nil
}

// command returns the PostgreSQL program name with args, run as the
// cluster's user.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: c.cred,
		// Should the test binary die without cleaning up, the server
		// shuts down at once instead of outliving it.
		Pdeathsig: syscall.SIGQUIT,
	}
	return cmd
}

// Start starts the throwaway cluster's server (again, after Stop) and waits
// until it accepts connections. The port stays the same across restarts, so
// URLs handed out before still work.
func (c *Cluster) Start() error {
	if c.bin == "" {
		return errors.New("pgtest: the server named by " + URLEnv + " cannot be started or stopped by tests")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		return errors.New("pgtest: the server is already running")
	}
	if c.port == 0 {
		p, err := freePort()
		if err != nil {
			return err
		}
		c.port = p
		c.admin = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p)
	}
	if c.log == nil {
		f, err := os.CreateTemp(c.dir, "server-*.log")
		if err != nil {
			return err
		}
		c.log = f
	}
	cmd := c.command("postgres", "-D", c.data, "-p", strconv.Itoa(c.port), "-k", c.sock,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "shared_buffers=32MB")
	cmd.Stdout, cmd.Stderr = c.log, c.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: starting postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	c.cmd, c.exited = cmd, exited
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			c.cmd = nil
			return fmt.Errorf("pgtest: postgres exited at start:\n%s", c.logTail())
		default:
		}
		if err := c.ping(2 * time.Second); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: postgres did not accept connections within %s: %v\n%s", startTimeout, err, c.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the throwaway cluster's server down (fast mode: open sessions
// are cut, as when a database fails over) and waits until it has exited.
// Start brings it back with the same data.
func (c *Cluster) Stop() error {
	if c.bin == "" {
		return errors.New("pgtest: the server named by " + URLEnv + " cannot be started or stopped by tests")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return nil
	}
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
	case <-time.After(startTimeout):
		c.cmd.Process.Kill()
		<-c.exited
	}
	c.cmd = nil
	return nil
}

// Close stops the server and removes the cluster's directory. The shared
// cluster is closed by Main.
func (c *Cluster) Close() {
	if c.bin == "" {
		return
	}
	c.Stop()
	c.remove()
}

func (c *Cluster) remove() {
	if c.log != nil {
		c.log.Close()
	}
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(c.log.Name())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (c *Cluster) ping(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// NewDatabase creates an empty database for t, dropped when t ends (the
// drop is forced: connections a test left open do not keep it), and returns
// its URL.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("closecast_test_%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := c.exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		// The server may be down if the test stopped it and failed.
		if err := c.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("pgtest: dropping %s: %v", name, err)
		}
	})
	return c.URL(name)
}

// URL returns the URL of database name on the server.
func (c *Cluster) URL(name string) string {
	u, err := url.Parse(c.admin)
	if err != nil {
		panic(err) // checked by ping at start
	}
	u.Path = "/" + name
	return u.String()
}

// exec runs one statement on the maintenance database.
func (c *Cluster) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", strings.Fields(sql)[0], err)
	}
	return nil
}
