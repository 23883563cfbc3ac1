package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// entry is what a test checks of a tar entry.
type entry struct {
	name     string
	typ      byte
	mode     int64
	uid      int
	linkname string
	body     string
}

func readTar(t *testing.T, r io.Reader) []entry {
	t.Helper()
	var got []entry
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.ModTime.Equal(epoch) && !hdr.ModTime.Equal(goCacheTime) {
			t.Errorf("%s has time %s, want the fixed epoch", hdr.Name, hdr.ModTime)
		}
		body, _ := io.ReadAll(tr)
		got = append(got, entry{hdr.Name, hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Linkname, string(body)})
	}
}

func layerEntries(t *testing.T, fill func(*layerWriter) error) []entry {
	t.Helper()
	var buf bytes.Buffer
	l := newLayerWriter(&buf)
	if err := fill(l); err != nil {
		t.Fatal(err)
	}
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	return readTar(t, &buf)
}

// The layer writer adds missing parent directories, writes each path once
// (the first wins) and gives every entry the fixed time.
func TestLayerWriter(t *testing.T) {
	t.Parallel()
	got := layerEntries(t, func(l *layerWriter) error {
		if err := l.file("/etc/passwd", 0o644, root, []byte("first")); err != nil {
			return err
		}
		if err := l.file("./etc/passwd", 0o600, root, []byte("second")); err != nil {
			return err
		}
		if err := l.dir("home/cnb", 0o755, cnb); err != nil {
			return err
		}
		if err := l.write(&tar.Header{Typeflag: tar.TypeReg, Name: "tmp/x", Mode: 0o644, Size: 1, ModTime: time.Now(), Uname: "someone"}, strings.NewReader("x"), false); err != nil {
			return err
		}
		return l.symlink("bin", "usr/bin")
	})
	want := []entry{
		{"etc/", tar.TypeDir, 0o755, 0, "", ""},
		{"etc/passwd", tar.TypeReg, 0o644, 0, "", "first"},
		{"home/", tar.TypeDir, 0o755, 0, "", ""},
		{"home/cnb/", tar.TypeDir, 0o755, cnbUID, "", ""},
		{"tmp/", tar.TypeDir, 0o755, 0, "", ""},
		{"tmp/x", tar.TypeReg, 0o644, 0, "", "x"},
		{"bin", tar.TypeSymlink, 0o777, 0, "usr/bin", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries:\n got %v\nwant %v", got, want)
	}
}

func TestHostTree(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "bin", "build"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("build", filepath.Join(src, "bin", "detect")); err != nil {
		t.Fatal(err)
	}
	got := layerEntries(t, func(l *layerWriter) error { return l.hostTree(src, "cnb/buildpacks/x/1", root, time.Time{}) })
	want := []entry{
		{"cnb/", tar.TypeDir, 0o755, 0, "", ""},
		{"cnb/buildpacks/", tar.TypeDir, 0o755, 0, "", ""},
		{"cnb/buildpacks/x/", tar.TypeDir, 0o755, 0, "", ""},
		{"cnb/buildpacks/x/1/", tar.TypeDir, 0o755, 0, "", ""},
		{"cnb/buildpacks/x/1/bin/", tar.TypeDir, 0o755, 0, "", ""},
		{"cnb/buildpacks/x/1/bin/build", tar.TypeReg, 0o755, 0, "", "#!/bin/sh\n"},
		{"cnb/buildpacks/x/1/bin/detect", tar.TypeSymlink, 0o777, 0, "build", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries:\n got %v\nwant %v", got, want)
	}
}

func TestMergeUsr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"./lib/x86_64-linux-gnu/libc.so.6": "usr/lib/x86_64-linux-gnu/libc.so.6",
		"./bin/bash":                       "usr/bin/bash",
		"./lib64":                          "usr/lib64",
		"./usr/bin/env":                    "usr/bin/env",
		"./library/x":                      "library/x",
		"./etc/passwd":                     "etc/passwd",
	} {
		if got := mergeUsr(in); got != want {
			t.Errorf("mergeUsr(%q) = %q, want %q", in, got, want)
		}
	}
}

