package sync

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// TarTransport syncs as Skaffold does, with rm and tar: it removes the
// deleted paths with "rm -rf --" and streams the written files as a tar
// archive into "tar xmf - -C /". A batch with both runs them in one exec,
// through sh, since each exec costs a runc exec in the container (20-40 ms
// on the local cluster); without sh it runs them one after the other. The
// container needs tar and rm in its PATH; without them Sync returns an
// error wrapping ErrNoTar, and AgentTransport can take over. tar overwrites
// files in place, so a reader may see a partly written file; the agent
// writes atomically.
type TarTransport struct {
	Exec Executor
}

// untarCmd extracts a tar archive read from stdin at the root.
var untarCmd = []string{"tar", "xmf", "-", "-C", "/"}

// Sync implements Transport.
func (t *TarTransport) Sync(ctx context.Context, target Target, ops []Op) error {
	var deletes []string
	var writes []Op
	for _, op := range ops {
		if op.Kind == Delete {
			deletes = append(deletes, op.Dest)
		} else {
			writes = append(writes, op)
		}
	}
	rm := append([]string{"rm", "-rf", "--"}, deletes...)
	switch {
	case len(writes) == 0 && len(deletes) == 0:
		return nil
	case len(writes) == 0:
		return t.run(ctx, target, rm, nil)
	case len(deletes) == 0:
		return t.untar(ctx, target, untarCmd, writes)
	}
	both := append([]string{"sh", "-c", `rm -rf -- "$@" && exec tar xmf - -C /`, "sh"}, deletes...)
	if err := t.untar(ctx, target, both, writes); !errors.Is(err, ErrNoTar) {
		return err
	}
	// No sh, rm or tar: run them apart, so that the error names the one
	// that is missing.
	if err := t.run(ctx, target, rm, nil); err != nil {
		return err
	}
	return t.untar(ctx, target, untarCmd, writes)
}

// untar runs cmd with a tar archive of writes on its stdin.
func (t *TarTransport) untar(ctx context.Context, target Target, cmd []string, writes []Op) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, writes)) }()
	err := t.run(ctx, target, cmd, pr)
	pr.CloseWithError(io.ErrClosedPipe) // stop the writer if tar stopped reading
	return err
}

func (t *TarTransport) run(ctx context.Context, target Target, cmd []string, stdin io.Reader) error {
	var stderr limitedBuffer
	err := t.Exec.Exec(ctx, target, cmd, stdin, io.Discard, &stderr)
	switch {
	case err == nil:
		return nil
	case missing(err):
		return fmt.Errorf("syncing to %s: could not exec %s: the image has no %s in $PATH; add it to the image, or sync through skiff-agent: %w",
			target, cmd[0], cmd[0], ErrNoTar)
	case errors.Is(err, ErrUnavailable):
		return fmt.Errorf("syncing to %s: %w", target, err)
	default:
		shown := cmd
		if len(shown) > 5 {
			shown = append(shown[:5:5], "...")
		}
		return fmt.Errorf("syncing to %s: %s: %s; check that the container is running and that its user may write the destination",
			target, strings.Join(shown, " "), withOutput(err.Error(), &stderr))
	}
}

// writeTar writes the Write ops as a tar archive of absolute paths without
// the leading "/"; a file that no longer exists is left out, and its
// removal syncs with the next batch.
func writeTar(w io.Writer, ops []Op) error {
	tw := tar.NewWriter(w)
	now := time.Now()
	for _, op := range ops {
		lf, err := openLocal(op.Local)
		if err != nil {
			return err
		}
		if lf == nil {
			continue
		}
		hdr := &tar.Header{Name: strings.TrimPrefix(op.Dest, "/"), Mode: int64(lf.mode.Perm()), ModTime: now, Typeflag: tar.TypeReg, Size: lf.size}
		if lf.dir {
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			if lf.f != nil {
				lf.f.Close()
			}
			return err
		}
		if lf.f != nil {
			_, err = io.CopyN(tw, lf.f, lf.size)
			lf.f.Close()
			if err != nil {
				return fmt.Errorf("reading %s to sync it: %w", op.Local, err)
			}
		}
	}
	return tw.Close()
}
