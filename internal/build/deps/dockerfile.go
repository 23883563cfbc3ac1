package deps

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"skiff.dev/skiff/internal/fsutil"
)

// ParsedDockerfile is a Dockerfile with its build arguments applied: its
// stages in file order and the stage a build produces.
type ParsedDockerfile struct {
	// Stages are the FROM sections in file order.
	Stages []*Stage
	// Target is the stage the build produces: the one WithTarget named,
	// or the last.
	Target *Stage
	// Syntax is the frontend image of a "# syntax=" directive, or "".
	Syntax string
}

// Stage is one FROM section of a Dockerfile.
type Stage struct {
	// Index is the stage's position, from 0, as COPY --from=N counts.
	Index int
	// Name is the stage's AS name in lower case, or "".
	Name string
	// Base is the FROM image or stage name after ARG expansion.
	Base string
	// BaseStage is the earlier stage Base names, or nil for an image.
	BaseStage *Stage
	// Platform is the FROM --platform value after ARG expansion, or "".
	Platform string
	// Line is the line of the FROM instruction.
	Line int
	// Copies are the stage's COPY and ADD instructions in order, ONBUILD
	// triggers of the base first.
	Copies []*Copy
	// Mounts are the RUN --mount options that read the build context or
	// another stage (bind mounts, and cache mounts with from=).
	Mounts []*Mount
	// Workdir is the working directory at the end of the stage.
	Workdir string
	// Reads are the other stages this stage needs: its base stage and the
	// stages its COPY --from and RUN --mount from= name, without duplicates.
	Reads []*Stage

	// Err is why the stage could not be evaluated. It is only ever set on
	// a stage the target does not need: such errors do not fail a build.
	Err error

	env *envList // variables at the end of the stage, for stages based on it
}

// Copy is a COPY or ADD instruction, with variables expanded.
type Copy struct {
	// Instruction is "COPY" or "ADD".
	Instruction string
	// Sources are the local sources as written after expansion: paths or
	// globs in the build context, or in the stage or image From names.
	Sources []string
	// Remote are ADD's URL and git sources, which are not local files.
	Remote []string
	// Heredocs are the names of inline (<<EOF) sources.
	Heredocs []string
	// Dest is the absolute destination in the image, WORKDIR applied.
	Dest string
	// DestIsDir says the destination is a directory: it ends in "/" or
	// is "." or "..".
	DestIsDir bool
	// From is the --from value: "" for the build context, else a stage
	// name, a stage index or an image.
	From string
	// FromStage is the stage From names, or nil.
	FromStage *Stage
	// Excludes are the --exclude patterns, relative to each source.
	Excludes []string
	// Parents is --parents: the sources' paths are kept under Dest, from
	// a "/./" pivot in the source if there is one.
	Parents bool
	// Chown and Chmod are the --chown and --chmod values.
	Chown, Chmod string
	// Line and EndLine are the instruction's first and last lines; an
	// ONBUILD trigger has the lines of the FROM that ran it.
	Line, EndLine int
	// Original is the instruction as written.
	Original string
	// OnBuild says the instruction is an ONBUILD trigger of the base.
	OnBuild bool
}

// FromContext reports whether the instruction reads the build context.
func (c *Copy) FromContext() bool { return c.From == "" }

// Mount is a RUN --mount that reads the build context or another stage.
type Mount struct {
	// Type is "bind" or "cache".
	Type string
	// Source is the path mounted from the context or stage ("" = all).
	Source string
	// Target is the absolute mount point in the container.
	Target string
	// From is "" for the build context, else a stage or an image.
	From string
	// FromStage is the stage From names, or nil.
	FromStage *Stage
	// Line is the line of the RUN instruction.
	Line int
	// Original is the instruction as written.
	Original string
}

// FromContext reports whether the mount reads the build context.
func (m *Mount) FromContext() bool { return m.From == "" }

// Needed returns the stages a build of the target runs, in file order: the
// target and every stage it reads from, directly or not.
func (d *ParsedDockerfile) Needed() []*Stage {
	seen := map[*Stage]bool{}
	var visit func(s *Stage)
	visit = func(s *Stage) {
		if seen[s] {
			return
		}
		seen[s] = true
		for _, r := range s.Reads {
			visit(r)
		}
	}
	visit(d.Target)
	var out []*Stage
	for _, s := range d.Stages {
		if seen[s] {
			out = append(out, s)
		}
	}
	return out
}

