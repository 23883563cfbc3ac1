package config

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"github.com/Masterminds/sprig/v3"

	"skiff.dev/skiff/internal/fsutil"
)

// EnvFile is the file of KEY=value lines, next to the root config, whose
// values templates (and SKAFFOLD_*/SKIFF_* flag defaults) see when the
// process environment does not set them.
const EnvFile = "skaffold.env"

// maxEnvFileSize bounds skaffold.env, a file of a few KEY=value lines.
const maxEnvFileSize = 1 << 20

// Env is what templated fields see as their dot: environment variables
// first, then the values of skaffold.env that the environment lacks.
type Env map[string]string

// NewEnv builds an Env from environ (KEY=value entries, as os.Environ
// returns) and the skaffold.env file in dir, if there is one.
func NewEnv(environ []string, dir string) (Env, error) {
	env := Env{}
	if dir != "" {
		file := filepath.Join(dir, EnvFile)
		data, err := fsutil.ReadRegular(file, maxEnvFileSize)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", file, err)
		default:
			if err := parseEnvFile(file, data, env); err != nil {
				return nil, err
			}
		}
	}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env, nil
}

// parseEnvFile reads KEY=value lines; blank lines and # comments are
// skipped, and a value may be quoted.
func parseEnvFile(file string, data []byte, into Env) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		text = strings.TrimPrefix(text, "export ")
		k, v, ok := strings.Cut(text, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return &Error{File: file, Line: line, Column: 1, Msg: fmt.Sprintf("expected KEY=value, got %q", text)}
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		into[k] = v
	}
	return sc.Err()
}

// Lookup returns the value of key and whether it is set.
func (e Env) Lookup(key string) (string, bool) {
	v, ok := e[key]
	return v, ok
}

