// Command mkbuilder makes skiff's offline Cloud Native Buildpacks builder
// and pushes it, with its run image, to a registry (make builder):
//
//   - a run image from Debian packages (apt-get download, unpacked as
//     dpkg-deb -x would: no maintainer scripts), with a cnb user (uid 1000),
//     a CA bundle, BusyBox applets and the io.buildpacks.base.* labels;
//   - a build image: the run image's layer plus bash, the Go toolchain of
//     this machine (/usr/local/go, with a Go build cache of the standard
//     library for the Go buildpack) and its node and npm, with
//     CNB_USER_ID/CNB_GROUP_ID;
//   - the builder: the build image plus the lifecycle that tools/lifecycle
//     pins (/cnb/lifecycle), skiff's buildpacks from buildpacks/
//     (/cnb/buildpacks), /cnb/order.toml, /cnb/run.toml and the
//     io.buildpacks.builder.metadata, .buildpack.order and .buildpack.layers
//     labels.
//
// Layers are kept compressed in the cache directory under their diffID, so
// a run with unchanged inputs compresses and uploads nothing.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The cnb user that the lifecycle and the application run as.
const (
	cnbUID = 1000
	cnbGID = 1000
)

// The stack (base image id) of the images: Debian 12 packages.
const (
	baseID        = "dev.skiff.stacks.bookworm"
	distroName    = "debian"
	distroVersion = "12"
)

// Debian packages of the run image, and those the build image adds.
var (
	runPackages   = []string{"libc6", "libgcc-s1", "libstdc++6", "ca-certificates", "tzdata", "netbase", "busybox-static"}
	buildPackages = []string{"bash", "libtinfo6"}
)

// The builder's buildpacks (directories of the repository) and its order:
// a group per language, tried in turn.
var (
	defaultBuildpacks = []string{"buildpacks/go", "buildpacks/nodejs"}
	defaultOrder      = []orderEntry{
		{Group: []moduleRef{{ID: "skiff/go", Version: "0.1.0"}}},
		{Group: []moduleRef{{ID: "skiff/nodejs", Version: "0.1.0"}}},
	}
)

// goCacheDir is where the build image keeps the Go build cache of the
// standard library that the Go buildpack starts from.
const goCacheDir = "var/cache/skiff-go"

type options struct {
	repo       string // the repository root
	cache      string
	registry   string
	prefix     string
	goroot     string
	nodeBin    string
	nodeLib    string
	order      []orderEntry
	buildpacks []string
	out        io.Writer
}

func main() {
	o := options{out: os.Stderr}
	flag.StringVar(&o.repo, "repo", ".", "the skiff repository (buildpacks/ and tools/lifecycle/ are read from it)")
	flag.StringVar(&o.cache, "cache", "/var/cache/skiff/builder", "where downloaded packages, the lifecycle and compressed layers are kept")
	flag.StringVar(&o.registry, "registry", "127.0.0.1:5001", "the registry to push skiff/run, skiff/build and skiff/builder to")
	flag.StringVar(&o.prefix, "prefix", "skiff", "the repository prefix of the images: PREFIX/run, PREFIX/build, PREFIX/builder (another one tries buildpacks without replacing skiff's builder)")
	flag.StringVar(&o.goroot, "goroot", "/usr/local/go", "the Go toolchain to install in the build image")
	flag.StringVar(&o.nodeBin, "node", "/usr/bin/node", "the node binary to install in the build image")
	flag.StringVar(&o.nodeLib, "node-modules", "/usr/lib/node_modules", "the global node_modules (npm) to install beside node")
	flag.Parse()
	o.buildpacks, o.order = defaultBuildpacks, defaultOrder
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "mkbuilder: ERROR:", err)
		os.Exit(1)
	}
}

func (o options) logf(format string, args ...any) {
	fmt.Fprintf(o.out, "mkbuilder: "+format+"\n", args...)
}

