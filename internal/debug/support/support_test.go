package support

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestInstall copies a tree with an executable, a nested file and a
// relative link, twice (a restarted init container), and refuses a link
// out of the tree.
func TestInstall(t *testing.T) {
	t.Parallel()
	src, dest := t.TempDir(), filepath.Join(t.TempDir(), "dbg")
	write(t, filepath.Join(src, "go/bin/dlv"), "dlv", 0o755)
	write(t, filepath.Join(src, "python/lib/pydevd.py"), "pydevd", 0o644)
	if err := os.MkdirAll(filepath.Join(src, "python/lib/debugpy/_vendored"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../pydevd.py", filepath.Join(src, "python/lib/debugpy/_vendored/pydevd.py")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := Install(src, dest); err != nil {
			t.Fatal(err)
		}
	}
	info, err := os.Stat(filepath.Join(dest, "go/bin/dlv"))
	if err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("dlv: %v, mode %v; want 0755", err, info)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "python/lib/debugpy/_vendored/pydevd.py")); err != nil || string(b) != "pydevd" {
		t.Errorf("through the link: %q, %v; want pydevd", b, err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := Install(src, dest); err == nil || !strings.Contains(err.Error(), "outside the support files") {
		t.Errorf("Install with a link to /etc/passwd = %v; want an error", err)
	}
}

func write(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// TestNode: npm and nodemon run without the inspector, which the app they
// start gets back; node itself is the next one on PATH, not the wrapper.
func TestNode(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	self := filepath.Join(root, "dbg/nodejs/bin/node")
	write(t, self, "wrapper", 0o755)
	real := filepath.Join(root, "usr/bin/node")
	write(t, real, "node", 0o755)
	write(t, filepath.Join(root, "noexec/node"), "not executable", 0o644)
	path := "PATH=" + filepath.Dir(self) + ":" + filepath.Join(root, "noexec") + ":" + filepath.Dir(real)
	inspect := "--inspect=0.0.0.0:9229"

	for _, tc := range []struct {
		name              string
		args, env         []string
		wantOpts, wantEnv string
	}{
		{"npm loses the inspector", []string{"/usr/local/bin/npm", "start"}, []string{path, "NODE_OPTIONS=--max-old-space-size=256 " + inspect}, "--max-old-space-size=256", inspect},
		{"its app gets it back", []string{"server.js"}, []string{path, "NODE_OPTIONS=--max-old-space-size=256", InspectEnv + "=" + inspect}, "--max-old-space-size=256 " + inspect, ""},
		{"nodemon after -r", []string{"-r", "dotenv/config", "node_modules/nodemon/bin/nodemon.js"}, []string{path, "NODE_OPTIONS=" + inspect}, "", inspect},
		{"a plain app keeps it", []string{"--enable-source-maps", "app.js"}, []string{path, "NODE_OPTIONS=" + inspect}, inspect, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prog, argv, env, err := Node(self, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if prog != real || argv[0] != real || !slices.Equal(argv[1:], tc.args) {
				t.Errorf("runs %s %q; want %s %q", prog, argv, real, tc.args)
			}
			if got := getenv(env, "NODE_OPTIONS"); got != tc.wantOpts {
				t.Errorf("NODE_OPTIONS=%q; want %q", got, tc.wantOpts)
			}
			if got := getenv(env, InspectEnv); got != tc.wantEnv {
				t.Errorf("%s=%q; want %q", InspectEnv, got, tc.wantEnv)
			}
		})
	}
	if _, _, _, err := Node(self, []string{"app.js"}, []string{"PATH=" + filepath.Dir(self)}); err == nil || !strings.Contains(err.Error(), "no node on PATH besides the wrapper") {
		t.Errorf("Node with only the wrapper on PATH = %v; want an error", err)
	}
}

// TestLauncher runs python command lines, and a #! python program, under
// debugpy with the support files' lib on PYTHONPATH.
func TestLauncher(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	self := filepath.Join(root, "dbg/python/launcher")
	write(t, filepath.Join(root, "bin/gunicorn"), "#!/usr/bin/env python3\nimport gunicorn\n", 0o755)
	write(t, filepath.Join(root, "bin/server"), "\x7fELF", 0o755)
	look := func(p string) (string, error) {
		switch {
		case strings.HasPrefix(p, "python"):
			return "/usr/bin/" + p, nil
		case strings.Contains(p, "/"):
			return p, nil
		case p == "gunicorn" || p == "server":
			return filepath.Join(root, "bin", p), nil
		}
		return "", errors.New("not found")
	}
	lib := filepath.Join(root, "dbg/python/lib")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"script", []string{"--mode", "debugpy", "--port", "5678", "--", "python3", "-u", "app.py", "-v"},
			[]string{"python3", "-u", "-Xfrozen_modules=off", "-m", "debugpy", "--listen", "0.0.0.0:5678", "app.py", "-v"}},
		{"module, suspended", []string{"--mode=debugpy", "--port=5679", "--wait", "--", "python", "-X", "dev", "-m", "flask", "run"},
			[]string{"python", "-X", "dev", "-Xfrozen_modules=off", "-m", "debugpy", "--listen", "0.0.0.0:5679", "--wait-for-client", "-m", "flask", "run"}},
		{"#! program", []string{"--mode", "debugpy", "--port", "5678", "--", "gunicorn", "app:app"},
			[]string{"python3", "-Xfrozen_modules=off", "-m", "debugpy", "--listen", "0.0.0.0:5678", filepath.Join(root, "bin/gunicorn"), "app:app"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prog, argv, env, err := Launcher(self, tc.args, []string{"PYTHONPATH=/app", "HOME=/root"}, look)
			if err != nil {
				t.Fatal(err)
			}
			if prog != "/usr/bin/"+tc.want[0] || !slices.Equal(argv, tc.want) {
				t.Errorf("runs %s %q; want /usr/bin/%s %q", prog, argv, tc.want[0], tc.want)
			}
			for k, v := range map[string]string{"PYTHONPATH": lib + ":/app", "PYDEVD_USE_CYTHON": "NO", "PYDEVD_DISABLE_FILE_VALIDATION": "1", "HOME": "/root"} {
				if got := getenv(env, k); got != v {
					t.Errorf("%s=%q; want %q", k, got, v)
				}
			}
		})
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--port", "5678", "--", "server"}, "is not a python program"},
		{[]string{"--port", "5678", "--", "missing"}, "missing: not found"},
		{[]string{"--mode", "pydevd", "--port", "5678", "--", "python"}, "mode pydevd is not supported"},
		{[]string{"--port", "x", "--", "python"}, "--port x is not a port"},
		{[]string{"--port", "5678"}, "no command after --"},
	} {
		if _, _, _, err := Launcher(self, tc.args, nil, look); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Launcher(%q) = %v; want an error containing %q", tc.args, err, tc.want)
		}
	}
}
