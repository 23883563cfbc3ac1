package initconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/config/upgrade"
)

// Artifact is a builder paired with the image it builds.
type Artifact struct {
	Builder Builder
	Image   string
	// Used says a manifest names the image (else it is only built, or
	// deployed through a generated manifest).
	Used bool
}

// CLIArtifact is one -a value in Skaffold's JSON form:
// {"builder":"Docker","payload":{"path":"web/Dockerfile"},"image":"web","context":"web"},
// or the older "path/to/Dockerfile=image".
type CLIArtifact struct {
	Builder string `json:"builder"`
	Image   string `json:"image"`
	Context string `json:"context"`
	Payload struct {
		Path string `json:"path"`
	} `json:"payload"`
}

// ParseArtifact reads one -a value.
func ParseArtifact(s string) (Artifact, error) {
	var c CLIArtifact
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		file, image, ok := strings.Cut(s, "=")
		if !ok || file == "" || image == "" || strings.Contains(image, "=") {
			return Artifact{}, fmt.Errorf("-a %q: give path/to/Dockerfile=image or JSON such as {\"builder\":\"Docker\",\"payload\":{\"path\":\"web/Dockerfile\"},\"image\":\"web\"}", s)
		}
		c = CLIArtifact{Builder: Docker, Image: image}
		c.Payload.Path = file
	}
	switch c.Builder {
	case Docker, Ko, Buildpacks:
	default:
		return Artifact{}, fmt.Errorf("-a %q: unknown builder %q; skiff init knows Docker, Ko and Buildpacks", s, c.Builder)
	}
	if c.Image == "" || c.Payload.Path == "" {
		return Artifact{}, fmt.Errorf("-a %q: give the image and payload.path", s)
	}
	p := path.Clean(strings.TrimPrefix(c.Payload.Path, "/"))
	ctx := c.Context
	if ctx == "" {
		ctx = path.Dir(p)
	}
	b := Builder{Name: c.Builder, Path: p, Context: path.Clean(ctx)}
	if c.Builder == Ko {
		b.Main = "."
	}
	return Artifact{Builder: b, Image: c.Image}, nil
}

// Pair pairs the images the manifests name with the builders: a builder
// whose directory (or main package) has the image's name builds it; when
// one builder and one image are left, they go together; a builder left
// over builds an image named after its directory. explicit (-a) pairs come
// first and replace the builders found for the same file.
func (a *Analysis) Pair(explicit []Artifact) []Artifact {
	var out []Artifact
	images := slices.Clone(a.Images)
	take := func(img string) {
		images = slices.DeleteFunc(images, func(i string) bool { return i == img })
	}
	for _, e := range explicit {
		e.Used = slices.Contains(a.Images, e.Image)
		out = append(out, e)
		take(e.Image)
	}
	var left []Builder
	for _, b := range a.Builders {
		if slices.ContainsFunc(explicit, func(e Artifact) bool { return e.Builder.Path == b.Path }) {
			continue
		}
		i := slices.IndexFunc(images, func(img string) bool { return repoBase(img) == b.image })
		if i < 0 {
			left = append(left, b)
			continue
		}
		img := images[i]
		out = append(out, Artifact{Builder: b, Image: img, Used: true})
		take(img)
	}
	if len(left) == 1 && len(images) == 1 && !isThirdParty(images[0]) {
		return append(out, Artifact{Builder: left[0], Image: images[0], Used: true})
	}
	for _, b := range left {
		out = append(out, Artifact{Builder: b, Image: b.image})
	}
	return out
}

// repoBase is the last path element of an image reference, without tag or
// digest: gcr.io/p/web:v1 -> web.
func repoBase(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return path.Base(ref)
}

// isThirdParty reports whether ref names an image of a registry or with a
// tag or digest: one the project pulls rather than builds.
func isThirdParty(ref string) bool {
	first, _, hasSlash := strings.Cut(ref, "/")
	return strings.ContainsAny(ref, "@:") || hasSlash && strings.ContainsAny(first, ".:")
}

// Unresolved are the images the manifests name that no artifact builds
// (pulled from a registry, or missing a builder).
func (a *Analysis) Unresolved(arts []Artifact) []string {
	var out []string
	for _, img := range a.Images {
		if !slices.ContainsFunc(arts, func(x Artifact) bool { return x.Image == img }) {
			out = append(out, img)
		}
	}
	return out
}

// GenerateOptions say what to put in the config.
type GenerateOptions struct {
	// Name is the config's metadata.name, made a valid name (lower case
	// letters, digits, '-', '.', '_').
	Name string
	// SkipBuild leaves the build section out.
	SkipBuild bool
	// DefaultKustomization is the kustomization to deploy when there are
	// several; the others become profiles. Empty: the first.
	DefaultKustomization string
	// Generated are manifests written for artifacts no manifest uses
	// (--generate-manifests): their paths, relative to the project.
	Generated []string
}