// ContextCopies returns the COPY and ADD instructions of the stages the
// target needs that read the build context, in file order.
func (d *ParsedDockerfile) ContextCopies() []*Copy {
	var out []*Copy
	for _, s := range d.Needed() {
		for _, c := range s.Copies {
			if c.FromContext() {
				out = append(out, c)
			}
		}
	}
	return out
}

// ParseDockerfile reads a Dockerfile, applies buildArgs (a nil value takes
// the variable from the environment; see WithLookupEnv), expands ARG and ENV
// references the way BuildKit does and resolves the target stage. Syntax
// errors come back as *DockerfileError with the line.
func ParseDockerfile(r io.Reader, buildArgs map[string]*string, opts ...Option) (*ParsedDockerfile, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	content, err := io.ReadAll(io.LimitReader(r, MaxDockerfileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", o.filename, err)
	}
	if len(content) > MaxDockerfileSize {
		return nil, fmt.Errorf("%s is more than the %s skiff reads as a Dockerfile; is it the Dockerfile?", o.filename, fsutil.Size(MaxDockerfileSize))
	}
	return parseDockerfile(content, buildArgs, o)
}

func parseDockerfile(content []byte, buildArgs map[string]*string, o *options) (*ParsedDockerfile, error) {
	syntax, _, _, _ := parser.DetectSyntax(content)
	res, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		return nil, syntaxHint(buildkitError(o.filename, err), syntax)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, syntaxHint(buildkitError(o.filename, err), syntax)
	}
	if len(stages) == 0 {
		return nil, fileError(o.filename, 0, errors.New("the Dockerfile has no FROM instruction, so there is no stage to build; add one, e.g. FROM scratch"))
	}

	args := resolveBuildArgs(buildArgs, o.lookupEnv)
	ev := &evaluator{
		o:     o,
		args:  args,
		shlex: shell.NewLex(res.EscapeToken),
		df:    &ParsedDockerfile{Syntax: syntax},
	}
	targetName := o.target
	if targetName == "" {
		targetName = stages[len(stages)-1].Name
	}
	if err := ev.globals(metaArgs, targetName); err != nil {
		return nil, err
	}
	if err := ev.declareStages(stages); err != nil {
		return nil, err
	}
	if err := ev.resolveTarget(); err != nil {
		return nil, err
	}
	if err := ev.link(); err != nil {
		return nil, err
	}
	needed := map[*Stage]bool{}
	for _, s := range ev.df.Needed() {
		needed[s] = true
	}
	for i, s := range ev.df.Stages {
		if err := ev.evaluate(i, needed[s]); err != nil {
			if needed[s] {
				return nil, err
			}
			s.Err = err
		}
	}
	return ev.df, nil
}

// syntaxHint adds to a parse error that the file asks for a frontend other
// than a stable docker/dockerfile, which may accept what this parser does
// not (labs flags, another language).
func syntaxHint(err *DockerfileError, syntax string) error {
	name := strings.TrimPrefix(syntax, "docker.io/")
	if syntax == "" || (strings.HasPrefix(name, "docker/dockerfile:") && !strings.Contains(name, "labs")) {
		return err
	}
	err.Err = fmt.Errorf("%w (the file asks for frontend %s with a syntax directive; skiff reads Dockerfiles with BuildKit's own parser and may not know that frontend's extensions)", err.Err, syntax)
	return err
}

// resolveBuildArgs turns the caller's build arguments into values: a nil
// value takes the variable from the environment, and is left out when the
// environment does not have it, so the ARG keeps its default.
func resolveBuildArgs(buildArgs map[string]*string, lookup func(string) (string, bool)) map[string]string {
	out := make(map[string]string, len(buildArgs))
	for k, v := range buildArgs {
		if v != nil {
			out[k] = *v
			continue
		}
		if lookup != nil {
			if ev, ok := lookup(k); ok {
				out[k] = ev
			}
		}
	}
	return out
}