// With returns a copy of e with extra values (e.g. IMAGE_REPO_x) added.
func (e Env) With(extra map[string]string) Env {
	out := make(Env, len(e)+len(extra))
	for k, v := range e {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// ParseTemplate parses a templated field: Go text/template with the Sprig
// functions (default, lower, ...) and cmd, which runs a command and yields
// its trimmed output.
func ParseTemplate(text string) (*template.Template, error) {
	return template.New("field").Funcs(templateFuncs()).Option("missingkey=zero").Parse(text)
}

// CheckTemplate reports a syntax error in a templated field without
// running it (a {{cmd}} would run a command).
func CheckTemplate(text string) error {
	_, err := parse.Parse("field", text, "", "", templateFuncNames())
	return err
}

// templateFuncNames is the set of function names templates may call, for
// checking syntax without building a template each time.
var templateFuncNames = sync.OnceValue(func() map[string]any {
	names := map[string]any{}
	for k, v := range templateFuncs() {
		names[k] = v
	}
	return names
})

// templateFuncs builds the function map once: Sprig's is large.
var templateFuncs = sync.OnceValue(func() template.FuncMap {
	funcs := sprig.TxtFuncMap()
	funcs["cmd"] = runCmd
	boundSprig(funcs)
	return funcs
})

// MaxTemplateOutput bounds what one templated field may expand to.
const MaxTemplateOutput = 1 << 20

// boundSprig replaces the Sprig functions that build a value as large as
// an argument says ({{repeat 1000000000 "x"}} is a gigabyte before
// anything is written) with ones that refuse to go past
// MaxTemplateOutput.
func boundSprig(funcs template.FuncMap) {
	check := func(name string, size int64) error {
		if size < 0 || size > MaxTemplateOutput {
			return fmt.Errorf("%s would make a value of %d bytes or items, more than the %s a templated field may expand to; use a smaller count", name, size, fsutil.Size(MaxTemplateOutput))
		}
		return nil
	}
	repeat := funcs["repeat"].(func(int, string) string)
	funcs["repeat"] = func(count int, str string) (string, error) {
		if err := check("repeat", int64(count)*int64(max(len(str), 1))); err != nil && count > 0 {
			return "", err
		}
		return repeat(count, str), nil
	}
	untilStep := funcs["untilStep"].(func(int, int, int) []int)
	span := func(start, stop, step int) int64 {
		if step == 0 {
			return 0
		}
		n := (int64(stop) - int64(start)) / int64(step)
		return max(n, -n)
	}
	funcs["untilStep"] = func(start, stop, step int) ([]int, error) {
		if err := check("untilStep", span(start, stop, step)); err != nil {
			return nil, err
		}
		return untilStep(start, stop, step), nil
	}
	until := funcs["until"].(func(int) []int)
	funcs["until"] = func(count int) ([]int, error) {
		if err := check("until", span(0, count, 1)); err != nil {
			return nil, err
		}
		return until(count), nil
	}
	seq := funcs["seq"].(func(...int) string)
	funcs["seq"] = func(params ...int) (string, error) {
		for _, p := range params {
			if err := check("seq", span(0, p, 1)); err != nil {
				return "", err
			}
		}
		return seq(params...), nil
	}
	indent := funcs["indent"].(func(int, string) string)
	indentSize := func(spaces int, v string) int64 {
		return int64(spaces)*int64(strings.Count(v, "\n")+1) + int64(len(v))
	}
	funcs["indent"] = func(spaces int, v string) (string, error) {
		if err := check("indent", indentSize(spaces, v)); err != nil {
			return "", err
		}
		return indent(spaces, v), nil
	}
	funcs["nindent"] = func(spaces int, v string) (string, error) {
		if err := check("nindent", indentSize(spaces, v)); err != nil {
			return "", err
		}
		return "\n" + indent(spaces, v), nil
	}
	for _, name := range []string{"randAlphaNum", "randAlpha", "randAscii", "randNumeric"} {
		f := funcs[name].(func(int) string)
		funcs[name] = func(count int) (string, error) {
			if err := check(name, int64(count)); err != nil {
				return "", err
			}
			return f(count), nil
		}
	}
	randBytes := funcs["randBytes"].(func(int) (string, error))
	funcs["randBytes"] = func(count int) (string, error) {
		if err := check("randBytes", int64(count)); err != nil {
			return "", err
		}
		return randBytes(count)
	}
}

// limitedWriter fails a write that would take it past max bytes, and
// keeps that error.
type limitedWriter struct {
	strings.Builder
	max int
	err error
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.Len()+len(p) > w.max {
		w.err = fmt.Errorf("the field expands to more than %s; make the template produce less", fsutil.Size(int64(w.max)))
		return 0, w.err
	}
	return w.Builder.Write(p)
}

// Expand evaluates a templated field against env. A missing variable
// expands to the empty string, as in Skaffold.
func Expand(text string, env Env) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := ParseTemplate(text)
	if err != nil {
		return "", fmt.Errorf("template %q: %w", text, err)
	}
	b := &limitedWriter{max: MaxTemplateOutput}
	if err := t.Execute(b, map[string]string(env)); err != nil {
		return "", fmt.Errorf("template %q: %w", fsutil.Excerpt(text), err)
	}
	return b.String(), nil
}

func runCmd(name string, args ...string) (string, error) {
	// What the command prints is bounded: its output as a templated
	// field's, its error output as what an error quotes.
	out, errOut := &limitedWriter{max: MaxTemplateOutput}, &limitedWriter{max: 4096}
	cmd := exec.CommandContext(context.Background(), name, args...)
	cmd.Stdout, cmd.Stderr = out, errOut
	if err := cmd.Run(); err != nil {
		if out.err != nil {
			return "", fmt.Errorf("running %s %s: %w", name, strings.Join(args, " "), out.err)
		}
		if msg := strings.TrimSpace(errOut.String()); msg != "" {
			return "", fmt.Errorf("running %s %s: %w: %s", name, strings.Join(args, " "), err, msg)
		}
		return "", fmt.Errorf("running %s %s: %w", name, strings.Join(args, " "), err)
	}
	return strings.TrimSpace(out.String()), nil
}

// ImageEnv splits an image reference the way Skaffold's docker builder
// does for build argument templates: IMAGE_REPO is everything before the
// last slash, IMAGE_NAME what follows it and IMAGE_TAG the tag (latest
// when there is none). Where the tag is not known yet (listing sources,
// computing cache keys), callers pass the untagged image name, so that
// every step expands the same build args.
func ImageEnv(ref string) map[string]string {
	name, _, _ := strings.Cut(ref, "@")
	tag := "latest"
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	repo, base := "", name
	if i := strings.LastIndex(name, "/"); i >= 0 {
		repo, base = name[:i], name[i+1:]
	}
	return map[string]string{"IMAGE_REPO": repo, "IMAGE_NAME": base, "IMAGE_TAG": tag}
}

// ExpandBuildArgs expands the templated values of Docker build args; an
// arg named without a value stays nil (Docker then takes it from the
// environment).
func ExpandBuildArgs(args map[string]*string, env Env) (map[string]*string, error) {
	out := make(map[string]*string, len(args))
	for k, v := range args {
		if v == nil {
			out[k] = nil
			continue
		}
		s, err := Expand(*v, env)
		if err != nil {
			return nil, fmt.Errorf("build arg %s: %w", k, err)
		}
		out[k] = &s
	}
	return out, nil
}
