// Package initconfig writes a skaffold.yaml for a project that has none
// (skiff init): it finds what builds images (Dockerfiles, Go main packages
// for ko, apps that buildpacks detect) and what deploys them (Kubernetes
// manifests, kustomizations, Helm charts), pairs the images the manifests
// use with the builders that make them, and generates the config.
package initconfig

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/config"
)

// Builder names, as Skaffold's init names them.
const (
	Docker     = "Docker"
	Ko         = "Ko"
	Buildpacks = "Buildpacks"
)

// DefaultBuildpacksBuilder is the builder image of generated buildpacks
// artifacts, Skaffold's default.
const DefaultBuildpacksBuilder = config.DefaultBuildpacksBuilder

// Limits of the walk: a project larger than this is not one to guess a
// config for.
const (
	maxEntries   = 20000
	maxFileBytes = 4 << 20 // files read to classify them
)

// Builder is a way to build one image that the walk found.
type Builder struct {
	// Name is Docker, Ko or Buildpacks.
	Name string `json:"name"`
	// Path is the file that shows it (the Dockerfile, go.mod,
	// package.json), slash-separated and relative to the project.
	Path string `json:"path"`
	// Context is the build context, relative to the project ("." for
	// the project itself).
	Context string `json:"context"`
	// Main is ko's main package, relative to Context.
	Main string `json:"main,omitempty"`
	// image is the name the builder would give its image when no manifest
	// names one: the base name of its directory (or of its main package).
	image string
}

// Analysis is what Analyze found in a project.
type Analysis struct {
	// Dir is the project's directory.
	Dir string
	// Builders are the ways to build images, in path order.
	Builders []Builder
	// Manifests are the plain Kubernetes manifest files; Kustomizations
	// the top-level kustomization directories; Charts the Helm chart
	// directories; all relative to Dir, slash-separated.
	Manifests      []string
	Kustomizations []string
	Charts         []string
	// Images are the container images the manifests, kustomizations and
	// charts name, in order of appearance.
	Images []string
}

// Options say where to look and what to skip.
type Options struct {
	// Dir is the project's directory.
	Dir string
	// SkipUnreachableDirs skips directories that cannot be read instead of
	// failing.
	SkipUnreachableDirs bool
	// Manifests, when given (-k), are the manifest files or globs to
	// deploy instead of those found.
	Manifests []string
}

// skippedDirs are never looked into.
var skippedDirs = map[string]bool{"node_modules": true, "vendor": true, "testdata": true}

// Analyze walks the project and lists what builds and what deploys.
func Analyze(opts Options) (*Analysis, error) {
	a := &Analysis{Dir: opts.Dir}
	var yamls []string
	entries := 0
	err := filepath.WalkDir(opts.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() && opts.SkipUnreachableDirs && errors.Is(err, fs.ErrPermission) {
				return fs.SkipDir
			}
			return fmt.Errorf("%w (--skip-unreachable-dirs skips directories that cannot be read)", err)
		}
		if entries++; entries > maxEntries {
			return fmt.Errorf("%s holds more than %d files and directories; run skiff init in the project's own directory", opts.Dir, maxEntries)
		}
		rel, err := filepath.Rel(opts.Dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := d.Name()
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(name, ".") || skippedDirs[name]) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		switch {
		case isDockerfileName(name):
			if ok, err := looksLikeDockerfile(p); err != nil {
				return err
			} else if ok {
				a.Builders = append(a.Builders, Builder{Name: Docker, Path: rel, Context: path.Dir(rel), image: imageName(path.Dir(rel), opts.Dir)})
			}
		case name == "go.mod":
			mains, err := goMains(filepath.Dir(p))
			if err != nil {
				return err
			}
			for _, m := range mains {
				img := imageName(path.Dir(rel), opts.Dir)
				if m != "." {
					img = imageName(path.Base(m), opts.Dir)
				}
				main := m
				if m != "." {
					main = "./" + m
				}
				a.Builders = append(a.Builders, Builder{Name: Ko, Path: rel, Context: path.Dir(rel), Main: main, image: img})
			}
		case name == "package.json":
			a.Builders = append(a.Builders, Builder{Name: Buildpacks, Path: rel, Context: path.Dir(rel), image: imageName(path.Dir(rel), opts.Dir)})
		case strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"):
			yamls = append(yamls, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.Builders = preferBuilders(a.Builders)
	if err := a.classifyYAML(yamls, opts.Manifests); err != nil {
		return nil, err
	}
	return a, nil
}

// preferBuilders keeps one builder per context: a Dockerfile says how the
// author builds, then ko (skiff builds Go natively), then buildpacks.
func preferBuilders(bs []Builder) []Builder {
	rank := map[string]int{Docker: 0, Ko: 1, Buildpacks: 2}
	best := map[string]int{}
	for _, b := range bs {
		if r, ok := best[b.Context]; !ok || rank[b.Name] < r {
			best[b.Context] = rank[b.Name]
		}
	}
	return slices.DeleteFunc(bs, func(b Builder) bool { return rank[b.Name] != best[b.Context] })
}

var dockerfileName = regexp.MustCompile(`^(Dockerfile(\..+)?|.+\.[Dd]ockerfile)$`)

func isDockerfileName(name string) bool { return dockerfileName.MatchString(name) }

// looksLikeDockerfile reports whether file has a FROM instruction.
func looksLikeDockerfile(file string) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, maxFileBytes))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if len(line) >= 5 && strings.EqualFold(line[:5], "FROM ") {
			return true, nil
		}
	}
	return false, sc.Err()
}

var packageMain = regexp.MustCompile(`(?m)^package main\b`)

