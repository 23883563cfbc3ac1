package tag

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testRepo is a real git repository in a temporary directory, with a git
// configuration of its own: the machine's (system and global) is kept out.
type testRepo struct {
	tb  testing.TB
	dir string
	env []string
}

// isolatedGitEnv is the environment for git in tests: an empty HOME, no
// system configuration, a fixed identity, and no searching above root.
func isolatedGitEnv(tb testing.TB, root string) []string {
	home := tb.TempDir()
	return []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + filepath.Join(home, "gitconfig"),
		"GIT_CEILING_DIRECTORIES=" + filepath.Dir(root),
		"GIT_AUTHOR_NAME=skiff", "GIT_AUTHOR_EMAIL=skiff@example.com",
		"GIT_COMMITTER_NAME=skiff", "GIT_COMMITTER_EMAIL=skiff@example.com",
	}
}

func newTestRepo(tb testing.TB) *testRepo {
	tb.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		tb.Skip("git is not installed")
	}
	dir := tb.TempDir()
	r := &testRepo{tb: tb, dir: dir, env: isolatedGitEnv(tb, dir)}
	r.git("init", "-q", "-b", "main")
	r.git("config", "user.name", "skiff")
	r.git("config", "user.email", "skiff@example.com")
	r.git("config", "commit.gpgsign", "false")
	r.git("config", "tag.gpgsign", "false")
	return r
}

// git runs git in the repository and returns its trimmed output.
func (r *testRepo) git(args ...string) string {
	r.tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), r.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		r.tb.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// write creates or replaces a file, relative to the repository.
func (r *testRepo) write(name, content string) {
	r.tb.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.tb.Fatal(err)
	}
}

// commit commits everything in the work tree.
func (r *testRepo) commit(msg string) {
	r.tb.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
}
