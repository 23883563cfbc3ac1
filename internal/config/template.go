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
	return funcs
})

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
	var b strings.Builder
	if err := t.Execute(&b, map[string]string(env)); err != nil {
		return "", fmt.Errorf("template %q: %w", text, err)
	}
	return b.String(), nil
}

func runCmd(name string, args ...string) (string, error) {
	out, err := exec.CommandContext(context.Background(), name, args...).Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && len(exitErr.Stderr) > 0 {
			return "", fmt.Errorf("running %s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(exitErr.Stderr))
		}
		return "", fmt.Errorf("running %s %s: %w", name, strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
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