// evaluator walks the parsed instructions the way BuildKit's dispatcher
// does, keeping only what decides which files are read and where they go.
type evaluator struct {
	o      *options
	args   map[string]string
	shlex  *shell.Lex
	global *envList
	df     *ParsedDockerfile

	raw      []instructions.Stage
	commands [][]command // per stage, ONBUILD triggers first
	byName   map[string]*Stage
	images   map[string]*ImageConfig
}

// command is an instruction with the lines it is reported at.
type command struct {
	cmd       instructions.Command
	line, end int
	onBuild   bool
	original  string
}

// globals computes the arguments FROM lines see: the predefined platform
// arguments and TARGETSTAGE (the target's name, "default" when it has
// none), then the ARGs before the first FROM, build arguments winning.
func (ev *evaluator) globals(metaArgs []instructions.ArgCommand, target string) error {
	p := ev.o.platform
	if target == "" {
		target = "default"
	}
	env := &envList{}
	for _, kv := range [][2]string{
		{"BUILDPLATFORM", p.String()}, {"BUILDOS", p.os}, {"BUILDOSVERSION", ""},
		{"BUILDARCH", p.arch}, {"BUILDVARIANT", p.variant},
		{"TARGETPLATFORM", p.String()}, {"TARGETOS", p.os}, {"TARGETOSVERSION", ""},
		{"TARGETARCH", p.arch}, {"TARGETVARIANT", p.variant}, {"TARGETSTAGE", target},
	} {
		v := kv[1]
		if bv, ok := ev.args[kv[0]]; ok {
			v = bv
		}
		env.set(kv[0], v)
	}
	for _, cmd := range metaArgs {
		for _, kv := range cmd.Args {
			if v, ok := ev.args[kv.Key]; ok {
				env.set(kv.Key, v)
				continue
			}
			if kv.Value == nil {
				continue
			}
			v, _, err := ev.shlex.ProcessWord(*kv.Value, env)
			if err != nil {
				return fileError(ev.o.filename, line(cmd.Location()), fmt.Errorf("expanding ARG %s: %w", kv.Key, err))
			}
			env.set(kv.Key, v)
		}
	}
	ev.global = env
	return nil
}

// declareStages expands each FROM line and links a stage to the earlier
// stage it is based on.
func (ev *evaluator) declareStages(stages []instructions.Stage) error {
	ev.raw = stages
	ev.byName = map[string]*Stage{}
	for i, st := range stages {
		s := &Stage{Index: i, Name: st.Name, Line: line(st.Location)}
		base, _, err := ev.shlex.ProcessWord(st.BaseName, ev.global)
		if err != nil {
			return fileError(ev.o.filename, s.Line, fmt.Errorf("expanding the FROM image %q: %w", st.BaseName, err))
		}
		if base == "" {
			return fileError(ev.o.filename, s.Line, fmt.Errorf("the FROM image %q expands to nothing; give its ARG a default before the first FROM or pass it as a build argument", st.BaseName))
		}
		s.Base = base
		if b, ok := ev.byName[strings.ToLower(base)]; ok {
			s.BaseStage = b
		}
		if st.Platform != "" {
			s.Platform, _, err = ev.shlex.ProcessWord(st.Platform, ev.global)
			if err != nil {
				return fileError(ev.o.filename, s.Line, fmt.Errorf("expanding --platform %q: %w", st.Platform, err))
			}
		}
		if s.Name != "" {
			ev.byName[s.Name] = s
		}
		ev.df.Stages = append(ev.df.Stages, s)
	}
	return nil
}

