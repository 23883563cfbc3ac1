package main

import (
	"crypto/sha512"
	"debug/elf"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bpRun runs a buildpack's bin/detect or bin/build on this machine as the
// lifecycle would (in the app directory, with CNB_LAYERS_DIR and
// CNB_BUILDPACK_DIR set) and returns its output.
func bpRun(t *testing.T, bp, exe, app, layers string, env ...string) (string, error) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("../../buildpacks", bp))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(dir, "bin", exe))
	cmd.Dir = app
	cmd.Env = append(os.Environ(), append([]string{"CNB_LAYERS_DIR=" + layers, "CNB_BUILDPACK_DIR=" + dir}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustRead(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nextBuild leaves the layers directory as the lifecycle restores it for
// the next build: the launch layers' metadata files with their types
// false, not their contents.
func nextBuild(t *testing.T, layers string) {
	t.Helper()
	entries, err := os.ReadDir(layers)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(layers, e.Name())
		switch {
		case e.IsDir() || e.Name() == "launch.toml":
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
		case strings.HasSuffix(e.Name(), ".toml"):
			toml := strings.ReplaceAll(mustRead(t, p), "launch = true", "launch = false")
			if err := os.WriteFile(p, []byte(toml), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// npmCache is an npm cache directory holding one package.
type npmCache struct{ dir, integrity string }

// npmCacheWith packs a package of one index.js with npm and adds it to a
// new npm cache, as `npm cache add` on a machine with network would.
func npmCacheWith(t *testing.T, name, version, index string) npmCache {
	t.Helper()
	src, cache := t.TempDir(), t.TempDir()
	pkg := fmt.Sprintf(`{"name": %q, "version": %q, "main": "index.js"}`, name, version)
	for file, content := range map[string]string{"package.json": pkg, "index.js": index} {
		if err := os.WriteFile(filepath.Join(src, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pack := exec.Command("npm", "pack", "--silent")
	pack.Dir = src
	pack.Env = append(os.Environ(), "npm_config_cache="+cache)
	if out, err := pack.CombinedOutput(); err != nil {
		t.Fatalf("npm pack: %v\n%s", err, out)
	}
	tgz := filepath.Join(src, name+"-"+version+".tgz")
	add := exec.Command("npm", "cache", "add", tgz)
	add.Env = append(os.Environ(), "npm_config_cache="+cache)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("npm cache add: %v\n%s", err, out)
	}
	b, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(b)
	return npmCache{dir: cache, integrity: "sha512-" + base64.StdEncoding.EncodeToString(sum[:])}
}

func hasDWARF(t *testing.T, bin string) bool {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return f.Section(".debug_info") != nil
}

func exampleCopy(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGoBuildpack(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the Go buildpack's test needs go in PATH: %v", err)
	}
	gocache, err := exec.Command(goBin, "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cacheEnv := "GOCACHE=" + strings.TrimSpace(string(gocache))
	app := exampleCopy(t, "../../examples/buildpacks")
	layers := t.TempDir()

	if out, err := bpRun(t, "go", "detect", t.TempDir(), layers); err == nil {
		t.Errorf("detect passed without a go.mod: %s", out)
	}
	if out, err := bpRun(t, "go", "detect", app, layers); err != nil {
		t.Fatalf("detect failed on a Go module: %v\n%s", err, out)
	}

	out, err := bpRun(t, "go", "build", app, layers, cacheEnv)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	bin := filepath.Join(layers, "app", "bin", "app")
	info, err := exec.Command(goBin, "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m %s: %v", bin, err)
	}
	if !strings.Contains(string(info), "-trimpath=true") {
		t.Errorf("the default build is not -trimpath:\n%s", info)
	}
	if hasDWARF(t, bin) {
		t.Errorf("the default build kept its DWARF (want -ldflags \"-s -w\")")
	}
	if toml := mustRead(t, filepath.Join(layers, "app.toml")); !strings.Contains(toml, "launch = true") || !strings.Contains(toml, "source = ") {
		t.Errorf("app.toml:\n%s", toml)
	}
	if launch := mustRead(t, filepath.Join(layers, "launch.toml")); !strings.Contains(launch, `type = "web"`) || !strings.Contains(launch, `command = ["`+bin+`"]`) || !strings.Contains(launch, "default = true") {
		t.Errorf("launch.toml:\n%s", launch)
	}

	// Unchanged sources: the layer is re-declared from its metadata alone.
	nextBuild(t, layers)
	out, err = bpRun(t, "go", "build", app, layers, cacheEnv)
	if err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out)
	}
	if !strings.Contains(out, "sources unchanged") {
		t.Errorf("an unchanged app was built again:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(layers, "app")); !os.IsNotExist(err) {
		t.Errorf("the reused layer has a directory (%v): the exporter would tar it again", err)
	}
	if toml := mustRead(t, filepath.Join(layers, "app.toml")); !strings.Contains(toml, "launch = true") {
		t.Errorf("the reused layer is not declared a launch layer:\n%s", toml)
	}

	// Debug flags: passed as -gcflags, without -trimpath, and a new build.
	nextBuild(t, layers)
	out, err = bpRun(t, "go", "build", app, layers, cacheEnv, "SKAFFOLD_GO_GCFLAGS=-N -l")
	if err != nil {
		t.Fatalf("build with SKAFFOLD_GO_GCFLAGS: %v\n%s", err, out)
	}
	info, err = exec.Command(goBin, "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m %s: %v\n%s", bin, err, out)
	}
	if strings.Contains(string(info), "-trimpath") || !strings.Contains(string(info), "-gcflags=\"-N -l\"") {
		t.Errorf("SKAFFOLD_GO_GCFLAGS=-N -l: the binary was built with:\n%s", info)
	}
	if !hasDWARF(t, bin) {
		t.Errorf("SKAFFOLD_GO_GCFLAGS=-N -l: the binary has no DWARF for a debugger")
	}
	nextBuild(t, layers)
	out, err = bpRun(t, "go", "build", app, layers, cacheEnv, "GOOGLE_GOGCFLAGS=-l", "SKAFFOLD_GO_GCFLAGS=-N")
	if err != nil {
		t.Fatalf("build with GOOGLE_GOGCFLAGS: %v\n%s", err, out)
	}
	info, err = exec.Command(goBin, "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m %s: %v\n%s", bin, err, out)
	}
	if !strings.Contains(string(info), "-gcflags=-l") {
		t.Errorf("GOOGLE_GOGCFLAGS=-l beside SKAFFOLD_GO_GCFLAGS=-N: the binary was built with:\n%s", info)
	}

	// A compile error names the buildpack and keeps the compiler's message.
	if err := os.WriteFile(filepath.Join(app, "main.go"), []byte("package main\n\nfunc main() { undefinedName() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nextBuild(t, layers)
	out, err = bpRun(t, "go", "build", app, layers, cacheEnv)
	if err == nil || !strings.Contains(out, "undefined: undefinedName") || !strings.Contains(out, "skiff/go: go build failed") {
		t.Errorf("a broken app: %v\n%s", err, out)
	}
}

func TestNodeBuildpack(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skipf("node is not installed on this machine (make builder installs it): %v", err)
	}
	app := exampleCopy(t, "../../examples/buildpacks-node")
	layers := t.TempDir()
	if out, err := bpRun(t, "nodejs", "detect", t.TempDir(), layers); err == nil {
		t.Errorf("detect passed without a package.json: %s", out)
	}
	if out, err := bpRun(t, "nodejs", "detect", app, layers); err != nil {
		t.Fatalf("detect: %v\n%s", err, out)
	}
	out, err := bpRun(t, "nodejs", "build", app, layers)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, f := range []string{"node/bin/node", "node/bin/npm", "node/lib/node_modules/npm/package.json"} {
		if _, err := os.Stat(filepath.Join(layers, f)); err != nil {
			t.Errorf("the node layer lacks %s: %v", f, err)
		}
	}
	node := filepath.Join(layers, "node", "bin", "node")
	if launch := mustRead(t, filepath.Join(layers, "launch.toml")); !strings.Contains(launch, `command = ["`+node+`", "server.js"]`) {
		t.Errorf("launch.toml (want node with package.json's main):\n%s", launch)
	}

	nextBuild(t, layers)
	out, err = bpRun(t, "nodejs", "build", app, layers)
	if err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out)
	}
	if !strings.Contains(out, "reusing the node layer") {
		t.Errorf("node was copied again:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(layers, "node")); !os.IsNotExist(err) {
		t.Errorf("the reused node layer has a directory (%v)", err)
	}

	// A start script is the web process, through npm.
	pkg := `{"name": "x", "version": "1.0.0", "scripts": {"start": "node server.js"}}`
	if err := os.WriteFile(filepath.Join(app, "package.json"), []byte(pkg), 0o644); err != nil {
		t.Fatal(err)
	}
	nextBuild(t, layers)
	if out, err = bpRun(t, "nodejs", "build", app, layers); err != nil {
		t.Fatalf("build with a start script: %v\n%s", err, out)
	}
	npm := filepath.Join(layers, "node", "bin", "npm")
	if launch := mustRead(t, filepath.Join(layers, "launch.toml")); !strings.Contains(launch, `command = ["`+npm+`", "start"]`) {
		t.Errorf("launch.toml (want npm start):\n%s", launch)
	}

	// A dependency that is in no cache: the offline install fails and says why.
	pkg = `{"name": "x", "version": "1.0.0", "main": "server.js", "dependencies": {"left-pad": "1.3.0"}}`
	if err := os.WriteFile(filepath.Join(app, "package.json"), []byte(pkg), 0o644); err != nil {
		t.Fatal(err)
	}
	nextBuild(t, layers)
	out, err = bpRun(t, "nodejs", "build", app, layers, "npm_config_cache="+t.TempDir())
	if err == nil || !strings.Contains(out, "This builder is offline") {
		t.Errorf("a dependency that cannot be installed offline: %v\n%s", err, out)
	}

	// A dependency in the npm cache is installed offline into the modules
	// layer, which node_modules links to, and reused while the lock is
	// unchanged.
	npmCache := npmCacheWith(t, "greet", "1.0.0", "module.exports = () => 'hi';\n")
	pkg = `{"name": "x", "version": "1.0.0", "main": "server.js", "dependencies": {"greet": "1.0.0"}}`
	lock := fmt.Sprintf(`{"name": "x", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": {
  "": {"name": "x", "version": "1.0.0", "dependencies": {"greet": "1.0.0"}},
  "node_modules/greet": {"version": "1.0.0", "resolved": "https://registry.npmjs.org/greet/-/greet-1.0.0.tgz", "integrity": %q}}}`, npmCache.integrity)
	for name, content := range map[string]string{"package.json": pkg, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(app, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	nextBuild(t, layers)
	out, err = bpRun(t, "nodejs", "build", app, layers, "npm_config_cache="+npmCache.dir)
	if err != nil {
		t.Fatalf("build with a cached dependency: %v\n%s", err, out)
	}
	if target, err := os.Readlink(filepath.Join(app, "node_modules")); err != nil || target != filepath.Join(layers, "modules", "node_modules") {
		t.Errorf("node_modules links to %q (%v), want the modules layer", target, err)
	}
	if _, err := os.Stat(filepath.Join(layers, "modules", "node_modules", "greet", "index.js")); err != nil {
		t.Errorf("the dependency is not installed: %v\n%s", err, out)
	}
	nextBuild(t, layers)
	out, err = bpRun(t, "nodejs", "build", app, layers, "npm_config_cache="+t.TempDir())
	if err != nil || !strings.Contains(out, "reusing node_modules") {
		t.Errorf("an unchanged lock installed the dependencies again (%v):\n%s", err, out)
	}
	if err := os.Remove(filepath.Join(app, "node_modules")); err != nil {
		t.Fatal(err)
	}

	// Vendored node_modules are used as they are.
	if err := os.MkdirAll(filepath.Join(app, "node_modules", "left-pad"), 0o755); err != nil {
		t.Fatal(err)
	}
	nextBuild(t, layers)
	if out, err = bpRun(t, "nodejs", "build", app, layers); err != nil {
		t.Fatalf("build with vendored node_modules: %v\n%s", err, out)
	}
	if toml := mustRead(t, filepath.Join(layers, "modules.toml")); strings.Contains(toml, "launch = true") || strings.Contains(out, "node_modules") {
		t.Errorf("vendored node_modules were installed again:\n%s\nmodules.toml:\n%s", out, toml)
	}
}
