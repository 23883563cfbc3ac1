package sync

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// TarTransport syncs as Skaffold does, with rm and tar, run by sh in one
// exec (each exec costs a runc exec in the container, 20-40 ms on the
// local cluster): it removes the deleted paths with "rm -rf --" and
// streams the written files as a tar archive into "tar xmf - -C /".
//
// A sync is verified: the script ends by printing a token made for this
// Sync, and Sync returns nil only when the container printed it, that is
// when rm and tar both succeeded. An exec can report success without
// having run anything (client-go does, now and then, when the program is
// missing and stdin is large); without the token Sync then probes, with a
// small exec and no stdin, whether sh, rm and tar exist, and returns an
// error wrapping ErrNoTar when one is missing, so that AgentTransport can
// take over, else an error saying the sync was not confirmed.
//
// Every Op is checked before anything runs (a Delete strictly inside its
// Root, never "/"). tar overwrites files in place, so a reader may see a
// partly written file; the agent writes atomically. Files get their
// permission bits alone, as with the agent: never setuid, setgid or
// sticky.
type TarTransport struct {
	Exec Executor
}

// tarTools are the programs the script needs besides sh.
var tarTools = []string{"tar", "rm"}

// Sync implements Transport.
func (t *TarTransport) Sync(ctx context.Context, target Target, ops []Op) error {
	if err := checkOps(ops); err != nil {
		return fmt.Errorf("syncing to %s: %w", target, err)
	}
	var deletes []string
	var writes []Op
	for _, op := range ops {
		if op.Kind == Restart {
			return fmt.Errorf("syncing to %s: restarting its process from %s needs skiff-agent (a development image's supervisor); tar cannot", target, op.Dest)
		}
		if op.Kind == Delete {
			deletes = append(deletes, op.Dest)
		} else {
			writes = append(writes, op)
		}
	}
	if len(writes) == 0 && len(deletes) == 0 {
		return nil
	}
	token, err := newToken()
	if err != nil {
		return fmt.Errorf("syncing to %s: %w", target, err)
	}
	var steps []string
	if len(deletes) > 0 {
		steps = append(steps, `rm -rf -- "$@"`)
	}
	if len(writes) > 0 {
		steps = append(steps, "tar xmf - -C /")
	}
	steps = append(steps, "echo "+token)
	cmd := append([]string{"sh", "-c", strings.Join(steps, " && "), "sh"}, deletes...)

	var stdin io.Reader
	tarErr := make(chan error, 1)
	if len(writes) > 0 {
		pr, pw := io.Pipe()
		go func() {
			err := writeTar(pw, writes)
			tarErr <- err
			pw.CloseWithError(err)
		}()
		stdin = pr
	} else {
		tarErr <- nil
	}
	var stdout, stderr limitedBuffer
	err = t.Exec.Exec(ctx, target, cmd, stdin, &stdout, &stderr)
	if stdin != nil {
		stdin.(*io.PipeReader).CloseWithError(io.ErrClosedPipe) // stop the writer if tar stopped reading
	}
	if werr := <-tarErr; werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
		return fmt.Errorf("syncing to %s: %w", target, werr)
	}
	confirmed := confirms(&stdout, token)
	switch {
	case err == nil && confirmed:
		return nil
	case err == nil || missing(err):
		return t.probe(ctx, target, err == nil)
	case errors.Is(err, ErrUnavailable):
		return fmt.Errorf("syncing to %s: %w", target, err)
	}
	what := fmt.Sprintf("%d deletions and %d files", len(deletes), len(writes))
	return fmt.Errorf("syncing %s to %s: %s; check that the container is running and that its user may write the destination",
		what, target, withOutput("rm and tar: "+err.Error(), &stderr))
}

// probe finds out why a sync was not confirmed: whether sh, tar and rm
// exist, with an exec without stdin whose output says so. ran says the
// sync's exec reported success.
func (t *TarTransport) probe(ctx context.Context, target Target, ran bool) error {
	token, err := newToken()
	if err != nil {
		return fmt.Errorf("syncing to %s: %w", target, err)
	}
	script := fmt.Sprintf(`for p in %s; do command -v "$p" >/dev/null 2>&1 || echo "missing $p"; done; echo %s`, strings.Join(tarTools, " "), token)
	var stdout, stderr limitedBuffer
	err = t.Exec.Exec(ctx, target, []string{"sh", "-c", script}, nil, &stdout, &stderr)
	out := stdout.String()
	switch {
	case err != nil && missing(err), err == nil && !strings.Contains(out, token):
		return fmt.Errorf("syncing to %s: could not run sh: the image has no sh in $PATH, which syncing with tar needs; add sh, tar and rm to the image, or sync through skiff-agent: %w",
			target, ErrNoTar)
	case errors.Is(err, ErrUnavailable):
		return fmt.Errorf("syncing to %s: %w", target, err)
	case err != nil:
		return fmt.Errorf("syncing to %s: the container did not confirm the sync, and checking for tar failed too: %s; sync again",
			target, withOutput(err.Error(), &stderr))
	}
	var gone []string
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "missing "); ok {
			gone = append(gone, p)
		}
	}
	if len(gone) > 0 {
		return fmt.Errorf("syncing to %s: the image has no %s in $PATH; add it to the image, or sync through skiff-agent: %w",
			target, strings.Join(gone, " nor "), ErrNoTar)
	}
	if ran {
		return fmt.Errorf("syncing to %s: the exec of rm and tar reported success but the container did not confirm it, although sh, tar and rm exist: the files may not have arrived; sync again", target)
	}
	return fmt.Errorf("syncing to %s: the container did not confirm the sync (the shell said a program was not found), although sh, tar and rm exist: the files may not have arrived; sync again", target)
}

// newToken returns a word the sync script prints when it succeeded.
func newToken() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making the sync confirmation token: %w", err)
	}
	return "skiff-synced-" + hex.EncodeToString(b), nil
}

// confirms reports whether the output has the line token.
func confirms(out *limitedBuffer, token string) bool {
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.TrimSpace(line) == token {
			return true
		}
	}
	return false
}

// writeTar writes the Write ops as a tar archive of absolute paths without
// the leading "/", reading each file through its Base; a file that no
// longer exists, or that is not synced (see Screen), is left out.
func writeTar(w io.Writer, ops []Op) error {
	roots := rootCache{}
	defer roots.close()
	tw := tar.NewWriter(w)
	now := time.Now()
	for _, op := range ops {
		lf, err := roots.open(op)
		if err != nil {
			return err
		}
		if lf == nil {
			continue
		}
		hdr := &tar.Header{Name: strings.TrimPrefix(op.Dest, "/"), Mode: int64(lf.mode.Perm()), ModTime: now, Typeflag: tar.TypeReg, Size: lf.size}
		switch {
		case lf.dir:
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		case lf.f == nil:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, lf.link
		}
		if err := tw.WriteHeader(hdr); err != nil {
			lf.close()
			return err
		}
		if lf.f != nil {
			_, err = io.CopyN(tw, lf.f, lf.size)
			lf.close()
			if err != nil {
				return fmt.Errorf("reading %s to sync it: %w", op.Local, err)
			}
		}
	}
	return tw.Close()
}