func run(ctx context.Context, o options) error {
	start := time.Now()
	if err := os.MkdirAll(o.cache, 0o755); err != nil {
		return err
	}
	// One make builder at a time per cache (make builder and the e2e test
	// may overlap).
	lock, err := os.OpenFile(filepath.Join(o.cache, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	if _, err := os.Stat(filepath.Join(o.nodeLib, "npm", "package.json")); err != nil {
		return fmt.Errorf("npm is not in %s (%w): the build image takes node and the npm that comes with it from this machine (NodeSource's nodejs package has both); pass -node-modules DIR where npm is", o.nodeLib, err)
	}
	runRef, err := name.ParseReference(o.registry + "/" + o.prefix + "/run:latest")
	if err != nil {
		return err
	}
	buildRef, _ := name.ParseReference(o.registry + "/" + o.prefix + "/build:latest")
	builderRef, _ := name.ParseReference(o.registry + "/" + o.prefix + "/builder:latest")
	layers := layerCache{dir: filepath.Join(o.cache, "layers"), used: map[string]bool{}}

	var bps []buildpack
	for _, dir := range o.buildpacks {
		bp, err := readBuildpack(filepath.Join(o.repo, dir))
		if err != nil {
			return err
		}
		bps = append(bps, bp)
	}
	if err := checkOrder(o.order, bps); err != nil {
		return err
	}

	debs, err := debFiles(ctx, filepath.Join(o.cache, "debs"), append(append([]string{}, runPackages...), buildPackages...))
	if err != nil {
		return err
	}
	runDebs, buildDebs := debs[:len(runPackages)], debs[len(runPackages):]

	lc, lcDir, err := buildLifecycle(ctx, o)
	if err != nil {
		return err
	}
	goCache, err := buildGoCache(ctx, o)
	if err != nil {
		return err
	}
	watch, err := buildWatcher(ctx, o)
	if err != nil {
		return err
	}

	o.logf("assembling layers (cache %s)", layers.dir)
	base, err := layers.layer("base", func(l *layerWriter) error { return baseLayer(ctx, l, runDebs, o.cache) })
	if err != nil {
		return err
	}
	buildExtra, err := layers.layer("build-packages", func(l *layerWriter) error {
		_, err := unpackDebs(ctx, l, buildDebs)
		return err
	})
	if err != nil {
		return err
	}
	goLayer, err := layers.layer("go", func(l *layerWriter) error { return goToolchainLayer(l, o.goroot, goCache) })
	if err != nil {
		return err
	}
	nodeLayer, err := layers.layer("node", func(l *layerWriter) error { return nodeLayer(l, o.nodeBin, o.nodeLib) })
	if err != nil {
		return err
	}
	lcLayer, err := layers.layer("lifecycle", func(l *layerWriter) error { return lifecycleLayer(l, lcDir, lc) })
	if err != nil {
		return err
	}
	bpLayers := make([]v1.Layer, len(bps))
	diffIDs := map[string]string{}
	for i, bp := range bps {
		if bpLayers[i], err = layers.layer("buildpack", func(l *layerWriter) error { return buildpackLayer(l, bp, watch) }); err != nil {
			return err
		}
		d, _ := bpLayers[i].DiffID()
		diffIDs[bp.Descriptor.ID] = d.String()
	}
	cnbLayer, err := layers.layer("cnb", func(l *layerWriter) error { return cnbConfigLayer(l, o.order, runRef.String()) })
	if err != nil {
		return err
	}

	runImg, err := image([]v1.Layer{base}, imageConfig(runRef.String(), false))
	if err != nil {
		return err
	}
	buildImg, err := image([]v1.Layer{base, buildExtra, goLayer, nodeLayer}, imageConfig(buildRef.String(), true))
	if err != nil {
		return err
	}
	labels, err := builderLabels(bps, diffIDs, o.order, lc, runRef.String(), "make builder")
	if err != nil {
		return err
	}
	builderCfg := imageConfig(builderRef.String(), true)
	for k, v := range labels {
		builderCfg.Labels[k] = v
	}
	builderImg, err := image(append([]v1.Layer{base, buildExtra, goLayer, nodeLayer, lcLayer}, append(bpLayers, cnbLayer)...), builderCfg)
	if err != nil {
		return err
	}

	for _, p := range []struct {
		ref name.Reference
		img v1.Image
	}{{runRef, runImg}, {buildRef, buildImg}, {builderRef, builderImg}} {
		if err := push(ctx, o, p.ref, p.img); err != nil {
			return err
		}
	}
	if err := layers.prune(); err != nil {
		return fmt.Errorf("removing old layers from the cache: %w", err)
	}
	o.logf("done in %.1fs: builder %s (lifecycle %s, buildpacks %s), run image %s",
		time.Since(start).Seconds(), builderRef, lc.Version, bpNames(bps), runRef)
	return nil
}

func bpNames(bps []buildpack) string {
	var s []string
	for _, bp := range bps {
		s = append(s, bp.Descriptor.ID+"@"+bp.Descriptor.Version)
	}
	return strings.Join(s, ", ")
}

// checkOrder checks that every buildpack an order names is one of bps.
func checkOrder(order []orderEntry, bps []buildpack) error {
	have := map[moduleRef]bool{}
	for _, bp := range bps {
		have[bp.ref()] = true
	}
	for _, e := range order {
		for _, m := range e.Group {
			if !have[moduleRef{ID: m.ID, Version: m.Version}] {
				return fmt.Errorf("the order names buildpack %s@%s, which is not in buildpacks/ (%s): fix the order in hack/mkbuilder/main.go or the buildpack's buildpack.toml", m.ID, m.Version, bpNames(bps))
			}
		}
	}
	return nil
}

// push writes img to ref unless the registry has it already.
func push(ctx context.Context, o options, ref name.Reference, img v1.Image) error {
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if desc, err := remote.Head(ref, remote.WithContext(ctx)); err == nil && desc.Digest == digest {
		o.logf("%s@%s is up to date", ref, digest)
		return nil
	}
	t := time.Now()
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("pushing %s: %w (is the registry up? hack/cluster.sh up starts it)", ref, err)
	}
	o.logf("pushed %s@%s in %.1fs", ref, digest, time.Since(t).Seconds())
	return nil
}

// image makes a linux/amd64 image of layers and cfg.
func image(layers []v1.Layer, cfg v1.Config) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: epoch}
	cf.Config = cfg
	return mutate.ConfigFile(img, cf)
}

