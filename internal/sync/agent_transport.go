package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"skiff.dev/skiff/internal/sync/agentproto"
)

// DefaultAgentPath is where skiff-agent is in a container that skiff
// delivered it into.
const DefaultAgentPath = "/skiff/skiff-agent"

// AgentTransport syncs through skiff-agent, which needs no tar or shell in
// the image: it execs "skiff-agent apply --allow ROOT..." with the roots of
// the ops, streams the ops in agentproto and reads one result per op. The
// agent writes files atomically (temp file, then rename) and refuses paths
// outside the roots.
type AgentTransport struct {
	Exec Executor
	// Path is the agent's path in the container; "" means DefaultAgentPath.
	Path string
}

// Sync implements Transport.
func (t *AgentTransport) Sync(ctx context.Context, target Target, ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	bin := t.Path
	if bin == "" {
		bin = DefaultAgentPath
	}
	cmd := []string{bin, "apply"}
	var roots []string
	for _, op := range ops {
		if !slices.Contains(roots, op.Root) {
			roots = append(roots, op.Root)
			cmd = append(cmd, "--allow", op.Root)
		}
	}
	pr, pw := io.Pipe()
	sent := make(chan []string, 1) // the paths sent, in order
	go func() {
		paths, err := encodeOps(pw, ops)
		sent <- paths
		pw.CloseWithError(err)
	}()
	var stdout bytes.Buffer
	var stderr limitedBuffer
	err := t.Exec.Exec(ctx, target, cmd, pr, &stdout, &stderr)
	pr.CloseWithError(io.ErrClosedPipe) // stop the encoder if the agent stopped reading
	paths := <-sent
	var ee *ExitError
	switch {
	case err != nil && missing(err):
		return fmt.Errorf("syncing to %s: could not exec %s: %w; skiff delivers it through an init container in dev mode: redeploy with skiff dev, or use an image with tar",
			target, bin, ErrNoAgent)
	case err != nil && errors.Is(err, ErrUnavailable):
		// The executor's error already says what is wrong with the target.
		return fmt.Errorf("syncing to %s through skiff-agent: %w", target, err)
	case err != nil && !errors.As(err, &ee):
		return fmt.Errorf("syncing to %s through skiff-agent: %w%s", target, err, stderrSuffix(&stderr))
	}
	rerr := checkResults(&stdout, paths)
	switch {
	case rerr != nil && err != nil:
		return fmt.Errorf("syncing to %s through skiff-agent: %w (%s)", target, rerr, withOutput(err.Error(), &stderr))
	case rerr != nil:
		return fmt.Errorf("syncing to %s through skiff-agent: %w", target, rerr)
	case err != nil:
		return fmt.Errorf("syncing to %s through skiff-agent: %s", target, withOutput(err.Error(), &stderr))
	}
	return nil
}

// encodeOps streams ops as one batch and returns the paths of the frames
// it sent, in order.
func encodeOps(w io.Writer, ops []Op) ([]string, error) {
	enc := agentproto.NewEncoder(w)
	var paths []string
	for _, op := range ops {
		if op.Kind == Delete {
			if err := enc.Encode(agentproto.Frame{Kind: agentproto.KindDelete, Path: op.Dest}, nil); err != nil {
				return paths, err
			}
			paths = append(paths, op.Dest)
			continue
		}
		lf, err := openLocal(op.Local)
		if err != nil {
			return paths, err
		}
		switch {
		case lf == nil:
			continue
		case lf.dir:
			err = enc.Encode(agentproto.Frame{Kind: agentproto.KindMkdir, Path: op.Dest, Mode: lf.mode}, nil)
		default:
			err = enc.Encode(agentproto.Frame{Kind: agentproto.KindWrite, Path: op.Dest, Mode: lf.mode, Size: lf.size}, lf.f)
			lf.f.Close()
		}
		if err != nil {
			return paths, fmt.Errorf("sending %s: %w", op.Local, err)
		}
		paths = append(paths, op.Dest)
	}
	return paths, enc.Encode(agentproto.Frame{Kind: agentproto.KindEnd}, nil)
}

// checkResults reads the agent's answers and returns an error listing the
// operations that failed, or saying the answers stopped early.
func checkResults(r io.Reader, paths []string) error {
	dec := agentproto.NewDecoder(r)
	var failed []string
	for i := 0; ; i++ {
		f, payload, err := dec.Next()
		if err != nil {
			if err == io.EOF {
				err = errors.New("the agent stopped before answering every operation")
			}
			failed = append(failed, err.Error())
			break
		}
		if f.Kind == agentproto.KindEnd {
			break
		}
		if f.Kind == agentproto.KindFailed {
			msg, _ := io.ReadAll(io.LimitReader(payload, 4096))
			failed = append(failed, string(msg))
			if f.Path == "" {
				break // the stream broke; the agent stopped
			}
		}
		if i < len(paths) && f.Path != paths[i] && f.Path != "" {
			failed = append(failed, fmt.Sprintf("the agent answered for %s instead of %s", f.Path, paths[i]))
			break
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return errors.New(strings.Join(failed, "; "))
}
