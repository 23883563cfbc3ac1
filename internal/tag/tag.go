package tag

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// Tagger generates the tag (the part after ':') for an artifact.
type Tagger interface {
	// GenerateTag returns a's tag, a valid Docker tag, or why there is none.
	GenerateTag(ctx context.Context, a *schema.Artifact) (string, error)
}

// DepsFunc lists the files an artifact is built from, relative to its
// context directory (absolute paths are allowed for files outside it), as
// the builder's build.Sources list them.
type DepsFunc func(ctx context.Context, a *schema.Artifact) ([]string, error)

// Option configures New.
type Option func(*options) error

type options struct {
	now       func() time.Time
	artifacts map[string]*schema.Artifact
	environ   []string
}

// WithClock makes dateTime tags read the time from now instead of
// time.Now; tests use it to get fixed tags.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("tag.WithClock: nil clock")
		}
		o.now = now
		return nil
	}
}

// WithArtifacts gives inputDigest the artifacts of the build, so that the
// digest of an artifact that requires others includes theirs.
func WithArtifacts(all []*schema.Artifact) Option {
	return func(o *options) error {
		o.artifacts = make(map[string]*schema.Artifact, len(all))
		for _, a := range all {
			o.artifacts[a.ImageName] = a
		}
		return nil
	}
}

// WithEnviron sets the environment (KEY=value entries) git runs in for the
// gitCommit tagger: the one skiff was started in, so that git finds the
// user's configuration (HOME, GIT_*). Without it git sees only the few
// variables the tagger sets itself.
func WithEnviron(environ []string) Option {
	return func(o *options) error {
		o.environ = environ
		return nil
	}
}

