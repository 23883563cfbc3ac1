package deps

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
