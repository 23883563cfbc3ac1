package cli

import (
	"context"
	"time"
)

// stopGrace is how long a step that was asked to stop (its context
// ended) has to return before the command gives up on it.
const stopGrace = 300 * time.Millisecond

// interruptible runs step, which may not honour ctx (config loading and
// rendering run templates, patches and Helm without one), and returns
// what it returns; when ctx ends first and step has not returned within
// stopGrace, interruptible returns ctx's error instead, so that Ctrl-C
// stops skiff whatever it is doing. The step is left running: the
// command returns and the process exits.
func interruptible[T any](ctx context.Context, step func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := step()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
	}
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(stopGrace):
		var zero T
		return zero, context.Cause(ctx)
	}
}

// interruptibleErr is interruptible for a step that returns only an
// error.
func interruptibleErr(ctx context.Context, step func() error) error {
	_, err := interruptible(ctx, func() (struct{}, error) { return struct{}{}, step() })
	return err
}
