package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// LoadFile and CurrentContext read the kubeconfig file given
// (--kubeconfig), whatever KUBECONFIG names.
func TestLoadFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "kubeconfig")
	const kc = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
contexts:
- name: mine
  context: {cluster: c, user: u, namespace: ns1}
current-context: mine
`
	if err := os.WriteFile(file, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadFile(file, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Context != "mine" || cfg.Namespace != "ns1" || cfg.REST.Host != "https://127.0.0.1:1" {
		t.Errorf("loaded %+v", cfg)
	}
	if ctx, err := CurrentContext(file); err != nil || ctx != "mine" {
		t.Errorf("CurrentContext = %q, %v", ctx, err)
	}
	if _, err := LoadFile(file, "other"); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("an unknown context: %v, want an error naming %s", err, file)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing"), ""); err == nil {
		t.Error("a missing kubeconfig file loaded")
	}
}

// A kubeconfig that sets no current context gives "" without an error, as
// Skaffold's profile activation reads it: profiles activated by
// kubeContext stay inactive instead of failing the whole load.
func TestCurrentContextUnset(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "kubeconfig")
	const kc = `apiVersion: v1
kind: Config
contexts:
- name: mine
  context: {cluster: c, user: u}
`
	if err := os.WriteFile(file, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	if ctx, err := CurrentContext(file); err != nil || ctx != "" {
		t.Errorf("CurrentContext = %q, %v; want \"\", nil", ctx, err)
	}
}
