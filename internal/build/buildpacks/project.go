package buildpacks

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/bmatcuk/doublestar/v4"

	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/fsutil"
)

// defaultProjectDescriptor is read from the context when the artifact
// names none, if it exists.
const defaultProjectDescriptor = "project.toml"

// maxProjectDescriptor bounds the project.toml read.
const maxProjectDescriptor = 1 << 20

// Project is what a project descriptor (project.toml, schema 0.1 or 0.2)
// asks of the build.
type Project struct {
	// File is the descriptor's path, relative to the context.
	File string
	// Include and Exclude select the application's files (at most one of
	// them is set): gitignore-style patterns relative to the context.
	Include, Exclude []string
	// Env are build-time variables, in order.
	Env []EnvVar
	// Buildpacks are the buildpacks of the group, each an id@version, a
	// uri (directory, docker:// image, urn:cnb:builder:id) or an id.
	Buildpacks []string
	// Pre and Post are buildpacks added before and after every group of
	// the order (schema 0.2).
	Pre, Post []string
}

// EnvVar is a build-time environment variable.
type EnvVar struct {
	Name  string `toml:"name"`
	Value string `toml:"value"`
}

type projectBuildpack struct {
	ID      string `toml:"id"`
	Version string `toml:"version"`
	URI     string `toml:"uri"`
}

// ref is how a descriptor's buildpack is resolved: its uri, else
// id@version.
func (b projectBuildpack) ref() (string, error) {
	switch {
	case b.URI != "":
		return b.URI, nil
	case b.ID == "":
		return "", errors.New("a buildpack entry has neither id nor uri")
	case b.Version != "":
		return b.ID + "@" + b.Version, nil
	}
	return b.ID, nil
}

type projectV1 struct {
	Build struct {
		Include    []string           `toml:"include"`
		Exclude    []string           `toml:"exclude"`
		Buildpacks []projectBuildpack `toml:"buildpacks"`
		Env        []EnvVar           `toml:"env"`
	} `toml:"build"`
}

type projectV2 struct {
	Schema struct {
		Version string `toml:"schema-version"`
	} `toml:"_"`
	IO struct {
		Buildpacks struct {
			Include []string           `toml:"include"`
			Exclude []string           `toml:"exclude"`
			Group   []projectBuildpack `toml:"group"`
			Build   struct {
				Env []EnvVar `toml:"env"`
			} `toml:"build"`
			Pre struct {
				Group []projectBuildpack `toml:"group"`
			} `toml:"pre"`
			Post struct {
				Group []projectBuildpack `toml:"group"`
			} `toml:"post"`
		} `toml:"buildpacks"`
	} `toml:"io"`
}

// LoadProject reads the artifact's project descriptor: projectDescriptor,
// else project.toml in the context when it exists. It returns nil when
// there is none.
func LoadProject(a *schema.Artifact) (*Project, error) {
	name := a.BuildpackArtifact.ProjectDescriptor
	explicit := name != ""
	if !explicit {
		name = defaultProjectDescriptor
	}
	file := name
	if !filepath.IsAbs(file) {
		file = filepath.Join(a.Workspace, name)
	}
	data, err := fsutil.ReadRegular(file, maxProjectDescriptor)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading the project descriptor %s (buildpacks.projectDescriptor): %w", file, err)
	}
	p, err := ParseProject(data)
	if err != nil {
		return nil, fmt.Errorf("project descriptor %s: %w", file, err)
	}
	if rel, err := filepath.Rel(a.Workspace, file); err == nil && filepath.IsLocal(rel) {
		p.File = filepath.ToSlash(rel)
	}
	return p, nil
}

// ParseProject reads a project.toml of schema 0.1 (no [_] table) or 0.2.
func ParseProject(data []byte) (*Project, error) {
	var probe struct {
		Schema *struct {
			Version string `toml:"schema-version"`
		} `toml:"_"`
	}
	if _, err := toml.Decode(string(data), &probe); err != nil {
		return nil, fmt.Errorf("it is not valid TOML: %w", err)
	}
	p := &Project{}
	var groups [3][]projectBuildpack
	switch {
	case probe.Schema == nil || probe.Schema.Version == "0.1":
		var v projectV1
		if _, err := toml.Decode(string(data), &v); err != nil {
			return nil, fmt.Errorf("it is not a project descriptor of schema 0.1: %w", err)
		}
		p.Include, p.Exclude, p.Env = v.Build.Include, v.Build.Exclude, v.Build.Env
		groups[1] = v.Build.Buildpacks
	case probe.Schema.Version == "0.2":
		var v projectV2
		if _, err := toml.Decode(string(data), &v); err != nil {
			return nil, fmt.Errorf("it is not a project descriptor of schema 0.2: %w", err)
		}
		b := v.IO.Buildpacks
		p.Include, p.Exclude, p.Env = b.Include, b.Exclude, b.Build.Env
		groups = [3][]projectBuildpack{b.Pre.Group, b.Group, b.Post.Group}
	default:
		return nil, fmt.Errorf("schema-version %q is not supported; skiff reads project descriptors of schema 0.1 and 0.2", probe.Schema.Version)
	}
	if len(p.Include) > 0 && len(p.Exclude) > 0 {
		return nil, errors.New("it sets both include and exclude; the spec allows one of them")
	}
	for _, e := range p.Env {
		if e.Name == "" || strings.ContainsAny(e.Name, "=/\x00") {
			return nil, fmt.Errorf("build env name %q is not a valid variable name", e.Name)
		}
	}
	for i, into := range []*[]string{&p.Pre, &p.Buildpacks, &p.Post} {
		for _, b := range groups[i] {
			r, err := b.ref()
			if err != nil {
				return nil, err
			}
			*into = append(*into, r)
		}
	}
	for _, pats := range [][]string{p.Include, p.Exclude} {
		for _, pat := range pats {
			if _, err := ignorePattern(pat); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// Selects reports whether the file or directory rel (slash-separated,
// relative to the context) is part of the application that the build
// sees. Directories are always kept when include is set, so that the
// files under them can be.
func (p *Project) Selects(rel string, dir bool) bool {
	if p == nil {
		return true
	}
	switch {
	case len(p.Include) > 0:
		return dir || matchesAny(p.Include, rel)
	case len(p.Exclude) > 0:
		return !matchesAny(p.Exclude, rel)
	}
	return true
}

// matchesAny matches gitignore-style patterns: a pattern without a slash
// (but a trailing one) matches a name at any depth, one with a slash is
// anchored at the context; a matched directory stands for everything
// under it.
func matchesAny(patterns []string, rel string) bool {
	for _, pat := range patterns {
		g, err := ignorePattern(pat)
		if err != nil {
			continue
		}
		// The path or one of its parent directories matches.
		for p := rel; p != "." && p != ""; p = path.Dir(p) {
			if ok, _ := doublestar.Match(g, p); ok {
				return true
			}
		}
	}
	return false
}

// ignorePattern turns a gitignore-style pattern into a doublestar glob.
func ignorePattern(pat string) (string, error) {
	p := strings.TrimSuffix(strings.TrimSpace(pat), "/")
	if p == "" || strings.HasPrefix(p, "!") {
		return "", fmt.Errorf("include/exclude pattern %q is not supported: use non-empty patterns without negation", pat)
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, "/") {
		p = strings.TrimPrefix(p, "/")
	} else {
		p = "**/" + p
	}
	if !doublestar.ValidatePattern(p) {
		return "", fmt.Errorf("include/exclude pattern %q is not a valid pattern", pat)
	}
	return p, nil
}