// A package's data tar lands on a merged-/usr tree: what moves keeps
// pointing where it did, and CA certificates and BusyBox are kept aside.
func TestCopyDebTar(t *testing.T) {
	t.Parallel()
	var deb bytes.Buffer
	tw := tar.NewWriter(&deb)
	for _, h := range []struct {
		hdr  tar.Header
		body string
	}{
		{tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755}, ""},
		{tar.Header{Typeflag: tar.TypeDir, Name: "./lib/", Mode: 0o755}, ""},
		{tar.Header{Typeflag: tar.TypeReg, Name: "./lib/libx.so.1", Mode: 0o644}, "elf"},
		{tar.Header{Typeflag: tar.TypeSymlink, Name: "./lib/libx.so", Linkname: "libx.so.1"}, ""},
		{tar.Header{Typeflag: tar.TypeSymlink, Name: "./lib64/ld.so", Linkname: "../lib/ld.so.2"}, ""},
		{tar.Header{Typeflag: tar.TypeSymlink, Name: "./bin/up", Linkname: "../usr/lib/y"}, ""},
		{tar.Header{Typeflag: tar.TypeLink, Name: "./bin/hard", Linkname: "./lib/libx.so.1"}, ""},
		{tar.Header{Typeflag: tar.TypeReg, Name: "./bin/busybox", Mode: 0o755}, "busybox"},
		{tar.Header{Typeflag: tar.TypeReg, Name: "./usr/share/ca-certificates/mozilla/B.crt", Mode: 0o644}, "B"},
		{tar.Header{Typeflag: tar.TypeReg, Name: "./usr/share/ca-certificates/mozilla/A.crt", Mode: 0o644}, "A\n"},
	} {
		h.hdr.Size = int64(len(h.body))
		if err := tw.WriteHeader(&h.hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(h.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	got := debContents{certs: map[string][]byte{}}
	entries := layerEntries(t, func(l *layerWriter) error { return copyDebTar(l, tar.NewReader(&deb), &got) })
	links := map[string]string{}
	for _, e := range entries {
		if strings.HasPrefix(e.name, "lib") || strings.HasPrefix(e.name, "bin") {
			t.Errorf("%s was not moved below usr/", e.name)
		}
		if e.linkname != "" {
			links[e.name] = e.linkname
		}
	}
	wantLinks := map[string]string{
		"usr/lib/libx.so": "libx.so.1",
		"usr/lib64/ld.so": "../lib/ld.so.2",
		"usr/bin/up":      "/usr/lib/y",
		"usr/bin/hard":    "usr/lib/libx.so.1",
	}
	if !reflect.DeepEqual(links, wantLinks) {
		t.Errorf("links = %v, want %v", links, wantLinks)
	}
	if string(got.busybox) != "busybox" {
		t.Errorf("busybox = %q", got.busybox)
	}
	if b := string(caBundle(got.certs)); b != "A\nB\n" {
		t.Errorf("CA bundle = %q, want the certificates in path order, each ending in a newline", b)
	}
}

// The cache names a layer by its diffID, compresses it once, and gives
// back a layer whose digests are those of the cached file.
func TestLayerCache(t *testing.T) {
	t.Parallel()
	c := layerCache{dir: t.TempDir(), used: map[string]bool{}}
	fills := 0
	fill := func(l *layerWriter) error {
		fills++
		return l.file("hello", 0o644, root, []byte("hello\n"))
	}
	first, err := c.layer("test", fill)
	if err != nil {
		t.Fatal(err)
	}
	if fills != 2 {
		t.Errorf("a new layer was written %d times, want 2 (digest, then compress)", fills)
	}
	second, err := c.layer("test", fill)
	if err != nil {
		t.Fatal(err)
	}
	if fills != 3 {
		t.Errorf("a cached layer was written %d more times, want 1 (its digest)", fills-2)
	}
	d1, _ := first.Digest()
	d2, _ := second.Digest()
	diffID, _ := second.DiffID()
	if d1 != d2 {
		t.Errorf("digests differ: %s, %s", d1, d2)
	}

	rc, err := second.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	compressed, _ := io.ReadAll(rc)
	rc.Close()
	if sum := sha256.Sum256(compressed); hex.EncodeToString(sum[:]) != d2.Hex {
		t.Errorf("the cached file's digest is not the layer's digest %s", d2)
	}
	if size, _ := second.Size(); size != int64(len(compressed)) {
		t.Errorf("Size = %d, want %d", size, len(compressed))
	}
	rc, err = second.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	uncompressed, _ := io.ReadAll(rc)
	rc.Close()
	if sum := sha256.Sum256(uncompressed); hex.EncodeToString(sum[:]) != diffID.Hex {
		t.Errorf("the uncompressed tar's digest is not the diffID %s", diffID)
	}
	if e := readTar(t, bytes.NewReader(uncompressed)); len(e) != 1 || e[0].body != "hello\n" {
		t.Errorf("the layer holds %v", e)
	}

	info, err := os.Stat(filepath.Join(c.dir, diffID.Hex+".tar.gz"))
	if err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("the cached layer file: %v, %v; want mode 0644", info, err)
	}

	// A new run that does not ask for the layer removes it.
	next := layerCache{dir: c.dir, used: map[string]bool{}}
	other, err := next.layer("other", func(l *layerWriter) error { return l.file("other", 0o644, root, nil) })
	if err != nil {
		t.Fatal(err)
	}
	if err := next.prune(); err != nil {
		t.Fatal(err)
	}
	otherID, _ := other.DiffID()
	entries, _ := os.ReadDir(c.dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{otherID.Hex + ".tar.gz", otherID.Hex + ".tar.gz.digest"}; !reflect.DeepEqual(names, want) {
		t.Errorf("after prune the cache holds %v, want %v", names, want)
	}

	changing := 0
	_, err = c.layer("unstable", func(l *layerWriter) error {
		changing++
		return l.file("n", 0o644, root, []byte{byte(changing)})
	})
	if err == nil || !strings.Contains(err.Error(), "changed while it was written") {
		t.Errorf("a layer whose inputs change between writes: %v, want an error", err)
	}
}
