package dockerbuild

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

func TestSecretValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "token.txt")
	if err := os.WriteFile(file, []byte("from-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := config.Env{"TOKEN": "from-env", "IMPLICIT": "by-id"}
	got, err := secretValues([]*schema.DockerSecret{
		{ID: "a", Env: "TOKEN"},
		{ID: "b", Source: file},
		{ID: "IMPLICIT"},
		{ID: file}, // no source and no such variable: the id is the file
	}, env)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "from-env", "b": "from-file", "IMPLICIT": "by-id", file: "from-file"}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("secret %s = %q, want %q", k, got[k], v)
		}
	}

	for _, tt := range []struct {
		secret *schema.DockerSecret
		want   string
	}{
		{&schema.DockerSecret{ID: "x", Env: "UNSET"}, "UNSET, which is not set"},
		{&schema.DockerSecret{ID: "x", Source: filepath.Join(dir, "nope")}, filepath.Join(dir, "nope")},
		{&schema.DockerSecret{Env: "TOKEN"}, "has no id"},
	} {
		if _, err := secretValues([]*schema.DockerSecret{tt.secret}, env); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("secret %+v: error %v, want one containing %q", tt.secret, err, tt.want)
		}
	}
}

func TestParseSSH(t *testing.T) {
	t.Parallel()
	for spec, want := range map[string][]string{
		"default":                  nil,
		"default=/tmp/agent.sock":  {"/tmp/agent.sock"},
		"github=/k/id_a, /k/id_b ": {"/k/id_a", "/k/id_b"},
	} {
		cfg, err := parseSSH(spec)
		if err != nil || !slices.Equal(cfg.Paths, want) {
			t.Errorf("parseSSH(%q) = %+v, %v; want paths %q", spec, cfg, err, want)
		}
	}
	for _, bad := range []string{"", "=x", "default=", "a,b"} {
		if _, err := parseSSH(bad); err == nil {
			t.Errorf("parseSSH(%q) accepted", bad)
		}
	}
}
