package deps

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

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
