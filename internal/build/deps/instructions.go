package deps

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// dispatch applies one instruction to stage s: ARG, ENV and WORKDIR change
// its state; COPY, ADD and RUN --mount are recorded with variables expanded.
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