// Config returns the skaffold.yaml for arts and what a found, and notes
// for the user on the choices made.
func (a *Analysis) Config(arts []Artifact, opts GenerateOptions) ([]byte, []string, error) {
	var notes []string
	c := schema.SkaffoldConfig{APIVersion: upgrade.Latest, Kind: "Config"}
	c.Metadata.Name = strings.Trim(nonName.ReplaceAllString(strings.ToLower(opts.Name), "-"), "-._")
	if !opts.SkipBuild {
		for _, art := range arts {
			c.Build.Artifacts = append(c.Build.Artifacts, artifactOf(art))
		}
	}
	manifests := slices.Concat(a.Manifests, opts.Generated)
	if len(manifests) > 0 {
		c.Render.RawK8s = manifests
	}
	if len(a.Kustomizations) > 0 {
		def := a.Kustomizations[0]
		if opts.DefaultKustomization != "" {
			def = path.Clean(strings.TrimPrefix(opts.DefaultKustomization, "./"))
			if !slices.Contains(a.Kustomizations, def) {
				return nil, nil, fmt.Errorf("--default-kustomization %s: not one of the kustomizations found: %s", opts.DefaultKustomization, strings.Join(a.Kustomizations, ", "))
			}
		}
		c.Render.Kustomize = &schema.Kustomize{Paths: []string{def}}
		for _, k := range a.Kustomizations {
			if k == def {
				continue
			}
			p := schema.Profile{Name: imageName(k, a.Dir)}
			p.Render.Kustomize = &schema.Kustomize{Paths: []string{k}}
			c.Profiles = append(c.Profiles, p)
			notes = append(notes, fmt.Sprintf("kustomization %s is deployed; %s is the profile %s (-p %s)", def, k, p.Name, p.Name))
		}
	}
	for _, ch := range a.Charts {
		if c.Render.Helm == nil {
			c.Render.Helm = &schema.Helm{}
		}
		c.Render.Helm.Releases = append(c.Render.Helm.Releases, schema.HelmRelease{Name: imageName(ch, a.Dir), ChartPath: ch})
	}
	if len(c.Render.RawK8s) == 0 && c.Render.Kustomize == nil && c.Render.Helm == nil {
		return nil, nil, fmt.Errorf("found no Kubernetes manifests, kustomization or Helm chart in %s: pass -k with your manifests, or --generate-manifests to write a Deployment for each image", a.Dir)
	}
	c.Deploy.KubectlDeploy = &schema.KubectlDeploy{}
	for _, art := range arts {
		if !art.Used && !slices.Contains(opts.Generated, GeneratedManifest(art.Image)) && !opts.SkipBuild {
			notes = append(notes, fmt.Sprintf("%s (%s) builds image %s, which no manifest uses: use that name in a manifest, or pass --generate-manifests", art.Builder.Path, art.Builder.Name, art.Image))
		}
	}
	var b bytes.Buffer
	b.WriteString("# Written by skiff init; see docs/cli.md and `skiff schema get " + upgrade.Latest + "`.\n")
	if err := config.WriteYAML(&b, &c); err != nil {
		return nil, nil, err
	}
	return b.Bytes(), notes, nil
}

// artifactOf is the build.artifacts entry of art.
func artifactOf(art Artifact) *schema.Artifact {
	b := art.Builder
	out := &schema.Artifact{ImageName: art.Image}
	if b.Context != "." {
		out.Workspace = b.Context
	}
	switch b.Name {
	case Docker:
		d := &schema.DockerArtifact{}
		if f := strings.TrimPrefix(b.Path, b.Context+"/"); f != "Dockerfile" {
			if b.Context == "." {
				f = b.Path
			}
			d.DockerfilePath = f
		}
		out.DockerArtifact = d
	case Ko:
		out.KoArtifact = &schema.KoArtifact{Main: b.Main}
	case Buildpacks:
		out.BuildpackArtifact = &schema.BuildpackArtifact{Builder: DefaultBuildpacksBuilder}
	}
	return out
}

// GeneratedManifest is where --generate-manifests writes image's
// Deployment, relative to the project.
func GeneratedManifest(image string) string {
	return path.Join("k8s", imageName(repoBase(image), ".")+".yaml")
}

// DeploymentFor is a minimal Deployment running image, for
// --generate-manifests.
func DeploymentFor(image string) []byte {
	name := imageName(repoBase(image), ".")
	return fmt.Appendf(nil, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  labels:
    app: %[1]s
spec:
  replicas: 1
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      containers:
      - name: %[1]s
        image: %[2]s
`, name, image)
}

// AnalyzeJSON is what skiff init --analyze prints: Skaffold's format
// ({"dockerfiles": [...], "images": [...]}), or with newFormat its newer
// one ({"builders": [{"name", "payload": {"path"}}], "images": [{"name",
// "foundMatch"}]}).
func (a *Analysis) AnalyzeJSON(arts []Artifact, newFormat bool) any {
	if !newFormat {
		var out struct {
			Dockerfiles []string `json:"dockerfiles,omitempty"`
			Images      []string `json:"images,omitempty"`
		}
		for _, b := range a.Builders {
			if b.Name == Docker {
				out.Dockerfiles = append(out.Dockerfiles, b.Path)
			}
		}
		out.Images = a.Images
		return out
	}
	type payload struct {
		Path string `json:"path"`
	}
	type builder struct {
		Name    string  `json:"name"`
		Payload payload `json:"payload"`
	}
	type image struct {
		Name       string `json:"name"`
		FoundMatch bool   `json:"foundMatch"`
	}
	var out struct {
		Builders []builder `json:"builders,omitempty"`
		Images   []image   `json:"images,omitempty"`
	}
	for _, b := range a.Builders {
		out.Builders = append(out.Builders, builder{Name: b.Name, Payload: payload{Path: b.Path}})
	}
	for _, img := range a.Images {
		out.Images = append(out.Images, image{Name: img, FoundMatch: slices.ContainsFunc(arts, func(x Artifact) bool { return x.Image == img && x.Used })})
	}
	return out
}