// goMains lists the main packages of the Go module in dir that ko would
// build: the module's root ("."), else each cmd/<name>.
func goMains(dir string) ([]string, error) {
	isMain := func(d string) (bool, error) {
		files, err := filepath.Glob(filepath.Join(d, "*.go"))
		if err != nil {
			return false, err
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			data, err := readBounded(f)
			if err != nil {
				return false, err
			}
			if packageMain.Match(data) {
				return true, nil
			}
		}
		return false, nil
	}
	if ok, err := isMain(dir); err != nil || ok {
		if ok {
			return []string{"."}, nil
		}
		return nil, err
	}
	cmds, err := os.ReadDir(filepath.Join(dir, "cmd"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cmds {
		if !c.IsDir() {
			continue
		}
		if ok, err := isMain(filepath.Join(dir, "cmd", c.Name())); err != nil {
			return nil, err
		} else if ok {
			out = append(out, "cmd/"+c.Name())
		}
	}
	return out, nil
}

// readBounded reads a file of at most maxFileBytes.
func readBounded(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFileBytes))
}

var nonName = regexp.MustCompile(`[^a-z0-9._-]+`)

// imageName makes an image name of a directory's base name ("." is the
// project's directory).
func imageName(rel, projectDir string) string {
	base := path.Base(rel)
	if rel == "." || base == "." {
		abs, err := filepath.Abs(projectDir)
		if err == nil {
			base = filepath.Base(abs)
		}
	}
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(base), "-"), "-._")
	if name == "" {
		name = "app"
	}
	return name
}

// yamlDoc is what classifying a YAML document needs.
type yamlDoc struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
}

// classifyYAML sorts the YAML files into Kubernetes manifests,
// kustomizations and charts, and collects the images they name. manifests
// (-k) replaces the manifests found.
func (a *Analysis) classifyYAML(files, manifests []string) error {
	// Directories of charts and kustomizations: their files are theirs.
	var kustDirs []string
	for _, f := range files {
		switch path.Base(f) {
		case "Chart.yaml":
			a.Charts = append(a.Charts, path.Dir(f))
		case "kustomization.yaml", "kustomization.yml":
			kustDirs = append(kustDirs, path.Dir(f))
		}
	}
	within := func(f string, dirs []string) bool {
		return slices.ContainsFunc(dirs, func(d string) bool { return d == "." || f == d || strings.HasPrefix(f, d+"/") })
	}
	// A kustomization another one uses (resources: [../base]) is a base.
	referenced := map[string]bool{}
	for _, d := range kustDirs {
		refs, err := kustomizationRefs(filepath.Join(a.Dir, filepath.FromSlash(d)))
		if err != nil {
			return err
		}
		for _, r := range refs {
			referenced[path.Clean(path.Join(d, r))] = true
		}
	}
	for _, d := range kustDirs {
		if !referenced[d] {
			a.Kustomizations = append(a.Kustomizations, d)
		}
	}
	for _, f := range files {
		if within(f, a.Charts) {
			if path.Base(f) == "values.yaml" {
				a.addImages(filepath.Join(a.Dir, filepath.FromSlash(f)))
			}
			continue
		}
		full := filepath.Join(a.Dir, filepath.FromSlash(f))
		if within(f, kustDirs) {
			a.addImages(full)
			continue
		}
		ok, err := isManifest(full)
		if err != nil {
			return err
		}
		if ok {
			a.Manifests = append(a.Manifests, f)
			a.addImages(full)
		}
	}
	if len(manifests) > 0 {
		a.Manifests = manifests
	}
	return nil
}

// isManifest reports whether every document of file is a Kubernetes
// object (apiVersion and kind, not a skaffold.yaml or a kustomization).
func isManifest(file string) (bool, error) {
	data, err := readBounded(file)
	if err != nil {
		return false, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var d yamlDoc
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, nil // not YAML we understand: not a manifest
		}
		if d.APIVersion == "" && d.Kind == "" {
			continue // an empty document
		}
		if d.APIVersion == "" || d.Kind == "" || strings.HasPrefix(d.APIVersion, "skaffold/") || d.Kind == "Kustomization" {
			return false, nil
		}
		n++
	}
	return n > 0, nil
}

// kustomizationRefs lists the directories a kustomization's resources and
// bases name (relative to it).
func kustomizationRefs(dir string) ([]string, error) {
	var k struct {
		Resources  []string `yaml:"resources"`
		Bases      []string `yaml:"bases"`
		Components []string `yaml:"components"`
	}
	for _, name := range []string{"kustomization.yaml", "kustomization.yml"} {
		data, err := readBounded(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := yaml.Unmarshal(data, &k); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
		}
		break
	}
	var out []string
	for _, r := range slices.Concat(k.Resources, k.Bases, k.Components) {
		if !strings.HasSuffix(r, ".yaml") && !strings.HasSuffix(r, ".yml") && !strings.Contains(r, "://") {
			out = append(out, r)
		}
	}
	return out, nil
}

// addImages adds the images a YAML file names (image: keys).
func (a *Analysis) addImages(file string) {
	data, err := readBounded(file)
	if err != nil {
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return
		}
		walkImages(&n, func(img string) {
			if !slices.Contains(a.Images, img) {
				a.Images = append(a.Images, img)
			}
		})
	}
}

// walkImages calls found with every string value of an "image" key in n.
func walkImages(n *yaml.Node, found func(string)) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "image" && v.Kind == yaml.ScalarNode && v.Value != "" && !strings.Contains(v.Value, "{{") {
				found(v.Value)
			}
		}
	}
	for _, c := range n.Content {
		walkImages(c, found)
	}
}
