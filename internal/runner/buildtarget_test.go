package runner

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/log"
)

// TestBuildTargetAsksTheClusterDeployedTo checks that the images go to the
// registry that the cluster of deploy.kubeContext advertises (KEP-1755),
// the cluster the deploy goes to, not to the current context's cluster.
func TestBuildTargetAsksTheClusterDeployedTo(t *testing.T) {
	// Not parallel: client-go reads KUBECONFIG from the process environment.
	var requests atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
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
	push, repo := New(Options{Project: p}).buildTarget(t.Context(), BuildOptions{})
	if !push || repo != "127.0.0.1:5999" {
		t.Errorf("buildTarget = push %v, default repo %q; want a push to 127.0.0.1:5999, the registry of deploy.kubeContext's cluster", push, repo)
	}

	// Offline (render --offline), the cluster is not asked.
	requests.Store(0)
	if push, repo := New(Options{Project: p}).buildTarget(t.Context(), BuildOptions{Offline: true}); push || repo != "" || requests.Load() != 0 {
		t.Errorf("offline, buildTarget = push %v, default repo %q, %d requests to the cluster; want no push, no repo, no request", push, repo, requests.Load())
	}

	// --kube-context wins over deploy.kubeContext, as for the deploy.
	if push, repo := New(Options{Project: p, KubeContext: "current"}).buildTarget(t.Context(), BuildOptions{}); push || repo != "" {
		t.Errorf("with --kube-context current, buildTarget = push %v, default repo %q; want a load into the daemon (that cluster advertises no registry)", push, repo)
	}
}

// The docker config file errors name is the one the environment selects
// (issue 11 item 15).
func TestDockerConfigFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		environ []string
		want    string
	}{
		{nil, "~/.docker/config.json"},
		{[]string{"DOCKER_CONFIG=/work/creds"}, "/work/creds/config.json"},
		{[]string{"DOCKER_CONFIG="}, "~/.docker/config.json"},
	} {
		r := New(Options{Project: &config.Project{}, Environ: tc.environ})
		if got := r.dockerConfigFile(); got != tc.want {
			t.Errorf("environment %q: %s, want %s", tc.environ, got, tc.want)
		}
	}
}

func TestGetenvTakesTheLastValue(t *testing.T) {
	t.Parallel()
	r := New(Options{Project: &config.Project{}, Environ: []string{"SKIFF_AGENT=/a", "OTHER=x", "SKIFF_AGENT=/b"}})
	if got := r.getenv("SKIFF_AGENT"); got != "/b" {
		t.Errorf("getenv(SKIFF_AGENT) = %q, want /b", got)
	}
	if got := r.getenv("MISSING"); got != "" {
		t.Errorf("getenv(MISSING) = %q, want empty", got)
	}
}

// The global config's local-cluster decides whether images are pushed
// when neither --push nor build.local.push does, before the cluster is
// asked (here there is no cluster to ask).
func TestBuildTargetLocalCluster(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	for _, tc := range []struct {
		name        string
		local       *bool
		projectPush *bool
		flagPush    *bool
		want        bool
	}{
		{name: "local-cluster false pushes", local: &no, want: true},
		{name: "local-cluster true loads", local: &yes, want: false},
		{name: "build.local.push wins", local: &no, projectPush: &no, want: false},
		{name: "--push wins", local: &yes, flagPush: &yes, want: true},
	} {
		c := &config.Config{}
		c.Build.LocalBuild = &schema.LocalBuild{Push: tc.projectPush}
		p := &config.Project{Configs: []*config.Config{c}, User: config.ContextConfig{LocalCluster: tc.local}}
		r := New(Options{Project: p, Kubeconfig: filepath.Join(t.TempDir(), "none"), Log: log.New(io.Discard, log.LevelInfo)})
		if push, _ := r.buildTarget(t.Context(), BuildOptions{Push: tc.flagPush}); push != tc.want {
			t.Errorf("%s: push = %v, want %v", tc.name, push, tc.want)
		}
	}
}
