package docker

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// logTail is how many lines of a failed container's output an error
// shows.
const logTail = 20

// waitReady waits until c runs: healthy when its image has a HEALTHCHECK,
// else still running after d.settle (a kept container needs no settling).
// A container that exits or turns unhealthy is an error with its last
// lines of output.
func (d *Deployer) waitReady(ctx context.Context, c *deployed) error {
	settled := time.Now()
	if !c.unchanged {
		settled = settled.Add(d.settle)
	}
	told := false
	for {
		res, err := d.cli.ContainerInspect(ctx, c.id, client.ContainerInspectOptions{})
		if err != nil {
			return daemonError(d.cli, "waiting for container "+c.name, err)
		}
		st := res.Container.State
		if st == nil {
			return fmt.Errorf("waiting for container %s: the Docker daemon reports no state for it", c.name)
		}
		health := container.NoHealthcheck
		if st.Health != nil {
			health = st.Health.Status
		}
		switch {
		case !st.Running:
			return d.exited(ctx, c, st)
		case health == container.Unhealthy:
			return d.unhealthy(ctx, c, st.Health)
		case health == container.Healthy:
			return nil
		case health == container.Starting:
			if !told && time.Now().After(settled) {
				d.printf(" - waiting for container %s to pass its health check\n", c.name)
				told = true
			}
		case time.Now().After(settled):
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for container %s: %w", c.name, context.Cause(ctx))
		case <-time.After(d.poll):
		}
	}
}

// exited explains a container that stopped right after it started.
func (d *Deployer) exited(ctx context.Context, c *deployed, st *container.State) error {
	var why []string
	if st.OOMKilled {
		why = append(why, "killed for using too much memory")
	}
	if st.Error != "" {
		why = append(why, st.Error)
	}
	msg := fmt.Sprintf("container %s (image %s) exited with code %d right after it started", c.name, c.image.Ref, st.ExitCode)
	if len(why) > 0 {
		msg += " (" + strings.Join(why, "; ") + ")"
	}
	return fmt.Errorf("%s%s", msg, d.lastOutput(ctx, c))
}

// unhealthy explains a container whose HEALTHCHECK failed.
func (d *Deployer) unhealthy(ctx context.Context, c *deployed, h *container.Health) error {
	msg := fmt.Sprintf("container %s (image %s) is unhealthy: its HEALTHCHECK failed %d times in a row", c.name, c.image.Ref, h.FailingStreak)
	if n := len(h.Log); n > 0 {
		last := h.Log[n-1]
		msg += fmt.Sprintf("; the last check exited with code %d", last.ExitCode)
		if out := strings.TrimSpace(last.Output); out != "" {
			msg += ": " + out
		}
	}
	return fmt.Errorf("%s%s", msg, d.lastOutput(ctx, c))
}

// lastOutput is the end of an error message: the container's last lines
// of output, indented, or a note that it wrote none.
func (d *Deployer) lastOutput(ctx context.Context, c *deployed) string {
	rc, err := d.cli.ContainerLogs(ctx, c.id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(logTail)})
	if err != nil {
		return fmt.Sprintf("; its output could not be read (%v); `docker logs %s` shows it", err, c.name)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := stdcopy.StdCopy(&buf, &buf, rc); err != nil && buf.Len() == 0 {
		return fmt.Sprintf("; its output could not be read (%v); `docker logs %s` shows it", err, c.name)
	}
	out := strings.TrimRight(buf.String(), "\n")
	if out == "" {
		return "; it wrote nothing to stdout or stderr"
	}
	return fmt.Sprintf("; its last output (`docker logs %s` shows all):\n    %s", c.name, strings.ReplaceAll(out, "\n", "\n    "))
}
