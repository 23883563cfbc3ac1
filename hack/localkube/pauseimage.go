package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
)

// runPauseImage packs a static pause binary into a one-layer FROM-scratch
// image and writes it as a `docker save` archive, which `ctr images import`
// reads. Building it here needs no registry and no Docker daemon.
func runPauseImage(args []string) error {
	fs := flag.NewFlagSet("pause-image", flag.ContinueOnError)
	binary := fs.String("binary", "", "static pause binary to put at /pause")
	tag := fs.String("tag", "", "image reference to record, e.g. registry.k8s.io/pause:3.10")
	out := fs.String("o", "", "archive to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *binary == "" || *tag == "" || *out == "" {
		return fmt.Errorf("need -binary, -tag and -o")
	}
	program, err := os.ReadFile(*binary)
	if err != nil {
		return err
	}

	layer, err := tarOf(tarFile{name: "pause", mode: 0o755, data: program})
	if err != nil {
		return err
	}
	layerDigest := sha256.Sum256(layer)
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"config":       map[string]any{"Entrypoint": []string{"/pause"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(layerDigest[:])}},
	})
	if err != nil {
		return err
	}
	configDigest := sha256.Sum256(config)
	configName := hex.EncodeToString(configDigest[:]) + ".json"
	layerName := hex.EncodeToString(layerDigest[:]) + "/layer.tar"
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   configName,
		"RepoTags": []string{*tag},
		"Layers":   []string{layerName},
	}})
	if err != nil {
		return err
	}
	archive, err := tarOf(
		tarFile{name: configName, mode: 0o644, data: config},
		tarFile{name: layerName, mode: 0o644, data: layer},
		tarFile{name: "manifest.json", mode: 0o644, data: manifest},
	)
	if err != nil {
		return err
	}
	return writeFileAtomic(*out, archive, 0o644)
}

// tarFile is one regular file of a tar archive.
type tarFile struct {
	name string
	mode int64
	data []byte
}

// tarOf returns a tar archive of files with zero timestamps, so the same
// inputs always give the same bytes and digests. Parent directories are
// added for nested names.
func tarOf(files ...tarFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		for i := 0; i < len(f.name); i++ {
			if f.name[i] == '/' && !dirs[f.name[:i]] {
				dirs[f.name[:i]] = true
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: f.name[:i+1], Mode: 0o755, Format: tar.FormatPAX}); err != nil {
					return nil, err
				}
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
