package render

import (
	"testing"

	k8s "k8s.io/apimachinery/pkg/runtime/schema"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

func TestImageReplace(t *testing.T) {
	t.Parallel()
	r := newImageReplacer([]artifact.Image{
		{Name: "hello", Ref: "reg.local/hello:v1@sha256:aaaa"},
		{Name: "gcr.io/x/web", Ref: "gcr.io/x/web:v2"},
		{Name: "ko://example.com/cmd/App", Ref: "reg.local/app:v3"},
		{Name: "localhost:5000/svc", Ref: "localhost:5000/svc:v4"},
	})
	digest := "@sha256:" + "0123456789012345678901234567890123456789012345678901234567890123"
	tests := []struct {
		image, want string
	}{
		{"hello", "reg.local/hello:v1@sha256:aaaa"},
		{"hello:latest", "reg.local/hello:v1@sha256:aaaa"},
		{"Hello:Dev", "reg.local/hello:v1@sha256:aaaa"},
		{"hello" + digest, ""},
		{"hello:v0" + digest, ""},
		{"gcr.io/x/web:old", "gcr.io/x/web:v2"},
		{"gcr.io/x/web-api", ""},
		{"docker.io/library/hello", ""},
		{"ko://example.com/cmd/App", "reg.local/app:v3"},
		{"example.com/cmd/app", "reg.local/app:v3"},
		{"localhost:5000/svc:1", "localhost:5000/svc:v4"},
		{"nginx:1.27", ""},
		{"not a reference", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, ok := r.replace(tc.image)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("replace(%q) = %q, %v; want %q", tc.image, got, ok, tc.want)
		}
	}
}

func TestReplaceImagesSelector(t *testing.T) {
	t.Parallel()
	sel, err := newSelector([]*config.Config{{SkaffoldConfig: schema.SkaffoldConfig{Pipeline: schema.Pipeline{
		ResourceSelector: schema.ResourceSelectorConfig{
			Allow: []schema.ResourceFilter{
				{GroupKind: "Build.ci.example.com", Image: []string{".spec.steps.*.image", ".spec.base"}},
				{GroupKind: "Fleet.agones.dev", Image: []string{".*"}},
			},
			Deny: []schema.ResourceFilter{{GroupKind: "Job.batch", Image: []string{".*"}}},
		},
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	r := newImageReplacer([]artifact.Image{{Name: "app", Ref: "reg/app:v1"}})
	pod := func() map[string]any {
		return map[string]any{"spec": map[string]any{
			"image":      "app",
			"base":       "app",
			"containers": []any{map[string]any{"image": "app", "env": []any{map[string]any{"name": "IMAGE", "value": "app"}}}},
			"steps":      []any{map[string]any{"image": "app"}},
		}}
	}
	tests := []struct {
		name string
		gk   k8s.GroupKind
		want map[string]string // field -> value after replacement
	}{
		{"allowlisted kind: every image field", k8s.GroupKind{Group: "apps", Kind: "Deployment"},
			map[string]string{"image": "reg/app:v1", "base": "app", "container": "reg/app:v1", "env": "app", "step": "reg/app:v1"}},
		{"allowed by path only", k8s.GroupKind{Group: "ci.example.com", Kind: "Build"},
			map[string]string{"image": "app", "base": "reg/app:v1", "container": "app", "env": "app", "step": "reg/app:v1"}},
		{"denied", k8s.GroupKind{Group: "batch", Kind: "Job"},
			map[string]string{"image": "app", "base": "app", "container": "app", "env": "app", "step": "app"}},
		{"unknown kind", k8s.GroupKind{Group: "other.example.com", Kind: "Thing"},
			map[string]string{"image": "app", "base": "app", "container": "app", "env": "app", "step": "app"}},
		{"Config Connector", k8s.GroupKind{Group: "run.cnrm.cloud.google.com", Kind: "RunService"},
			map[string]string{"image": "reg/app:v1", "base": "app", "container": "reg/app:v1", "env": "app", "step": "reg/app:v1"}},
	}
	for _, tc := range tests {
		obj := pod()
		r.replaceImages(obj, tc.gk, sel)
		spec := obj["spec"].(map[string]any)
		container := spec["containers"].([]any)[0].(map[string]any)
		got := map[string]string{
			"image":     spec["image"].(string),
			"base":      spec["base"].(string),
			"container": container["image"].(string),
			"env":       container["env"].([]any)[0].(map[string]any)["value"].(string),
			"step":      spec["steps"].([]any)[0].(map[string]any)["image"].(string),
		}
		for k, want := range tc.want {
			if got[k] != want {
				t.Errorf("%s: %s = %q, want %q", tc.name, k, got[k], want)
			}
		}
	}
}

// hex64 makes a well-formed sha256 digest.
const hex64 = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"

func TestImageVars(t *testing.T) {
	t.Parallel()
	vars := imageVars([]artifact.Image{
		{Name: "web", Ref: "localhost:5000/web:v1"},
		{Name: "gcr.io/x/my-api", Ref: "gcr.io/x/my-api:v2@sha256:" + hex64},
	})
	want := map[string]string{
		"IMAGE_NAME":                           "web",
		"IMAGE_REPO":                           "localhost:5000/web",
		"IMAGE_TAG":                            "v1",
		"IMAGE_DIGEST":                         "",
		"IMAGE_REPO_web":                       "localhost:5000/web",
		"IMAGE_DOMAIN_web":                     "localhost:5000",
		"IMAGE_REPO_NO_DOMAIN_web":             "web",
		"IMAGE_FULLY_QUALIFIED_web":            "localhost:5000/web:v1",
		"DIGEST_web":                           "localhost:5000/web:v1",
		"IMAGE_NAME2":                          "gcr.io/x/my-api",
		"IMAGE_REPO2":                          "gcr.io/x/my-api",
		"IMAGE_TAG_gcr_io_x_my_api":            "v2",
		"IMAGE_DIGEST_gcr_io_x_my_api":         "sha256:" + hex64,
		"IMAGE_DOMAIN_gcr_io_x_my_api":         "gcr.io",
		"IMAGE_REPO_NO_DOMAIN_gcr_io_x_my_api": "x/my-api",
		"IMAGE_FULLY_QUALIFIED2":               "gcr.io/x/my-api:v2@sha256:" + hex64,
	}
	for k, v := range want {
		if got, ok := vars[k]; !ok || got != v {
			t.Errorf("%s = %q (set: %v), want %q", k, got, ok, v)
		}
	}
}

func TestSetValueTemplates(t *testing.T) {
	t.Parallel()
	r := &renderer{opts: Options{
		Images: []artifact.Image{{Name: "web", Ref: "reg/web:v1"}, {Name: "api", Ref: "reg/api:v2@sha256:" + hex64}},
		Env:    config.Env{"TEAM": "shop"},
	}}
	vals, err := r.helmValues(&config.Config{Dir: t.TempDir()}, schema.HelmRelease{
		SetValues: schema.FlatMap{"list": "{a,b}", "nested.key": "1"},
		SetValueTemplates: schema.FlatMap{
			"web.tag":           "{{.IMAGE_TAG_web}}@{{.IMAGE_DIGEST_web}}",
			"api.tag":           "{{.IMAGE_TAG_api}}@{{.IMAGE_DIGEST_api}}",
			"{{.TEAM}}.enabled": "true",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path ...string) any {
		var v any = vals
		for _, p := range path {
			v = v.(map[string]any)[p]
		}
		return v
	}
	if got := get("web", "tag"); got != "v1" {
		t.Errorf("web.tag = %v, want v1 (no dangling @)", got)
	}
	if got := get("api", "tag"); got != "v2@sha256:"+hex64 {
		t.Errorf("api.tag = %v, want v2@sha256:%s", got, hex64)
	}
	if got := get("shop", "enabled"); got != true {
		t.Errorf("shop.enabled = %#v, want true: keys are templates too, and --set types values", got)
	}
	if got := get("nested", "key"); got != int64(1) {
		t.Errorf("nested.key = %#v, want int64(1)", got)
	}
	if got, ok := get("list").([]any); !ok || len(got) != 2 {
		t.Errorf("list = %#v, want [a b]", get("list"))
	}
}
