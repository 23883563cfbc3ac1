// Command skiff-watch is the web process of images that skiff's buildpacks
// build in development mode: it runs the application and, when files
// under a directory change (written, created or deleted, as skiff dev's
// file sync does), rebuilds it (Go) and restarts it. It is static, needs
// no shell and no network, and polls the directory, so it works as any
// user on any file system.
//
//	skiff-watch [-dir DIR] [-match GLOBS] [-build ARG]... [-install FROM=TO] -- APP [ARGS...]
//
// Each -build is one argument of the rebuild command (no shell splits
// them), e.g. -build go -build build -build -o -build app.next -build .
//
// A failed build is reported and the running application keeps running.
// skiff's buildpacks ship it in their development images (see
// docs/buildpacks-dev-mode.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "skiff-watch:", err)
		os.Exit(2)
	}
}

// config is what the flags say.
type config struct {
	dir      string
	match    []string
	build    []string
	install  [2]string
	interval time.Duration
	app      []string
}

func parse(args []string, errOut io.Writer) (config, error) {
	fs := flag.NewFlagSet("skiff-watch", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var c config
	var match, install string
	fs.StringVar(&c.dir, "dir", ".", "the directory to watch, with its subdirectories")
	fs.StringVar(&match, "match", "", "comma-separated globs of the base names that matter (default: every file)")
	fs.Func("build", "one argument of the command that rebuilds the application, run in the working directory (repeat for each)", func(a string) error {
		c.build = append(c.build, a)
		return nil
	})
	fs.StringVar(&install, "install", "", "FROM=TO: after a build that worked, rename FROM to TO (the build writes beside the running binary)")
	fs.DurationVar(&c.interval, "interval", 100*time.Millisecond, "how often the directory is looked at")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.app = fs.Args()
	if len(c.app) == 0 {
		return c, errors.New("no application to run: skiff-watch [flags] -- APP [ARGS...]")
	}
	if match != "" {
		c.match = strings.Split(match, ",")
		for _, g := range c.match {
			if _, err := path.Match(g, "x"); err != nil {
				return c, fmt.Errorf("-match %q: %w", g, err)
			}
		}
	}
	if install != "" {
		from, to, ok := strings.Cut(install, "=")
		if !ok || from == "" || to == "" {
			return c, fmt.Errorf("-install %q is not FROM=TO", install)
		}
		c.install = [2]string{from, to}
	}
	if c.interval <= 0 {
		return c, fmt.Errorf("-interval %s is not positive", c.interval)
	}
	return c, nil
}

func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	c, err := parse(args, errOut)
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) { fmt.Fprintf(errOut, "skiff-watch: "+format+"\n", a...) }
	w := &watcher{dir: c.dir, match: c.match}
	last, err := w.scan()
	if err != nil {
		return err
	}
	app := &process{args: c.app, out: out, errOut: errOut}
	if err := app.start(); err != nil {
		return err
	}
	defer app.stop()
	logf("watching %s; the application is %s", c.dir, strings.Join(c.app, " "))
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now, err := w.scan()
		if err != nil {
			logf("%v", err)
			continue
		}
		if now.equal(last) {
			continue
		}
		// Let a sync that writes several files finish: go on when a scan
		// sees nothing more change.
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
			again, err := w.scan()
			if err != nil || again.equal(now) {
				break
			}
			now = again
		}
		last = now
		start := time.Now()
		if len(c.build) > 0 {
			cmd := exec.CommandContext(ctx, c.build[0], c.build[1:]...)
			cmd.Stdout, cmd.Stderr = errOut, errOut
			if err := cmd.Run(); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				logf("%s failed (%v); the application keeps running the previous build", strings.Join(c.build, " "), err)
				continue
			}
			if c.install[0] != "" {
				if err := os.Rename(c.install[0], c.install[1]); err != nil {
					logf("installing the build: %v", err)
					continue
				}
			}
			logf("rebuilt in %s", time.Since(start).Round(time.Millisecond))
		}
		app.stop()
		if err := app.start(); err != nil {
			logf("%v", err)
			continue
		}
		logf("restarted %s", c.app[0])
	}
}

// snapshot is what the watched files were: size, modification time and
// mode, by path.
type snapshot map[string]string

func (s snapshot) equal(o snapshot) bool {
	if len(s) != len(o) {
		return false
	}
	for k, v := range s {
		if o[k] != v {
			return false
		}
	}
	return true
}

type watcher struct {
	dir   string
	match []string
}

// scan reads the metadata of every matching file under the directory.
func (w *watcher) scan() (snapshot, error) {
	s := snapshot{}
	var walk func(dir string) error
	walk = func(dir string) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			p := dir + "/" + e.Name()
			if e.IsDir() {
				if e.Name() == ".git" || e.Name() == "node_modules" {
					continue
				}
				if err := walk(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
				continue
			}
			if !w.matches(e.Name()) {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue // gone since ReadDir
			}
			s[p] = fmt.Sprintf("%d %d %s", info.Size(), info.ModTime().UnixNano(), info.Mode())
		}
		return nil
	}
	if err := walk(strings.TrimSuffix(w.dir, "/")); err != nil {
		return nil, fmt.Errorf("watching %s: %w", w.dir, err)
	}
	return s, nil
}

func (w *watcher) matches(name string) bool {
	if len(w.match) == 0 {
		return true
	}
	for _, g := range w.match {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// process is the application, in its own process group so that stop ends
// what it started too.
type process struct {
	args        []string
	out, errOut io.Writer
	cmd         *exec.Cmd
	done        chan struct{}
}

func (p *process) start() error {
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, p.out, p.errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.args[0], err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		cmd.Wait()
		close(done)
	}(p.done)
	return nil
}

// stop ends the application: SIGTERM to its group, SIGKILL after 5 s.
func (p *process) stop() {
	if p.cmd == nil {
		return
	}
	pgid := -p.cmd.Process.Pid
	syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(pgid, syscall.SIGKILL)
		<-p.done
	}
	p.cmd = nil
}
