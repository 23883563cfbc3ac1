package sync

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"skiff.dev/skiff/internal/build/deps"
	"skiff.dev/skiff/internal/config/schema"
)

// Rules are one artifact's sync rules, checked once and applied to every
// batch of changes by Plan.
//
// Manual rules follow Skaffold: a file matching Src (a doublestar glob
// relative to the context) goes to path.Join(Dest, rel minus the Strip
// prefix), so Dest is always a directory, with or without a trailing "/",
// and "." is the working directory; a relative Dest is resolved against
// the image's working directory (WithWorkDir, else the Dockerfile's final
// WORKDIR, else "/"). A file matching several rules goes to every Dest.
//
// Infer rules take the destinations from the COPY and ADD instructions of
// the stages that make the final image (deps.ParsedDockerfile.Destinations)
// for files matching one of the globs.
//
// Auto rules come from the builder: the rules a built image declares
// (buildpacks in development mode), given by WithAutoRules, which behave
// as manual rules. With auto and no rules given, no change is covered, so
// every change rebuilds.
type Rules struct {
	context string // absolute, clean local context directory
	manual  []manualRule
	infer   []string
	df      *deps.ParsedDockerfile
	auto    bool
}

type manualRule struct {
	src, dest, strip string // dest is absolute and clean
}

// Option configures NewRules.
type Option func(*options) error

type options struct {
	workDir string
	df      *deps.ParsedDockerfile
	auto    []schema.SyncRule
}

// WithAutoRules gives the rules of sync.auto, which the built image
// declares (buildpacks.ReadSyncRules): they behave as manual rules.
// Without it, auto rules cover nothing.
func WithAutoRules(rules []schema.SyncRule) Option {
	return func(o *options) error {
		o.auto = rules
		return nil
	}
}

// WithDockerfile gives the artifact's parsed Dockerfile, which infer rules
// need; its final stage's WORKDIR resolves relative manual destinations
// unless WithWorkDir is given.
func WithDockerfile(df *deps.ParsedDockerfile) Option {
	return func(o *options) error {
		o.df = df
		return nil
	}
}

// WithWorkDir sets the image's working directory (its config's
// WorkingDir), which relative manual destinations are resolved against.
func WithWorkDir(dir string) Option {
	return func(o *options) error {
		if dir != "" && !path.IsAbs(dir) {
			return fmt.Errorf("image working directory %q is not absolute", dir)
		}
		o.workDir = dir
		return nil
	}
}

// Syncs reports whether art has rules that may sync files: manual, infer
// or auto (the built image declares them).
func Syncs(art *schema.Artifact) bool {
	s := art.Sync
	return s != nil && (len(s.Manual) > 0 || len(s.Infer) > 0 || (s.Auto != nil && *s.Auto))
}

// NewRules checks the sync rules of art, whose Workspace is its local
// context directory. It returns nil Rules, which cover nothing, when art
// has no sync section.
func NewRules(art *schema.Artifact, opts ...Option) (*Rules, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("artifact %q: sync: %w", art.ImageName, err)
		}
	}
	s := art.Sync
	if s == nil {
		return nil, nil
	}
	ctxDir, err := filepath.Abs(art.Workspace)
	if err != nil {
		return nil, fmt.Errorf("artifact %q: sync: context %s: %w", art.ImageName, art.Workspace, err)
	}
	r := &Rules{context: ctxDir, df: o.df, auto: s.Auto != nil && *s.Auto}
	wd := o.workDir
	if wd == "" && o.df != nil && o.df.Target != nil {
		wd = o.df.Target.Workdir
	}
	if wd == "" {
		wd = "/"
	}
	manual, fromImage := s.Manual, r.auto && len(o.auto) > 0
	if fromImage {
		r.auto = false
		manual = nil
		for i := range o.auto {
			manual = append(manual, &o.auto[i])
		}
	}
	for i, m := range manual {
		if !doublestar.ValidatePattern(m.Src) {
			if fromImage {
				return nil, fmt.Errorf("artifact %q: the image's sync rule %d: src %q is not a valid glob", art.ImageName, i, m.Src)
			}
			return nil, fmt.Errorf("artifact %q: sync.manual[%d].src %q is not a valid glob; fix it in skaffold.yaml", art.ImageName, i, m.Src)
		}
		dest := m.Dest
		if !path.IsAbs(dest) {
			dest = path.Join(wd, dest)
		}
		r.manual = append(r.manual, manualRule{src: m.Src, dest: path.Clean(dest), strip: m.Strip})
	}
	for i, g := range s.Infer {
		if !doublestar.ValidatePattern(g) {
			return nil, fmt.Errorf("artifact %q: sync.infer[%d] %q is not a valid glob; fix it in skaffold.yaml", art.ImageName, i, g)
		}
		r.infer = append(r.infer, g)
	}
	if len(r.infer) > 0 && (o.df == nil || o.df.Target == nil) {
		return nil, fmt.Errorf("artifact %q: sync.infer needs a Dockerfile to infer destinations from; use sync.manual for this builder", art.ImageName)
	}
	return r, nil
}

