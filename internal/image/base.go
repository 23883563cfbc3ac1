package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// hostCACerts is the host's CA bundle (Debian's ca-certificates) that the
// static base carries.
const hostCACerts = "/etc/ssl/certs/ca-certificates.crt"

// Users of the static base, as in distroless: root and nonroot.
const (
	NonrootUID = 65532
	NonrootGID = 65532
)

const (
	basePasswd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	baseGroup = "root:x:0:\n" +
		"nobody:x:65534:\n" +
		"tty:x:5:\n" +
		"staff:x:50:\n" +
		"nonroot:x:65532:\n"
	// nsswitch.conf makes Go's resolver and glibc look in /etc/hosts first.
	baseNsswitch = "hosts: files dns\n"
)

// baseTime is the timestamp of every file and of the config: fixed, so the
// image is the same bytes every time.
var baseTime = time.Unix(0, 0).UTC()

var staticBases sync.Map // platform string -> v1.Image

// StaticBase returns skiff's base image for Go (ko-style) builds,
// assembled locally because nothing can be pulled: like distroless static,
// it holds the host's CA certificates, /etc/passwd and /etc/group with
// root and nonroot (65532), /etc/nsswitch.conf, /tmp (1777) and
// /home/nonroot; it runs as root unless the build sets a user. It is for
// platform (an empty OS means linux, an empty architecture this
// machine's), and reproducible: its digest is the same across runs on a
// machine.
func StaticBase(platform v1.Platform) (v1.Image, error) {
	if platform.OS == "" {
		platform.OS = "linux"
	}
	if platform.Architecture == "" {
		platform.Architecture = runtime.GOARCH
	}
	key := platform.String()
	if img, ok := staticBases.Load(key); ok {
		return img.(v1.Image), nil
	}
	img, err := staticBase(platform, hostCACerts)
	if err != nil {
		return nil, err
	}
	stored, _ := staticBases.LoadOrStore(key, img)
	return stored.(v1.Image), nil
}

func staticBase(platform v1.Platform, caFile string) (v1.Image, error) {
	certs, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("assembling the static base image: reading the CA certificates: %w; install them (apt-get install ca-certificates) or set fromImage for the artifact", err)
	}
	tarBytes, err := baseTar(certs)
	if err != nil {
		return nil, fmt.Errorf("assembling the static base image: %w", err)
	}
	img, err := SingleLayer(tarBytes, v1.History{
		Created:   v1.Time{Time: baseTime},
		CreatedBy: "skiff static base",
		Comment:   "CA certificates, passwd, group, nsswitch.conf, /tmp, /home/nonroot",
	}, func(cf *v1.ConfigFile) {
		cf.OS = platform.OS
		cf.Architecture = platform.Architecture
		cf.Variant = platform.Variant
		cf.OSVersion = platform.OSVersion
		cf.OSFeatures = platform.OSFeatures
		cf.Config.Env = []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"SSL_CERT_FILE=" + hostCACerts,
		}
		cf.Config.WorkingDir = "/"
	})
	if err != nil {
		return nil, fmt.Errorf("assembling the static base image: %w", err)
	}
	return img, nil
}

// baseTar writes the base layer: directories before their files, fixed
// owners, modes and times.
func baseTar(certs []byte) ([]byte, error) {
	type entry struct {
		name     string
		mode     int64
		uid, gid int
		data     []byte
		dir      bool
	}
	entries := []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, data: []byte(baseGroup)},
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte(baseNsswitch)},
		{name: "etc/passwd", mode: 0o644, data: []byte(basePasswd)},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: certs},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, uid: NonrootUID, gid: NonrootGID, dir: true},
		{name: "root/", mode: 0o700, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: baseTime,
		}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
