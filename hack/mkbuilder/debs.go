package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// usrMerged maps the top-level directories that are links into /usr on a
// merged-/usr system (Debian 12's default) to where they point. Package
// files under them are written below /usr, so that unpacking the links and
// the packages in any order gives the same tree.
var usrMerged = map[string]string{"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}

// mergeUsr returns where the package path p goes on a merged-/usr system.
func mergeUsr(p string) string {
	p = cleanPath(p)
	top, rest, _ := strings.Cut(p, "/")
	if to, ok := usrMerged[top]; ok {
		return path.Join(to, rest)
	}
	return p
}

// writeUsrLinks writes the merged-/usr directories and the links to them.
func writeUsrLinks(l *layerWriter) error {
	for _, top := range slices.Sorted(maps.Keys(usrMerged)) {
		if err := l.dir(usrMerged[top], 0o755, root); err != nil {
			return err
		}
		if err := l.symlink(top, usrMerged[top]); err != nil {
			return err
		}
	}
	return nil
}

// debFiles returns the .deb file of each package in dir, downloading the
// missing ones with apt-get download. A package is looked up by the
// <name>_ prefix that apt-get gives its files.
func debFiles(ctx context.Context, dir string, packages []string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	find := func(pkg string) string {
		m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
		if len(m) == 0 {
			return ""
		}
		sort.Strings(m)
		return m[len(m)-1]
	}
	var missing []string
	for _, p := range packages {
		if find(p) == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		cmd := exec.CommandContext(ctx, "apt-get", append([]string{"download", "-q"}, missing...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("apt-get download %s in %s failed: %w\n%s\nIf the package lists are missing or old, run apt-get update and try again", strings.Join(missing, " "), dir, err, out)
		}
	}
	files := make([]string, len(packages))
	for i, p := range packages {
		if files[i] = find(p); files[i] == "" {
			return nil, fmt.Errorf("apt-get download %s left no %s_*.deb in %s", p, p, dir)
		}
	}
	return files, nil
}

// debContents is what unpacking packages gathered besides the layer:
// the CA certificates that update-ca-certificates would bundle and the
// BusyBox binary, whose applets get links.
type debContents struct {
	certs   map[string][]byte // path -> PEM
	busybox []byte
}

// unpackDebs writes the files of each .deb into the layer, as dpkg-deb -x
// would unpack them on a merged-/usr system (no maintainer scripts run).
func unpackDebs(ctx context.Context, l *layerWriter, debs []string) (debContents, error) {
	got := debContents{certs: map[string][]byte{}}
	for _, deb := range debs {
		if err := unpackDeb(ctx, l, deb, &got); err != nil {
			return got, err
		}
	}
	return got, nil
}

func unpackDeb(ctx context.Context, l *layerWriter, deb string, got *debContents) error {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w", deb, err)
	}
	err = copyDebTar(l, tar.NewReader(out), got)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("unpacking %s: %w", deb, err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w: %s", deb, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// copyDebTar copies a package's data tar into the layer, moving paths
// below /usr (see mergeUsr). A relative symbolic link that would point
// elsewhere from its new place is made absolute.
func copyDebTar(l *layerWriter, tr *tar.Reader, got *debContents) error {
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		orig := cleanPath(hdr.Name)
		name := mergeUsr(orig)
		if hdr.Typeflag == tar.TypeSymlink && name != orig && !path.IsAbs(hdr.Linkname) {
			was := path.Join("/", path.Dir(orig), hdr.Linkname)
			if mergeUsr(was) != mergeUsr(path.Join("/", path.Dir(name), hdr.Linkname)) {
				hdr.Linkname = was
			}
		}
		if hdr.Typeflag == tar.TypeLink {
			hdr.Linkname = mergeUsr(hdr.Linkname)
		}
		hdr.Name = name
		var body io.Reader = tr
		if hdr.Typeflag == tar.TypeReg && (strings.HasPrefix(name, "usr/share/ca-certificates/") && strings.HasSuffix(name, ".crt") || name == "usr/bin/busybox") {
			b, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			if name == "usr/bin/busybox" {
				got.busybox = b
			} else {
				got.certs[name] = b
			}
			body = bytes.NewReader(b)
		}
		if err := l.write(hdr, body, false); err != nil {
			return err
		}
	}
}

// caBundle concatenates the certificates in path order, as
// update-ca-certificates writes /etc/ssl/certs/ca-certificates.crt.
func caBundle(certs map[string][]byte) []byte {
	var b bytes.Buffer
	for _, p := range slices.Sorted(maps.Keys(certs)) {
		b.Write(certs[p])
		if n := b.Len(); n > 0 && b.Bytes()[n-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// busyboxApplets runs the BusyBox binary to list its applets.
func busyboxApplets(ctx context.Context, tmpDir string, busybox []byte) ([]string, error) {
	if len(busybox) == 0 {
		return nil, errors.New("busybox-static did not contain /bin/busybox")
	}
	f, err := os.CreateTemp(tmpDir, "busybox.*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(busybox); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Chmod(0o755); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, f.Name(), "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list: %w", err)
	}
	return strings.Fields(string(out)), nil
}
