//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// TestGlobalConfigDefaultRepo sets default-repo for the cluster's kube
// context with skiff config set, as a Skaffold user does, and checks that
// skiff build pushes there: the tag is under that repo and the registry
// has the image.
func TestGlobalConfigDefaultRepo(t *testing.T) {
	c := newCluster(t)
	registry := c.localRegistry(t)
	raw, err := clientcmd.NewDefaultClientConfigLoadingRules().Load()
	if err != nil || raw.CurrentContext == "" {
		t.Fatalf("the kubeconfig's current context: %q, %v", raw.CurrentContext, err)
	}
	dir := t.TempDir()
	prefix := "gcfg-" + randomSuffix(t)
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: app\n",
		"Dockerfile":    "FROM scratch\nCOPY a.txt /a.txt\n",
		"a.txt":         prefix + "\n",
	})
	globalConfig := filepath.Join(t.TempDir(), "config")
	repo := registry + "/" + prefix
	out, stderr, err := skiff(t, dir, "config", "set", "default-repo", repo, "-k", raw.CurrentContext, "-c", globalConfig)
	if err != nil {
		t.Fatalf("skiff config set: %v\n%s", err, stderr)
	}
	if want := "set value default-repo to " + repo + " for context " + raw.CurrentContext + "\n"; out != want {
		t.Errorf("skiff config set printed %q, want %q", out, want)
	}
	builds := filepath.Join(t.TempDir(), "builds.json")
	if _, stderr, err := skiff(t, dir, "build", "--config", globalConfig, "--cache-artifacts=false", "--file-output", builds); err != nil {
		t.Fatalf("skiff build: %v\n%s", err, stderr)
	}
	tag := readBuilds(t, builds)["app"]
	if !strings.HasPrefix(tag, repo+"/app:") {
		t.Fatalf("built %q, want a tag under the global config's default-repo %s", tag, repo)
	}
	resp, err := http.Get("http://" + registry + "/v2/" + prefix + "/app/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Tags []string `json:"tags"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the registry's tags of %s/app: %s, %v", prefix, resp.Status, err)
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(tag, repo+"/app:"), "@")
	if !slices.Contains(list.Tags, name) {
		t.Errorf("the registry has tags %q of %s/app, want %q", list.Tags, prefix, name)
	}
}
