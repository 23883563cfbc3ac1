package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// goCacheTime is the modification time of the build image's Go build
// cache entries. Go marks an entry used by setting its time when it is
// more than an hour old, which in a container copies the whole file up
// from the image; a time ahead of the clock never needs that.
var goCacheTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// Files of the base layer that no package provides.
const (
	passwd = "root:x:0:0:root:/root:/bin/sh\n" +
		"cnb:x:1000:1000:cnb:/home/cnb:/bin/sh\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	group       = "root:x:0:\ncnb:x:1000:\nnogroup:x:65534:\n"
	nsswitch    = "passwd: files\ngroup: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n"
	osRelease   = "PRETTY_NAME=\"skiff base (Debian GNU/Linux 12 packages)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n"
	hostsFile   = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	cnbLauncher = "cnb/lifecycle/launcher"
)

// lifecyclePhases are the names the lifecycle binary answers to.
var lifecyclePhases = []string{"analyzer", "detector", "restorer", "builder", "exporter", "rebaser", "creator", "extender"}

// baseLayer is the run image's only layer and the build image's first:
// the run packages on a merged-/usr tree, the users, a CA bundle and
// BusyBox's applets as links in /usr/bin (where no package has the name).
func baseLayer(ctx context.Context, l *layerWriter, debs []string, tmpDir string) error {
	if err := writeUsrLinks(l); err != nil {
		return err
	}
	got, err := unpackDebs(ctx, l, debs)
	if err != nil {
		return err
	}
	applets, err := busyboxApplets(ctx, tmpDir, got.busybox)
	if err != nil {
		return err
	}
	for _, a := range applets {
		if _, ok := l.has("usr/bin/" + a); !ok && a != "busybox" {
			if err := l.symlink("usr/bin/"+a, "busybox"); err != nil {
				return err
			}
		}
	}
	for _, f := range []struct {
		path, content string
	}{
		{"etc/passwd", passwd}, {"etc/group", group}, {"etc/nsswitch.conf", nsswitch},
		{"etc/os-release", osRelease}, {"etc/hosts", hostsFile},
	} {
		if err := l.file(f.path, 0o644, root, []byte(f.content)); err != nil {
			return err
		}
	}
	if err := l.file("etc/ssl/certs/ca-certificates.crt", 0o644, root, caBundle(got.certs)); err != nil {
		return err
	}
	if err := l.dir("tmp", 0o1777, root); err != nil {
		return err
	}
	if err := l.dir("root", 0o700, root); err != nil {
		return err
	}
	return l.dir("home/cnb", 0o755, cnb)
}

// goToolchainLayer installs goroot as /usr/local/go and the standard
// library's build cache, writable by the cnb user.
func goToolchainLayer(l *layerWriter, goroot, goCache string) error {
	if err := l.hostTree(goroot, "usr/local/go", root, time.Time{}); err != nil {
		return err
	}
	return l.hostTree(goCache, goCacheDir, cnb, goCacheTime)
}

// nodeLayer installs node and the global node_modules (npm, corepack)
// with npm and npx links, as the nodejs package lays them out.
func nodeLayer(l *layerWriter, nodeBin, nodeModules string) error {
	if err := l.hostFile(nodeBin, "usr/bin/node", root, time.Time{}); err != nil {
		return err
	}
	if err := l.hostTree(nodeModules, "usr/lib/node_modules", root, time.Time{}); err != nil {
		return err
	}
	if err := l.symlink("usr/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js"); err != nil {
		return err
	}
	return l.symlink("usr/bin/npx", "../lib/node_modules/npm/bin/npx-cli.js")
}

// lifecycleLayer installs the lifecycle in /cnb/lifecycle: the multi-call
// binary, a link per phase, the launcher, their SBOMs and lifecycle.toml.
func lifecycleLayer(l *layerWriter, dir string, lc lifecycleInfo) error {
	if err := l.hostFile(filepath.Join(dir, "lifecycle"), "cnb/lifecycle/lifecycle", root, time.Time{}); err != nil {
		return err
	}
	if err := l.hostFile(filepath.Join(dir, "launcher"), cnbLauncher, root, time.Time{}); err != nil {
		return err
	}
	for _, p := range lifecyclePhases {
		if err := l.symlink("cnb/lifecycle/"+p, "lifecycle"); err != nil {
			return err
		}
	}
	for _, component := range []string{"lifecycle", "launcher"} {
		deps, err := binaryModules(filepath.Join(dir, component))
		if err != nil {
			return err
		}
		files, err := sbomFiles(component, lc.Version, deps)
		if err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(files)) {
			if err := l.file("cnb/lifecycle/"+name, 0o644, root, files[name]); err != nil {
				return err
			}
		}
	}
	return l.file("cnb/lifecycle/lifecycle.toml", 0o644, root, []byte(lifecycleTOML(lc)))
}

// buildpackLayer installs one buildpack in its /cnb/buildpacks directory,
// with the watcher of its development images as bin/skiff-watch.
func buildpackLayer(l *layerWriter, bp buildpack, watch string) error {
	if err := l.hostTree(bp.Dir, bp.installDir(), root, time.Time{}); err != nil {
		return err
	}
	return l.hostFile(watch, bp.installDir()+"/bin/skiff-watch", root, time.Time{})
}

// cnbConfigLayer writes the builder's order and run image, and the
// directories a platform mounts or fills.
func cnbConfigLayer(l *layerWriter, order []orderEntry, runImage string) error {
	for _, f := range []struct{ path, content string }{
		{"cnb/order.toml", orderTOML(order)},
		{"cnb/run.toml", runTOML(runImage)},
		{"cnb/stack.toml", stackTOML(runImage)},
	} {
		if err := l.file(f.path, 0o644, root, []byte(f.content)); err != nil {
			return err
		}
	}
	for _, d := range []string{"workspace", "layers"} {
		if err := l.dir(d, 0o755, cnb); err != nil {
			return err
		}
	}
	return l.dir("platform/env", 0o755, root)
}

// fileDigest is the hex SHA-256 of a file's content.
func fileDigest(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