// New returns the tagger for a tag policy. env is what templates see; deps
// lists an artifact's dependency files (for inputDigest). A zero policy
// means gitCommit, Skaffold's default.
func New(p schema.TagPolicy, env config.Env, deps func(context.Context, *schema.Artifact) ([]string, error), opts ...Option) (Tagger, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if p == (schema.TagPolicy{}) {
		p.GitTagger = &schema.GitTagger{}
	}
	if p.CustomTemplateTagger != nil {
		if err := onlyOne(p, "build.tagPolicy"); err != nil {
			return nil, err
		}
		return newCustomTemplate(p.CustomTemplateTagger, env, deps, &o)
	}
	_, c, err := newGenerator(p, "build.tagPolicy", env, deps, &o)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// generator produces a tag that may not be valid on its own: a customTemplate
// component is only part of a tag, so only the whole is checked.
type generator interface {
	generate(ctx context.Context, a *schema.Artifact) (string, error)
}

// newGenerator builds the tagger for one policy other than customTemplate:
// g for use as a customTemplate component, c for use on its own. field is
// where the policy sits in skaffold.yaml, for error messages.
func newGenerator(p schema.TagPolicy, field string, env config.Env, deps DepsFunc, o *options) (g generator, c checked, err error) {
	if err := onlyOne(p, field); err != nil {
		return nil, c, err
	}
	switch {
	case p.GitTagger != nil:
		g, err := newGitCommit(p.GitTagger, o)
		if err != nil {
			return nil, c, fmt.Errorf("%s.gitCommit: %w", field, err)
		}
		return g, checked{g, fmt.Sprintf("gitCommit (prefix %q)", p.GitTagger.Prefix), "change the prefix"}, nil
	case p.ShaTagger != nil:
		return sha256Tagger{}, checked{sha256Tagger{}, "sha256", ""}, nil
	case p.InputDigest != nil:
		if deps == nil {
			return nil, c, fmt.Errorf("%s.inputDigest: no dependency lister was given to tag.New", field)
		}
		g := &inputDigest{deps: deps, env: env, artifacts: o.artifacts}
		return g, checked{g, "inputDigest", ""}, nil
	case p.DateTimeTagger != nil:
		g, err := newDateTime(p.DateTimeTagger, o.now)
		if err != nil {
			return nil, c, fmt.Errorf("%s.dateTime: %w", field, err)
		}
		return g, checked{g, fmt.Sprintf("dateTime (format %q, timezone %s)", g.format, g.loc),
			"change the format (MST prints a zone without an abbreviation as +03: leave it out, or set timezone to UTC)"}, nil
	case p.EnvTemplateTagger != nil:
		g, err := newEnvTemplate(p.EnvTemplateTagger.Template, env)
		if err != nil {
			return nil, c, fmt.Errorf("%s.envTemplate: %w", field, err)
		}
		return g, checked{g, fmt.Sprintf("envTemplate %q", p.EnvTemplateTagger.Template), templateFix}, nil
	case p.CustomTemplateTagger != nil:
		return nil, c, fmt.Errorf("%s: a customTemplate component cannot be another customTemplate; move its template into the outer one", field)
	default:
		return nil, c, fmt.Errorf("%s sets no tagger: set one of gitCommit, sha256, inputDigest, dateTime, envTemplate or customTemplate", field)
	}
}

// onlyOne checks that at most one tagger of p is set.
func onlyOne(p schema.TagPolicy, field string) error {
	var set []string
	for name, on := range map[string]bool{
		"gitCommit":      p.GitTagger != nil,
		"sha256":         p.ShaTagger != nil,
		"inputDigest":    p.InputDigest != nil,
		"dateTime":       p.DateTimeTagger != nil,
		"envTemplate":    p.EnvTemplateTagger != nil,
		"customTemplate": p.CustomTemplateTagger != nil,
	} {
		if on {
			set = append(set, name)
		}
	}
	if len(set) > 1 {
		slices.Sort(set)
		return fmt.Errorf("%s sets %s: a tag policy has exactly one tagger; keep one", field, strings.Join(set, " and "))
	}
	return nil
}

// checked is a Tagger that rejects tags Docker would not accept: what
// names the setting that made the tag, fix says what to change.
type checked struct {
	g    generator
	what string
	fix  string
}

// templateFix is the advice for a template that made an invalid tag.
const templateFix = `change the template; Sprig's functions can clean a value up, e.g. {{.BRANCH | replace "/" "-"}}`

// GenerateTag generates the tag and checks that it is a valid Docker tag.
func (c checked) GenerateTag(ctx context.Context, a *schema.Artifact) (string, error) {
	tag, err := c.g.generate(ctx, a)
	if err != nil {
		return "", err
	}
	if err := CheckTag(tag); err != nil {
		if c.fix != "" {
			err = fmt.Errorf("%w: %s", err, c.fix)
		}
		return "", fmt.Errorf("%s produced the tag %q: %w", c.what, tag, err)
	}
	return tag, nil
}

// CheckTag reports whether tag is a valid Docker tag: 1 to 128 letters,
// digits, '_', '.' and '-', not starting with '.' or '-'.
func CheckTag(tag string) error {
	const rule = "a tag is 1 to 128 letters, digits, '_', '.' and '-', and does not start with '.' or '-'"
	if tag == "" {
		return fmt.Errorf("the tag is empty; %s", rule)
	}
	if len(tag) > 128 {
		return fmt.Errorf("the tag is %d characters long; %s", len(tag), rule)
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_':
		case (c == '.' || c == '-') && i > 0:
		default:
			r := []rune(tag[i:])[0]
			if i == 0 && (c == '.' || c == '-') {
				return fmt.Errorf("the tag starts with %q; %s", r, rule)
			}
			return fmt.Errorf("%q at byte %d is not allowed; %s", r, i, rule)
		}
	}
	return nil
}

// Fallback wraps t the way Skaffold treats a failing tagger: the artifact is
// tagged "latest" (as by sha256) after report has been told why t failed. A
// cancelled context is returned as an error, not papered over.
func Fallback(t Tagger, report func(a *schema.Artifact, err error)) Tagger {
	return fallback{t: t, report: report}
}

type fallback struct {
	t      Tagger
	report func(*schema.Artifact, error)
}

func (f fallback) GenerateTag(ctx context.Context, a *schema.Artifact) (string, error) {
	tag, err := f.t.GenerateTag(ctx, a)
	if err == nil {
		return tag, nil
	}
	if ctx.Err() != nil {
		return "", err
	}
	if f.report != nil {
		f.report(a, err)
	}
	return latest, nil
}

// PerImage tags each artifact with the tagger of the config that declares
// it, keyed by image name, since every config in a multi-config project
// has its own build.tagPolicy.
type PerImage map[string]Tagger

// GenerateTag generates a's tag with the tagger registered for its image.
func (m PerImage) GenerateTag(ctx context.Context, a *schema.Artifact) (string, error) {
	t, ok := m[a.ImageName]
	if !ok {
		return "", fmt.Errorf("no tag policy is registered for image %q", a.ImageName)
	}
	return t.GenerateTag(ctx, a)
}