// imageConfig is the config of the run image (build false) or of the build
// image and the builder (build true), named ref.
func imageConfig(ref string, build bool) v1.Config {
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	env := []string{}
	desc := "skiff's run image: Debian 12 packages (libc6, libstdc++6, ca-certificates, tzdata, netbase, busybox-static)"
	if build {
		path = "/usr/local/go/bin:" + path
		env = append(env, fmt.Sprintf("CNB_USER_ID=%d", cnbUID), fmt.Sprintf("CNB_GROUP_ID=%d", cnbGID))
		desc = "skiff's build image: the run image plus bash, the Go toolchain, node and npm"
	}
	return v1.Config{
		User:       fmt.Sprintf("%d:%d", cnbUID, cnbGID),
		Env:        append([]string{"PATH=" + path}, env...),
		WorkingDir: "/",
		Labels: map[string]string{
			"io.buildpacks.base.id":             baseID,
			stackIDLabel:                        baseID,
			"io.buildpacks.base.distro.name":    distroName,
			"io.buildpacks.base.distro.version": distroVersion,
			"io.buildpacks.base.maintainer":     "skiff",
			"io.buildpacks.base.description":    desc,
			"io.buildpacks.base.ref.name":       ref,
			"io.buildpacks.rebasable":           "true",
		},
	}
}

// buildLifecycle builds the lifecycle and launcher that tools/lifecycle
// pins (static, CGO_ENABLED=0) into the cache, once per go.sum, and reads
// its version and APIs.
func buildLifecycle(ctx context.Context, o options) (lifecycleInfo, string, error) {
	var lc lifecycleInfo
	mod := filepath.Join(o.repo, "tools", "lifecycle")
	sum, err := fileDigest(filepath.Join(mod, "go.sum"))
	if err != nil {
		return lc, "", err
	}
	dir := filepath.Join(o.cache, "lifecycle", sum[:16])
	if _, err := os.Stat(filepath.Join(dir, "descriptor")); err != nil {
		o.logf("building the lifecycle from tools/lifecycle into %s (about 2 minutes the first time)", dir)
		tmp := dir + ".tmp"
		_ = os.RemoveAll(tmp)
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return lc, "", err
		}
		version, err := goOutput(ctx, mod, "list", "-m", "-f", "{{.Version}}", "github.com/buildpacks/lifecycle")
		if err != nil {
			return lc, "", err
		}
		ldflags := "-s -w -X github.com/buildpacks/lifecycle/cmd.Version=" + strings.TrimPrefix(version, "v")
		if _, err := goOutput(ctx, mod, "build", "-trimpath", "-ldflags", ldflags, "-o", tmp+"/",
			"github.com/buildpacks/lifecycle/cmd/lifecycle", "github.com/buildpacks/lifecycle/cmd/launcher", "./descriptor"); err != nil {
			return lc, "", err
		}
		_ = os.RemoveAll(dir)
		if err := os.Rename(tmp, dir); err != nil {
			return lc, "", err
		}
		// Builds of other go.sum files are of no more use.
		old, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "*"))
		for _, d := range old {
			if d != dir {
				_ = os.RemoveAll(d)
			}
		}
	}
	out, err := exec.CommandContext(ctx, filepath.Join(dir, "descriptor")).Output()
	if err != nil {
		return lc, "", fmt.Errorf("%s: %w", filepath.Join(dir, "descriptor"), err)
	}
	var d struct {
		Version string        `json:"version"`
		APIs    lifecycleAPIs `json:"apis"`
	}
	if err := json.Unmarshal(out, &d); err != nil {
		return lc, "", fmt.Errorf("reading the lifecycle descriptor: %w", err)
	}
	if len(d.APIs.Buildpack.Supported) == 0 || len(d.APIs.Platform.Supported) == 0 {
		return lc, "", fmt.Errorf("the lifecycle descriptor lists no supported APIs: %s", out)
	}
	return lifecycleInfo{Version: strings.TrimPrefix(d.Version, "v"), APIs: d.APIs}, dir, nil
}