// Plan decides whether the sync rules cover every changed (created or
// modified) and removed path, all absolute local paths. If they do, it
// returns covered and the operations that bring the container up to date:
// deletions first, then writes, each in the order given. If any path is not
// covered, the artifact must be rebuilt, and Plan returns no operations.
//
// A removed path is covered when a rule matches it, and becomes a Delete:
// deleting a covered file never forces a rebuild, in every mode. A Delete
// is only ever planned strictly inside its rule's destination: a removed
// path that maps to the destination itself (say the directory data under
// {src: "data/**", dest: "/", strip: "data"}, since data/** matches data)
// gets no Delete, and the files that were in it are deleted one by one as
// the watcher lists them. A path outside the context, or one whose
// destination would leave the rule's destination, is not covered. Every
// Op's Base is the context. Nil Rules cover nothing.
func (r *Rules) Plan(changed, removed []string) (ops []Op, covered bool) {
	if r == nil || r.auto || len(changed)+len(removed) == 0 {
		return nil, false
	}
	for _, f := range removed {
		dests, ok := r.destinations(f)
		if !ok {
			return nil, false
		}
		for _, d := range dests {
			if d.path == d.root || d.path == "/" {
				continue // never the destination itself: see above
			}
			ops = append(ops, Op{Kind: Delete, Local: f, Base: r.context, Dest: d.path, Root: d.root})
		}
	}
	for _, f := range changed {
		dests, ok := r.destinations(f)
		if !ok {
			return nil, false
		}
		for _, d := range dests {
			if d.path == "/" {
				continue // a directory mapped to "/", which exists
			}
			ops = append(ops, Op{Kind: Write, Local: f, Base: r.context, Dest: d.path, Root: d.root})
		}
	}
	return ops, true
}

// Roots are the destination directories of the manual and auto rules,
// absolute and clean, sorted, each once: the directories the agent may
// write under. Infer rules' destinations depend on the files changed and
// are not listed. Nil Rules have none.
func (r *Rules) Roots() []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, m := range r.manual {
		out = append(out, m.dest)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// InferRoots are the destinations, clean and sorted, each once, of the
// COPY and ADD instructions from the build context in the stages that
// make the final image: the directories (or files) infer rules' syncs
// write under, as inferRoot finds them, whichever files change. The
// agent session of a container can then be opened, allowing them, ahead
// of the first sync. Rules without infer rules have none.
func (r *Rules) InferRoots() []string {
	if r == nil || len(r.infer) == 0 {
		return nil
	}
	var out []string
	for s := r.df.Target; s != nil; s = s.BaseStage {
		for _, c := range s.Copies {
			if c.FromContext() && len(c.Sources) > 0 { // not a URL's or heredoc's alone
				out = append(out, path.Clean(c.Dest))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

type dest struct{ path, root string }

// destinations maps the local path f to its container paths; false means
// f is not covered.
func (r *Rules) destinations(f string) ([]dest, bool) {
	rel, err := filepath.Rel(r.context, filepath.Clean(f))
	if err != nil || !filepath.IsAbs(f) {
		return nil, false
	}
	rel = filepath.ToSlash(rel)
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, false
	}
	var out []dest
	for _, m := range r.manual {
		if ok, _ := doublestar.Match(m.src, rel); !ok {
			continue
		}
		p := path.Join(m.dest, strings.TrimPrefix(rel, m.strip))
		if m.strip != "" && rel == strings.TrimSuffix(m.strip, "/") {
			p = m.dest // the stripped directory itself is the destination
		}
		if !within(p, m.dest) {
			return nil, false
		}
		out = appendDest(out, dest{p, m.dest})
	}
	if len(r.infer) > 0 && slices.ContainsFunc(r.infer, func(g string) bool {
		ok, _ := doublestar.Match(g, rel)
		return ok
	}) {
		for _, d := range r.df.Destinations(rel) {
			p, ok := cleanAbs(d)
			if !ok {
				return nil, false
			}
			out = appendDest(out, dest{p, r.inferRoot(rel, p)})
		}
	}
	return out, len(out) > 0
}

// inferRoot returns the destination of the COPY or ADD that puts rel at p:
// the root the agent is allowed to write p under.
func (r *Rules) inferRoot(rel, p string) string {
	for s := r.df.Target; s != nil; s = s.BaseStage {
		for _, c := range s.Copies {
			if d, ok := c.DestFor(rel); ok && path.Clean(d) == p {
				return path.Clean(c.Dest)
			}
		}
	}
	return p
}

func appendDest(ds []dest, d dest) []dest {
	if slices.ContainsFunc(ds, func(x dest) bool { return x.path == d.path }) {
		return ds
	}
	return append(ds, d)
}
