//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// pollInterval is how often waitFor looks again.
const pollInterval = 200 * time.Millisecond

// waitFor polls check until it reports done, and fails the test when
// timeout passes first, with what check last said it was waiting for. It
// is a deadline, not a timed assertion: a slow machine only waits longer.
func waitFor(t testing.TB, timeout time.Duration, what string, check func(ctx context.Context) (done bool, status string, err error)) {
	t.Helper()
	if err := poll(context.Background(), timeout, check); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// poll is waitFor for helpers that return errors.
func poll(ctx context.Context, timeout time.Duration, check func(ctx context.Context) (done bool, status string, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	status := "no answer yet"
	for {
		done, s, err := check(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if s != "" {
			status = s
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not done within %s: %s", timeout, status)
		case <-time.After(pollInterval):
		}
	}
}