// goCacheBuilds are the go build flags the standard library is compiled
// with for the build image's Go build cache: those the Go buildpack uses
// by default, and those of a debug build (GOOGLE_GOGCFLAGS or
// SKAFFOLD_GO_GCFLAGS "all=-N -l", as skaffold debug sets them), which
// would otherwise recompile the whole standard library on every build.
var goCacheBuilds = [][]string{{"-trimpath"}, {"-gcflags", "all=-N -l"}}

// buildGoCache compiles the standard library with each of goCacheBuilds
// into a Go build cache in the cache directory, once per Go version, and
// returns it.
func buildGoCache(ctx context.Context, o options) (string, error) {
	version, err := os.ReadFile(filepath.Join(o.goroot, "VERSION"))
	if err != nil {
		return "", fmt.Errorf("reading the Go toolchain's version: %w", err)
	}
	v, _, _ := strings.Cut(string(version), "\n")
	// A cache made with other flags is another directory.
	flags := sha256.Sum256(fmt.Append(nil, goCacheBuilds))
	dir := filepath.Join(o.cache, fmt.Sprintf("gocache-%s-%x", v, flags[:4]))
	if _, err := os.Stat(filepath.Join(dir, "trim.txt")); err == nil {
		return dir, nil
	}
	o.logf("compiling the Go standard library into %s for the build image (a few minutes)", dir)
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	for _, flags := range goCacheBuilds {
		cmd := exec.CommandContext(ctx, filepath.Join(o.goroot, "bin", "go"), append(append([]string{"build"}, flags...), "std")...)
		cmd.Env = append(os.Environ(), "GOCACHE="+tmp, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local", "GOROOT="+o.goroot)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s std: %w\n%s", strings.Join(flags, " "), err, out)
		}
	}
	// The build image's cache is never trimmed (a trim time far ahead):
	// the container is thrown away after each build.
	if err := os.WriteFile(filepath.Join(tmp, "trim.txt"), []byte("4102444800\n"), 0o644); err != nil {
		return "", err
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	// Caches of other Go versions or flags are of no more use.
	old, _ := filepath.Glob(filepath.Join(o.cache, "gocache-*"))
	for _, d := range old {
		if d != dir {
			_ = os.RemoveAll(d)
		}
	}
	return dir, nil
}

func goOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly -buildvcs=false")
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		return "", fmt.Errorf("go %s in %s: %w\n%s", strings.Join(args, " "), dir, err, msg)
	}
	return strings.TrimSpace(string(out)), nil
}

// buildWatcher builds cmd/skiff-watch (static) into the cache: the
// watcher that skiff's buildpacks make the web process of development
// images (each buildpack holds it as bin/skiff-watch).
func buildWatcher(ctx context.Context, o options) (string, error) {
	out := filepath.Join(o.cache, "skiff-watch")
	cmd := exec.CommandContext(ctx, filepath.Join(o.goroot, "bin", "go"), "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./cmd/skiff-watch")
	cmd.Dir = o.repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building cmd/skiff-watch: %w\n%s", err, msg)
	}
	return out, nil
}