func (ev *evaluator) resolveTarget() error {
	if ev.o.target == "" {
		ev.df.Target = ev.df.Stages[len(ev.df.Stages)-1]
		return nil
	}
	if s, ok := ev.byName[strings.ToLower(ev.o.target)]; ok {
		ev.df.Target = s
		return nil
	}
	var names []string
	for _, s := range ev.df.Stages {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	hint := "the Dockerfile names no stage (FROM image AS name)"
	if len(names) > 0 {
		hint = "its named stages are " + strings.Join(names, ", ")
	}
	return fileError(ev.o.filename, 0, fmt.Errorf("target stage %q not found: %s; fix the artifact's docker.target", ev.o.target, hint))
}

// link collects each stage's commands, with the ONBUILD triggers of its base
// stage first, and records which stages each stage reads from.
func (ev *evaluator) link() error {
	ev.commands = make([][]command, len(ev.raw))
	for i, st := range ev.raw {
		s := ev.df.Stages[i]
		var cmds []command
		if s.BaseStage != nil {
			triggers, err := ev.onBuildOf(s.BaseStage, s)
			if err != nil {
				return err
			}
			cmds = append(cmds, triggers...)
		}
		for _, c := range st.Commands {
			start, end := lines(c.Location())
			cmds = append(cmds, command{cmd: c, line: start, end: end, original: commandText(c)})
		}
		ev.commands[i] = cmds
		if s.BaseStage != nil {
			s.addRead(s.BaseStage)
		}
		for _, c := range cmds {
			for _, from := range sourcesOf(c.cmd) {
				src, err := ev.stageRef(from.name, from.index, s, c)
				if err != nil {
					return err
				}
				if src != nil {
					s.addRead(src)
				}
			}
		}
	}
	return nil
}

// onBuildOf parses the ONBUILD triggers of base, a stage of this file, as
// commands of child, reported at child's FROM line as BuildKit does.
func (ev *evaluator) onBuildOf(base, child *Stage) ([]command, error) {
	var exprs []string
	for _, c := range ev.raw[base.Index].Commands {
		if ob, ok := c.(*instructions.OnbuildCommand); ok {
			exprs = append(exprs, ob.Expression)
		}
	}
	return ev.triggers(exprs, child)
}

func (ev *evaluator) triggers(exprs []string, child *Stage) ([]command, error) {
	var out []command
	for _, expr := range exprs {
		res, err := parser.Parse(strings.NewReader(expr))
		if err != nil || len(res.AST.Children) != 1 {
			if err == nil {
				err = errors.New("it is not a single instruction")
			}
			return nil, fileError(ev.o.filename, child.Line, fmt.Errorf("parsing the ONBUILD trigger %q of the base of this stage: %v", expr, err))
		}
		c, err := instructions.ParseCommand(res.AST.Children[0])
		if err != nil {
			return nil, fileError(ev.o.filename, child.Line, fmt.Errorf("parsing the ONBUILD trigger %q of the base of this stage: %v", expr, err))
		}
		out = append(out, command{cmd: c, line: child.Line, end: child.Line, onBuild: true, original: "ONBUILD " + strings.TrimSpace(expr)})
	}
	return out, nil
}

type stageRefName struct {
	name  string
	index bool // a COPY --from, where a number is a stage index
}

// sourcesOf returns the --from and mount from= names a command reads.
func sourcesOf(c instructions.Command) []stageRefName {
	switch c := c.(type) {
	case *instructions.CopyCommand:
		if c.From != "" {
			return []stageRefName{{name: c.From, index: true}}
		}
	case *instructions.RunCommand:
		var out []stageRefName
		for _, m := range instructions.GetMounts(c) {
			if m.From != "" {
				out = append(out, stageRefName{name: m.From})
			}
		}
		return out
	}
	return nil
}

// stageRef resolves a --from name as BuildKit does: a number is a stage
// index (COPY only), a name is a stage if one has it, anything else is an
// image. It returns nil for an image.
func (ev *evaluator) stageRef(name string, allowIndex bool, s *Stage, c command) (*Stage, error) {
	if strings.Contains(name, "$") {
		return nil, fileError(ev.o.filename, c.line, fmt.Errorf("--from=%s: variables are not expanded in --from; define a stage with FROM ${VAR} AS name and use that name", name))
	}
	if allowIndex {
		if n, err := strconv.Atoi(name); err == nil {
			if n < 0 || n >= len(ev.df.Stages) {
				return nil, fileError(ev.o.filename, c.line, fmt.Errorf("--from=%d: there is no stage %d (the Dockerfile has %d stages, counted from 0)", n, n, len(ev.df.Stages)))
			}
			if n >= s.Index {
				return nil, fileError(ev.o.filename, c.line, fmt.Errorf("--from=%d: a stage can only read stages above it, and this is stage %d", n, s.Index))
			}
			return ev.df.Stages[n], nil
		}
	}
	src, ok := ev.byName[strings.ToLower(name)]
	if !ok {
		return nil, nil
	}
	if src.Index >= s.Index {
		return nil, fileError(ev.o.filename, c.line, fmt.Errorf("--from=%s: stage %q is defined at line %d, after the stage that reads it; move it above", name, src.Name, src.Line))
	}
	return src, nil
}

func (s *Stage) addRead(r *Stage) {
	if !slices.Contains(s.Reads, r) {
		s.Reads = append(s.Reads, r)
	}
}

// evaluate runs stage i's instructions: ARG, ENV and WORKDIR change the
// state; COPY, ADD and RUN --mount are recorded with variables expanded.
// Base images' configs are looked up for needed stages only.
func (ev *evaluator) evaluate(i int, needed bool) error {
	s := ev.df.Stages[i]
	env := &envList{}
	s.Workdir = "/"
	if b := s.BaseStage; b != nil {
		if b.Err != nil {
			return b.Err
		}
		env = b.env.clone()
		s.Workdir = b.Workdir
	} else if ev.o.imageConfig != nil && s.Base != "scratch" && needed {
		cfg, err := ev.imageConfig(s.Base)
		if err != nil {
			return fileError(ev.o.filename, s.Line, fmt.Errorf("reading the config of base image %s: %w", s.Base, err))
		}
		if cfg != nil {
			for _, kv := range cfg.Env {
				k, v, _ := strings.Cut(kv, "=")
				env.set(k, v)
			}
			if cfg.WorkingDir != "" {
				s.Workdir = path.Join("/", cfg.WorkingDir)
			}
			triggers, err := ev.triggers(cfg.OnBuild, s)
			if err != nil {
				return err
			}
			for _, t := range triggers {
				for _, from := range sourcesOf(t.cmd) {
					src, err := ev.stageRef(from.name, from.index, s, t)
					if err != nil {
						return err
					}
					if src != nil {
						s.addRead(src)
					}
				}
			}
			ev.commands[i] = append(triggers, ev.commands[i]...)
		}
	}
	s.env = env

	for _, c := range ev.commands[i] {
		if err := ev.dispatch(s, c); err != nil {
			return err
		}
	}
	return nil
}

// imageConfig looks up a base image's config once per parse.
func (ev *evaluator) imageConfig(image string) (*ImageConfig, error) {
	if cfg, ok := ev.images[image]; ok {
		return cfg, nil
	}
	cfg, err := ev.o.imageConfig(image)
	if err != nil {
		return nil, err
	}
	if ev.images == nil {
		ev.images = map[string]*ImageConfig{}
	}
	ev.images[image] = cfg
	return cfg, nil
}

func (ev *evaluator) dispatch(s *Stage, c command) error {
	env := s.env
	expand := func(word string) (string, error) {
		v, _, err := ev.shlex.ProcessWord(word, env)
		return v, err
	}
	fail := func(what string, err error) error {
		return fileError(ev.o.filename, c.line, fmt.Errorf("%s: expanding %s: %w", strings.TrimSpace(c.original), what, err))
	}
	switch cmd := c.cmd.(type) {
	case *instructions.ArgCommand:
		for _, kv := range cmd.Args {
			if v, ok := ev.args[kv.Key]; ok {
				env.set(kv.Key, v)
				continue
			}
			if kv.Value != nil {
				v, err := expand(*kv.Value)
				if err != nil {
					return fail("ARG "+kv.Key, err)
				}
				env.set(kv.Key, v)
				continue
			}
			if v, ok := ev.global.Get(kv.Key); ok {
				env.set(kv.Key, v)
			}
		}
	case *instructions.EnvCommand:
		if err := cmd.Expand(expand); err != nil {
			return fail("ENV", err)
		}
		for _, kv := range cmd.Env {
			env.set(kv.Key, kv.Value)
		}
	case *instructions.WorkdirCommand:
		if err := cmd.Expand(expand); err != nil {
			return fail("WORKDIR", err)
		}
		s.Workdir = resolveDir(s.Workdir, cmd.Path)
	case *instructions.CopyCommand:
		if err := cmd.Expand(expand); err != nil {
			return fail("its arguments", err)
		}
		cp := ev.newCopy(s, c, "COPY", cmd.SourcesAndDest)
		cp.From = cmd.From
		cp.Excludes = cmd.ExcludePatterns
		cp.Parents = cmd.Parents
		cp.Chown, cp.Chmod = cmd.Chown, cmd.Chmod
		if cp.From != "" {
			cp.FromStage, _ = ev.stageRef(cp.From, true, s, c)
		}
		s.Copies = append(s.Copies, cp)
	case *instructions.AddCommand:
		if err := cmd.Expand(expand); err != nil {
			return fail("its arguments", err)
		}
		cp := ev.newCopy(s, c, "ADD", cmd.SourcesAndDest)
		cp.Excludes = cmd.ExcludePatterns
		cp.Chown, cp.Chmod = cmd.Chown, cmd.Chmod
		local := cp.Sources[:0]
		for _, src := range cp.Sources {
			if isRemote(src) {
				cp.Remote = append(cp.Remote, src)
			} else {
				local = append(local, src)
			}
		}
		cp.Sources = local
		s.Copies = append(s.Copies, cp)
	case *instructions.RunCommand:
		if err := cmd.Expand(expand); err != nil {
			return fail("--mount", err)
		}
		for _, m := range instructions.GetMounts(cmd) {
			if m.Type != instructions.MountTypeBind && (m.Type != instructions.MountTypeCache || m.From == "") {
				continue
			}
			mt := &Mount{
				Type:     string(m.Type),
				Source:   m.Source,
				Target:   resolveDir(s.Workdir, m.Target),
				From:     m.From,
				Line:     c.line,
				Original: c.original,
			}
			if m.From != "" {
				mt.FromStage, _ = ev.stageRef(m.From, false, s, c)
			}
			s.Mounts = append(s.Mounts, mt)
		}
	}
	return nil
}

func (ev *evaluator) newCopy(s *Stage, c command, name string, sd instructions.SourcesAndDest) *Copy {
	cp := &Copy{
		Instruction: name,
		Sources:     slices.Clone(sd.SourcePaths),
		Line:        c.line,
		EndLine:     c.end,
		Original:    c.original,
		OnBuild:     c.onBuild,
	}
	for _, h := range sd.SourceContents {
		cp.Heredocs = append(cp.Heredocs, h.Path)
	}
	dest := sd.DestPath
	base := path.Base(dest)
	cp.DestIsDir = dest == "" || strings.HasSuffix(dest, "/") || base == "." || base == ".."
	cp.Dest = resolveDir(s.Workdir, dest)
	return cp
}

// isRemote reports whether an ADD source is a URL or a git remote rather
// than a path in the build context.
func isRemote(src string) bool {
	for _, p := range []string{"http://", "https://", "git://", "git@", "ssh://"} {
		if strings.HasPrefix(src, p) {
			return true
		}
	}
	return false
}

// resolveDir is the directory reached by changing into p from cwd.
func resolveDir(cwd, p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Join("/", cwd, p)
}

// commandText is an instruction's source text.
func commandText(c instructions.Command) string {
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return c.Name()
}

func line(r []parser.Range) int {
	start, _ := lines(r)
	return start
}

func lines(r []parser.Range) (start, end int) {
	if len(r) == 0 {
		return 0, 0
	}
	return r[0].Start.Line, r[len(r)-1].End.Line
}

// envList is an ordered set of variables, as shell.EnvGetter wants them.
type envList struct {
	keys []string
	vals map[string]string
}

func (e *envList) set(k, v string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	nk := shell.NormalizeEnvKey(k)
	if _, ok := e.vals[nk]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[nk] = v
}

// Get returns a variable's value.
func (e *envList) Get(k string) (string, bool) {
	v, ok := e.vals[shell.NormalizeEnvKey(k)]
	return v, ok
}

// Keys returns the variables' names in the order they were first set.
func (e *envList) Keys() []string { return e.keys }

func (e *envList) clone() *envList {
	c := &envList{keys: slices.Clone(e.keys), vals: make(map[string]string, len(e.vals))}
	for k, v := range e.vals {
		c.vals[k] = v
	}
	return c
}
