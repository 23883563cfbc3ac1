package image

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestStaticBaseContents(t *testing.T) {
	t.Parallel()
	img, err := StaticBase(v1.Platform{OS: "linux", Architecture: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	certs, err := os.ReadFile(hostCACerts)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*tar.Header{}
	contents := map[string]string{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n := path.Clean(h.Name)
		files[n] = h
		b, _ := io.ReadAll(tr)
		contents[n] = string(b)
	}

	tests := []struct {
		path     string
		dir      bool
		mode     int64
		uid, gid int
		contains []string
	}{
		{path: "etc/passwd", mode: 0o644, contains: []string{"root:x:0:0:", "nonroot:x:65532:65532:nonroot:/home/nonroot:"}},
		{path: "etc/group", mode: 0o644, contains: []string{"root:x:0:", "nonroot:x:65532:"}},
		{path: "etc/nsswitch.conf", mode: 0o644, contains: []string{"hosts: files dns"}},
		{path: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, contains: []string{string(certs)}},
		{path: "tmp", dir: true, mode: 0o1777},
		{path: "home/nonroot", dir: true, mode: 0o700, uid: NonrootUID, gid: NonrootGID},
		{path: "root", dir: true, mode: 0o700},
	}
	for _, tt := range tests {
		h, ok := files[tt.path]
		if !ok {
			t.Errorf("%s is missing", tt.path)
			continue
		}
		if tt.dir != (h.Typeflag == tar.TypeDir) {
			t.Errorf("%s: type %c", tt.path, h.Typeflag)
		}
		if h.Mode != tt.mode {
			t.Errorf("%s: mode %o, want %o", tt.path, h.Mode, tt.mode)
		}
		if h.Uid != tt.uid || h.Gid != tt.gid {
			t.Errorf("%s: owner %d:%d, want %d:%d", tt.path, h.Uid, h.Gid, tt.uid, tt.gid)
		}
		if h.ModTime.Unix() != 0 {
			t.Errorf("%s: mtime %v, want the epoch", tt.path, h.ModTime)
		}
		for _, c := range tt.contains {
			if !strings.Contains(contents[tt.path], c) {
				t.Errorf("%s does not contain %.40q", tt.path, c)
			}
		}
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}
	if cf.Created.Unix() != 0 {
		t.Errorf("created %v, want the epoch", cf.Created)
	}
	if !containsString(cf.Config.Env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") {
		t.Errorf("env %v does not point SSL_CERT_FILE at the certificates", cf.Config.Env)
	}
}

func TestStaticBasePlatforms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   v1.Platform
		want v1.Platform
	}{
		{in: v1.Platform{}, want: v1.Platform{OS: "linux", Architecture: runtime.GOARCH}},
		{in: v1.Platform{OS: "linux", Architecture: "arm64"}, want: v1.Platform{OS: "linux", Architecture: "arm64"}},
		{in: v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, want: v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
	}
	digests := map[v1.Hash]string{}
	for _, tt := range tests {
		img, err := StaticBase(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		got := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		if !got.Equals(tt.want) {
			t.Errorf("StaticBase(%+v) is for %+v, want %+v", tt.in, got, tt.want)
		}
		d, _ := img.Digest()
		digests[d] = tt.want.String()
	}
	if len(digests) != len(tests) {
		t.Errorf("platforms share digests: %v", digests)
	}
}

// TestStaticBaseReproducible builds the image twice from scratch (past the
// cache) and compares digests.
func TestStaticBaseReproducible(t *testing.T) {
	t.Parallel()
	p := v1.Platform{OS: "linux", Architecture: "amd64"}
	a, err := staticBase(p, hostCACerts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := staticBase(p, hostCACerts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := StaticBase(p)
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	dc, _ := c.Digest()
	if da != db || da != dc {
		t.Errorf("digests differ: %s, %s, %s", da, db, dc)
	}
	la, _ := a.Layers()
	lb, _ := b.Layers()
	ra, _ := la[0].Compressed()
	rb, _ := lb[0].Compressed()
	ba, _ := io.ReadAll(ra)
	bb, _ := io.ReadAll(rb)
	if !bytes.Equal(ba, bb) {
		t.Error("compressed layers differ")
	}
}

func TestStaticBaseNoCerts(t *testing.T) {
	t.Parallel()
	_, err := staticBase(v1.Platform{OS: "linux", Architecture: "amd64"}, t.TempDir()+"/none.crt")
	if err == nil || !strings.Contains(err.Error(), "apt-get install ca-certificates") {
		t.Errorf("error %v does not say how to get certificates", err)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
