package tag

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/proc"
)

// ErrNotGitRepo is wrapped by the error of a gitCommit tagger whose artifact
// context is not inside a git work tree.
var ErrNotGitRepo = errors.New("not inside a git repository")

// gitVariants are the gitCommit variants, lower-cased: Skaffold matches the
// variant case-insensitively.
var gitVariants = []string{"tags", "commitsha", "abbrevcommitsha", "treesha", "abbrevtreesha", "branches"}

// gitCommit tags an artifact from the git repository holding its context:
// the variant picks what names the commit, and a -dirty suffix marks
// uncommitted changes inside the context (not elsewhere in the repository).
type gitCommit struct {
	variant       string
	prefix        string
	ignoreChanges bool
	env           []string
}

func newGitCommit(c *schema.GitTagger, o *options) (*gitCommit, error) {
	v := strings.ToLower(c.Variant)
	if v == "" {
		v = "tags"
	}
	known := false
	for _, k := range gitVariants {
		known = known || k == v
	}
	if !known {
		return nil, fmt.Errorf("variant %q is not one of Tags (the default), CommitSha, AbbrevCommitSha, TreeSha, AbbrevTreeSha or Branches", c.Variant)
	}
	env := append(slices.Clip(o.environ),
		"GIT_OPTIONAL_LOCKS=0", // status must not take index.lock from the user's own git commands
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C", // git's messages are matched below
	)
	return &gitCommit{variant: v, prefix: c.Prefix, ignoreChanges: c.IgnoreChanges, env: env}, nil
}

// generate runs at most two git commands, side by side: one names the
// commit (or tree, or branch) and `git status` looks for changes.
func (g *gitCommit) generate(ctx context.Context, a *schema.Artifact) (string, error) {
	dir := a.Workspace
	if dir == "" {
		dir = "."
	}
	var (
		wg        sync.WaitGroup
		dirty     bool
		statusErr error
	)
	if !g.ignoreChanges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out string
			out, statusErr = g.git(ctx, dir, "status", "--porcelain", "--", ".")
			dirty = out != ""
		}()
	}
	ref, err := g.ref(ctx, dir)
	wg.Wait()
	if err == nil {
		err = statusErr
	}
	if err != nil {
		return "", g.explain(ctx, dir, err)
	}
	tag := g.prefix + sanitizeTag(ref)
	if dirty {
		tag += "-dirty"
	}
	return tag, nil
}

// ref asks git for what the variant names the workspace's commit by.
func (g *gitCommit) ref(ctx context.Context, dir string) (string, error) {
	switch g.variant {
	case "commitsha":
		return g.git(ctx, dir, "rev-parse", "--verify", "HEAD")
	case "abbrevcommitsha":
		return g.git(ctx, dir, "rev-parse", "--verify", "--short", "HEAD")
	case "treesha":
		// HEAD:./ is the tree of the current directory (the workspace) at
		// HEAD; git resolves it relative to the work tree's root itself.
		return g.git(ctx, dir, "rev-parse", "--verify", "HEAD:./")
	case "abbrevtreesha":
		return g.git(ctx, dir, "rev-parse", "--verify", "--short", "HEAD:./")
	case "branches":
		b, err := g.git(ctx, dir, "branch", "--show-current")
		if err != nil || b == "" { // a detached HEAD has no branch
			return g.git(ctx, dir, "rev-parse", "--verify", "--short", "HEAD")
		}
		return b, nil
	default:
		return g.git(ctx, dir, "describe", "--tags", "--always")
	}
}

// explain turns git's failures into errors that say what to do.
func (g *gitCommit) explain(ctx context.Context, dir string, err error) error {
	if ctx.Err() != nil {
		return err
	}
	const choose = "or set build.tagPolicy to inputDigest, dateTime or sha256"
	abs, absErr := filepath.Abs(dir)
	if absErr != nil {
		abs = dir
	}
	var ge *gitError
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return fmt.Errorf("the gitCommit tag policy runs git, which is not installed or not in $PATH: install git, %s: %w", choose, err)
	case errors.As(err, &ge) && strings.Contains(ge.stderr, "not a git repository"):
		return fmt.Errorf("the artifact's context %s is %w, and the gitCommit tag policy (the default when build.tagPolicy is not set) tags images from git: put the sources under git (git init; git add; git commit), %s", abs, ErrNotGitRepo, choose)
	case errors.As(err, &ge) && g.unborn(ctx, dir):
		return fmt.Errorf("the git repository holding %s has no commits yet, so the gitCommit tag policy has nothing to name the image by: commit the sources, %s", abs, choose)
	case errors.As(err, &ge) && strings.HasSuffix(g.variant, "treesha") && ge.args[len(ge.args)-1] == "HEAD:./":
		return fmt.Errorf("the artifact's context %s is not in the commit HEAD, so the gitCommit variant TreeSha has no tree to name: commit the context, or use another variant: %w", abs, err)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the artifact's context %s does not exist: fix build.artifacts[].context: %w", abs, err)
	}
	return fmt.Errorf("gitCommit tag policy: %w", err)
}

// unborn reports whether the repository holding dir has no commit yet: git
// works there, but HEAD does not resolve.
func (g *gitCommit) unborn(ctx context.Context, dir string) bool {
	_, err := g.git(ctx, dir, "rev-parse", "--verify", "--quiet", "HEAD")
	var ge *gitError
	return errors.As(err, &ge)
}

// git runs git in dir and returns its trimmed standard output.
func (g *gitCommit) git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := proc.Command(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = g.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return "", &gitError{dir: dir, args: args, stderr: strings.TrimSpace(stderr.String()), err: err}
		}
		return "", fmt.Errorf("running git %s in %s: %w", strings.Join(args, " "), dir, err)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// gitError is a git command that ran and failed: the command, where it
// ran and what git said.
type gitError struct {
	dir    string
	args   []string
	stderr string
	err    error
}

func (e *gitError) Error() string {
	msg := fmt.Sprintf("git %s (in %s): %v", strings.Join(e.args, " "), e.dir, e.err)
	if e.stderr != "" {
		msg += ": " + e.stderr
	}
	return msg
}

func (e *gitError) Unwrap() error { return e.err }

// sanitizeTag turns a git ref into a Docker tag as Skaffold does: every
// character other than letters, digits, '-', '.' and '_' becomes '_' (so
// feature/x becomes feature_x), each leading '-' or '.' becomes '_', and the
// result is cut to 128 characters.
func sanitizeTag(ref string) string {
	var b strings.Builder
	b.Grow(len(ref))
	leading := true
	for _, r := range ref {
		switch {
		case leading && (r == '-' || r == '.'):
			r = '_'
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_', r == '-', r == '.':
			leading = false
		default:
			r, leading = '_', false
		}
		b.WriteRune(r)
	}
	s := b.String()
	if len(s) > 128 {
		s = s[:128]
	}
	return s
}
