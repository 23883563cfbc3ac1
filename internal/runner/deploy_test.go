package runner

import (
	"strings"
	"testing"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/sync/deliver"
)

// The agent goes into the pods of the images with sync rules, until their
// containers are seen to sync through tar, and never into those of
// development images, which carry it.
func TestInjectAgentLeavesOutImagesThatSyncThroughTar(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	synced := func(a *schema.Artifact) *schema.Artifact {
		a.Sync = &schema.Sync{Manual: []*schema.SyncRule{{Src: "**", Dest: "/app"}}}
		return a
	}
	p := &config.Project{Configs: []*config.Config{testConfig(dir,
		synced(dockerArtifact("web", dir, "")),
		synced(dockerArtifact("api", dir, "")),
		dockerArtifact("db", dir, ""),
	)}}
	r := New(Options{Project: p})
	r.agentWanted, r.agentTried, r.agent = true, true, "registry/skiff-agent@sha256:0"
	images := []artifact.Image{{Name: "web", Ref: "registry/web:1"}, {Name: "api", Ref: "registry/api:1"}, {Name: "db", Ref: "registry/db:1"}}
	deployment := func(name, image string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ` + name + `}
spec:
  selector: {matchLabels: {app: ` + name + `}}
  template:
    metadata: {labels: {app: ` + name + `}}
    spec:
      containers: [{name: app, image: "` + image + `"}]
`
	}
	withAgent := func() []string {
		t.Helper()
		var docs []string
		for _, im := range images {
			docs = append(docs, deployment(im.Name, im.Ref))
		}
		ms, err := render.Parse("k8s.yaml", []byte(strings.Join(docs, "---\n")))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.injectAgent(t.Context(), ms, images); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			y, err := render.YAML([]render.Manifest{m})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(y), deliver.InitContainerName) {
				out = append(out, m.Object.GetName())
			}
		}
		return out
	}
	if got := withAgent(); strings.Join(got, ",") != "web,api" {
		t.Errorf("agent in %v, want web and api", got)
	}
	r.syncsThroughTar("web", true)
	if got := withAgent(); strings.Join(got, ",") != "api" {
		t.Errorf("after web synced through tar: agent in %v, want api only", got)
	}
	r.syncsThroughTar("web", false)
	if got := withAgent(); strings.Join(got, ",") != "web,api" {
		t.Errorf("after web's tar went missing: agent in %v, want web and api", got)
	}
	images[1].Ref = "registry/api:1-skiff-dev@sha256:1"
	r.layered[images[1].Ref] = true
	if got := withAgent(); strings.Join(got, ",") != "web" {
		t.Errorf("with api's development image: agent in %v, want web only", got)
	}
}
