package docker

import (
	"context"
	"io"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/output"

	"skiff.dev/skiff/internal/kube"
)

// logColors are the prefix colours, in the order Skaffold hands them out
// (internal/kube colours pod logs the same way): bright red, green,
// yellow, blue, magenta, then red, green, yellow, blue, magenta and bright
// cyan.
var logColors = []string{"91", "92", "93", "94", "95", "31", "32", "33", "34", "35", "96"}

// Logs follows the output of the project's containers, those running now
// and those that start later (a redeploy's), and writes each whole line,
// stdout and stderr alike, to out after the container's name in square
// brackets, until ctx ends. color colours each container's prefix. It returns nil when ctx ends and
// an error when the daemon cannot be followed.
func (d *Deployer) Logs(ctx context.Context, out io.Writer, color bool) error {
	if err := d.checkProject(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	f := &follower{d: d, ctx: ctx, lines: output.NewLines(out), color: color, seen: map[string]bool{}, colors: map[string]int{}}
	defer func() {
		cancel()
		f.wg.Wait()
	}()

	// Subscribe before listing, so that no container starts unseen.
	events := d.cli.Events(ctx, client.EventsListOptions{Filters: client.Filters{}.
		Add("type", "container").Add("event", "start").Add("label", kube.ProjectLabel+"="+d.opts.Project)})
	running, err := d.cli.ContainerList(ctx, client.ContainerListOptions{Filters: client.Filters{}.Add("label", kube.ProjectLabel+"="+d.opts.Project)})
	if err != nil {
		return daemonError(d.cli, "following the logs of project "+d.opts.Project, err)
	}
	for _, c := range running.Items {
		f.follow(c.ID, summaryName(c))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-events.Messages:
			f.follow(m.Actor.ID, m.Actor.Attributes["name"])
		case err, ok := <-events.Err:
			if ctx.Err() != nil {
				return nil
			}
			if !ok {
				err = io.ErrUnexpectedEOF
			}
			return daemonError(d.cli, "following the logs of project "+d.opts.Project+": the daemon's event stream ended", err)
		}
	}
}

// follower streams the logs of containers, each one once.
type follower struct {
	d     *Deployer
	ctx   context.Context
	lines *output.Lines
	color bool
	wg    sync.WaitGroup

	seen   map[string]bool // container IDs followed
	colors map[string]int  // container name -> index in logColors
}

// follow streams the log of container id (named name) from its start
// until it stops or the context ends.
func (f *follower) follow(id, name string) {
	if id == "" || f.seen[id] {
		return
	}
	f.seen[id] = true
	if name == "" {
		name = id[:min(12, len(id))]
	}
	prefix := f.prefix(name)
	stdout, stderr := f.lines.Prefixed(prefix), f.lines.Prefixed(prefix)
	f.wg.Go(func() {
		defer stderr.Flush()
		defer stdout.Flush()
		rc, err := f.d.cli.ContainerLogs(f.ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
		if err != nil {
			// A container removed right after it started has no log.
			if f.ctx.Err() == nil && !cerrdefs.IsNotFound(err) {
				f.d.printf("warning: following the log of container %s: %v\n", name, err)
			}
			return
		}
		defer rc.Close()
		if _, err := stdcopy.StdCopy(stdout, stderr, rc); err != nil && f.ctx.Err() == nil {
			f.d.printf("warning: following the log of container %s: %v\n", name, err)
		}
	})
}

// prefix is "[name] ", coloured when asked: one colour per container
// name, so that a replaced container keeps its colour.
func (f *follower) prefix(name string) string {
	p := "[" + name + "]"
	if !f.color {
		return p + " "
	}
	i, ok := f.colors[name]
	if !ok {
		i = len(f.colors) % len(logColors)
		f.colors[name] = i
	}
	return "\x1b[" + logColors[i] + "m" + p + "\x1b[0m "
}
