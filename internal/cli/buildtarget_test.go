package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/log"
)

// TestBuildTargetAsksTheClusterDeployedTo checks that the images go to the
// registry that the cluster of deploy.kubeContext advertises (KEP-1755),
// the cluster the deploy goes to, not to the current context's cluster.
func TestBuildTargetAsksTheClusterDeployedTo(t *testing.T) {
	// Not parallel: client-go reads KUBECONFIG from the process environment.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/namespaces/kube-public/configmaps/local-registry-hosting" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"local-registry-hosting","namespace":"kube-public"},"data":{"localRegistryHosting.v1":"host: \"127.0.0.1:5999\"\n"}}`)
	}))
	defer api.Close()
	// The current context's cluster answers nothing: a port where nothing listens.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: current
  cluster: {server: "`+deadURL+`"}
- name: deployed
  cluster: {server: "`+api.URL+`"}
users:
- name: u
  user: {}
contexts:
- name: current
  context: {cluster: current, user: u}
- name: deployed
  context: {cluster: deployed, user: u}
current-context: current
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kubeconfig)

	c := &config.Config{}
	c.Deploy.KubeContext = "deployed"
	p := &config.Project{Configs: []*config.Config{c}}
	a := &app{log: log.New(io.Discard, log.LevelWarn)}
	push, repo := a.buildTarget(t.Context(), p, &BuildOptions{})
	if !push || repo != "127.0.0.1:5999" {
		t.Errorf("buildTarget = push %v, default repo %q; want a push to 127.0.0.1:5999, the registry of deploy.kubeContext's cluster", push, repo)
	}

	// --kube-context wins over deploy.kubeContext, as for the deploy.
	a.global.kubeContext = "current"
	if push, repo := a.buildTarget(t.Context(), p, &BuildOptions{}); push || repo != "" {
		t.Errorf("with --kube-context current, buildTarget = push %v, default repo %q; want a load into the daemon (that cluster advertises no registry)", push, repo)
	}
}
