package debug

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// supportDir makes a support directory as `make build` does, with the
// real support program, a stand-in dlv and python lib with a link.
func supportDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(dir, SupportProgram), "skiff.dev/skiff/cmd/skiff-debug-support")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build skiff-debug-support: %v\n%s", err, out)
	}
	for name, content := range map[string]string{"go/bin/dlv": "dlv", "python/lib/pydevd.py": "pydevd", "python/lib/debugpy/__init__.py": "debugpy"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../pydevd.py", filepath.Join(dir, "python/lib/debugpy/pydevd.py")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// layerEntries lists the single layer's entries as "name type [target]".
func layerEntries(t *testing.T, img v1.Image) []string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %v, %d; want one", err, len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		e := fmt.Sprintf("%s %c %o", h.Name, h.Typeflag, h.Mode)
		if h.Linkname != "" {
			e += " " + h.Linkname
		}
		out = append(out, e)
	}
}

// TestSupportImage packs each runtime's image: the copier as entrypoint,
// the runtime's files under /files, the same digest twice.
func TestSupportImage(t *testing.T) {
	t.Parallel()
	dir := supportDir(t)
	for rt, want := range map[Runtime][]string{
		Go:     {"files/ 5 755", "skiff-debug-support 0 755", "files/go/ 5 755", "files/go/bin/ 5 755", "files/go/bin/dlv 0 755"},
		NodeJS: {"files/ 5 755", "skiff-debug-support 0 755", "files/nodejs/ 5 755", "files/nodejs/bin/ 5 755", "files/nodejs/bin/node 1 755 skiff-debug-support"},
		Python: {"files/ 5 755", "skiff-debug-support 0 755", "files/python/ 5 755", "files/python/launcher 1 755 skiff-debug-support", "files/python/lib/ 5 755",
			"files/python/lib/debugpy/ 5 755", "files/python/lib/debugpy/__init__.py 0 755", "files/python/lib/debugpy/pydevd.py 2 777 ../pydevd.py", "files/python/lib/pydevd.py 0 755"},
	} {
		img, err := SupportImage(dir, rt)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("%s: %v", rt, err)
		}
		if got := layerEntries(t, img); !slices.Equal(got, want) {
			t.Errorf("%s image holds %q; want %q", rt, got, want)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cf.Config.Entrypoint, []string{"/skiff-debug-support", "install", "/files", "/dbg"}) || cf.Architecture == "" || cf.Config.User != "65532:65532" {
			t.Errorf("%s config: entrypoint %q, arch %q, user %q", rt, cf.Config.Entrypoint, cf.Architecture, cf.Config.User)
		}
		again, err := SupportImage(dir, rt)
		if err != nil {
			t.Fatal(err)
		}
		d1, _ := img.Digest()
		d2, _ := again.Digest()
		if d1 != d2 {
			t.Errorf("%s: digests %s and %s of the same files", rt, d1, d2)
		}
	}
}

func TestSupportImageErrors(t *testing.T) {
	t.Parallel()
	dir := supportDir(t)
	if err := os.RemoveAll(filepath.Join(dir, "go")); err != nil {
		t.Fatal(err)
	}
	dynamic := t.TempDir()
	ls, err := os.ReadFile("/bin/ls")
	if err != nil {
		t.Skip("no /bin/ls to stand for a dynamic executable")
	}
	if err := os.WriteFile(filepath.Join(dynamic, SupportProgram), ls, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir  string
		rt   Runtime
		want string
	}{
		{dir, Go, "packing the go debug support image: lstat " + filepath.Join(dir, "go") + ": no such file or directory; build the support files with `make build`"},
		{dir, JVM, "runtime jvm has no debug support image"},
		{dynamic, NodeJS, "is dynamically linked"},
		{t.TempDir(), Python, "packing the python debug support image: open"},
	} {
		if _, err := SupportImage(tc.dir, tc.rt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SupportImage(%s) = %v; want an error containing %q", tc.rt, err, tc.want)
		}
	}
}

func TestFindSupportDir(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	self := filepath.Join(bin, "skiff")
	if _, err := FindSupportDir(self, ""); err == nil || !strings.Contains(err.Error(), "build them with `make build`") {
		t.Errorf("FindSupportDir with no files = %v; want how to build them", err)
	}
	if err := os.MkdirAll(filepath.Join(bin, SupportDirName), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, SupportDirName, SupportProgram), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := FindSupportDir(self, ""); err != nil || got != filepath.Join(bin, SupportDirName) {
		t.Errorf("FindSupportDir = %q, %v; want %s/debug", got, err, bin)
	}
	other := t.TempDir()
	if _, err := FindSupportDir(self, other); err == nil || !strings.Contains(err.Error(), "no debug support files at "+other) {
		t.Errorf("FindSupportDir with an empty override = %v; want it named", err)
	}
}

func TestConfigOf(t *testing.T) {
	t.Parallel()
	c := v1.Config{Env: []string{"A=1"}, Entrypoint: []string{"/app"}, Cmd: []string{"-v"}, WorkingDir: "/w", Labels: map[string]string{"l": "v"}, User: "1000"}
	got := ConfigOf(c)
	if !slices.Equal(got.Env, c.Env) || !slices.Equal(got.Entrypoint, c.Entrypoint) || !slices.Equal(got.Cmd, c.Cmd) || got.WorkingDir != "/w" || got.Labels["l"] != "v" {
		t.Errorf("ConfigOf = %+v; want the config's fields", got)
	}
}
