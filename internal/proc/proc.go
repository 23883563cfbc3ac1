// Package proc runs the subprocesses skiff starts (go build, build
// commands, dependency commands) so that cancelling one ends everything it
// started: each runs in a process group of its own; cancellation signals
// the whole group, and what of the group outlives Grace is killed, so
// that when Run returns after a cancellation no process of the group is
// left.
package proc

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Grace is how long a cancelled command's processes have to exit after
// the first signal before they are killed.
const Grace = 500 * time.Millisecond

// Cmd is an exec.Cmd whose cancellation ends its whole process group. Set
// its fields (Dir, Env, Stdout, ...) as for exec.Cmd, then call Run.
type Cmd struct {
	*exec.Cmd
	// Signal is what a cancellation sends the group first: SIGTERM
	// unless set (custom build commands get SIGINT, as from a terminal).
	Signal os.Signal

	ctx         context.Context
	mu          sync.Mutex
	cancelledAt time.Time
}

// Command returns a Cmd that runs name with args and is cancelled when
// ctx ends.
func Command(ctx context.Context, name string, args ...string) *Cmd {
	c := &Cmd{Cmd: exec.CommandContext(ctx, name, args...), Signal: syscall.SIGTERM, ctx: ctx}
	c.WaitDelay = Grace
	setGroup(c.Cmd)
	c.Cmd.Cancel = func() error {
		c.mu.Lock()
		c.cancelledAt = time.Now()
		c.mu.Unlock()
		return signalGroup(c.Cmd, c.Signal)
	}
	return c
}

// Run starts the command and waits for it, as exec.Cmd.Run does. When
// its context ended first, Run returns only once every process of the
// command's group is gone: those still there Grace after the signal are
// killed.
func (c *Cmd) Run() error {
	err := c.Cmd.Run()
	c.mu.Lock()
	at := c.cancelledAt
	c.mu.Unlock()
	if at.IsZero() && c.ctx.Err() != nil && c.Process != nil {
		// The command had exited, but what it started in its group
		// may still run.
		at = time.Now()
		_ = signalGroup(c.Cmd, c.Signal)
	}
	if !at.IsZero() {
		endGroup(c.Cmd, at)
	}
	return err
}
