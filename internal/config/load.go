// Package config loads skaffold.yaml (or skiff.yaml) into skiff's one
// configuration model: every supported apiVersion upgraded to the newest,
// required modules loaded, profiles applied, defaults filled in and the
// result validated, with every problem reported at its file:line:column.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/config/upgrade"
	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/yamlnode"
)

// DefaultFile is the config file looked for when none is named; AltFile is
// tried when it does not exist.
const (
	DefaultFile = "skaffold.yaml"
	AltFile     = "skiff.yaml"
)

// Options says which configuration to load and how to select from it.
type Options struct {
	// File is the config file (-f). Empty means skaffold.yaml, then skiff.yaml.
	File string
	// Profiles are the -p values; each may be a comma list, and a name
	// starting with "-" deactivates that profile.
	Profiles []string
	// Modules are the -m values: the names of the configs to keep (with
	// the configs they require).
	Modules []string
	// Command is the skiff command being run (build, dev, ...), for
	// profile activation by command.
	Command string
	// KubeContext is the --kube-context flag; when empty, profile
	// activation by kubeContext asks CurrentKubeContext.
	KubeContext string
	// CurrentKubeContext returns the kubeconfig's current context, "" when
	// it sets none (such profiles then stay inactive, as in Skaffold). It
	// is called only when a profile is activated by kubeContext.
	CurrentKubeContext func() (string, error)
	// Environ is the process environment (os.Environ()), for profile
	// activation and templates.
	Environ []string
	// NoProfileAutoActivation ignores the profiles' activation conditions
	// (--profile-auto-activation=false): only -p and requires entries
	// activate profiles.
	NoProfileAutoActivation bool
	// NoProfilePropagation applies the -p profiles to the configs of the
	// root file only, not to the configs they require
	// (--propagate-profiles=false).
	NoProfilePropagation bool
}

// Config is one configuration document after upgrade, profiles and
// defaults.
type Config struct {
	schema.SkaffoldConfig
	// File is the file the document came from, as the user named it.
	File string
	// Dir is the absolute directory relative paths in the document are
	// resolved against.
	Dir string
	// Index is the position of the document in its file, from 0.
	Index int
	// ActiveProfiles are the profiles applied, in the order applied.
	ActiveProfiles []string
	// Requires are the configs this one requires.
	Requires []*Config
	// DefinedProfiles are the profiles the document defines, as written
	// (the effective config has none: they are applied); skiff inspect
	// lists them.
	DefinedProfiles []schema.Profile

	node *yaml.Node // the upgraded document, for locating errors
}

// Name is the config's metadata.name, or file#index when it has none.
func (c *Config) Name() string {
	if c.Metadata.Name != "" {
		return c.Metadata.Name
	}
	return fmt.Sprintf("%s#%d", c.File, c.Index)
}

// Project is everything one command works on: the documents of the root
// file and the modules they require, required configs first.
type Project struct {
	Configs []*Config
	// Env is what templated fields see (environment, then skaffold.env).
	Env Env
	// Notes say how old apiVersions were upgraded; `skiff fix` prints them.
	Notes []string
	// User are the global config's settings (~/.skaffold/config) for the
	// kube context skiff works with; the caller reads them (see
	// ReadGlobalConfig and GlobalConfig.ForContext) and sets them.
	User ContextConfig
}

// Artifacts returns every artifact of every config, in config order.
func (p *Project) Artifacts() []*schema.Artifact {
	var out []*schema.Artifact
	for _, c := range p.Configs {
		out = append(out, c.Build.Artifacts...)
	}
	return out
}

// ResolveFile returns the config file to read: name if given, else
// skaffold.yaml, else skiff.yaml.
func ResolveFile(name string) (string, error) {
	if name != "" {
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("config file %s: %w; point -f at your skaffold.yaml", name, errors.Unwrap(err))
		}
		return name, nil
	}
	for _, f := range []string{DefaultFile, AltFile} {
		if _, err := os.Stat(f); err == nil {
			return f, nil
		}
	}
	wd, _ := os.Getwd()
	return "", fmt.Errorf("no %s or %s in %s: run skiff in your project's directory, or point -f at the config file", DefaultFile, AltFile, wd)
}

// Load reads, upgrades, selects and validates the configuration.
func Load(opts Options) (*Project, error) {
	file, err := ResolveFile(opts.File)
	if err != nil {
		return nil, err
	}
	root, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return nil, err
	}
	env, err := NewEnv(opts.Environ, root)
	if err != nil {
		return nil, err
	}
	l := &loader{
		opts:   opts,
		env:    env,
		budget: NewBudget(ConfigLimits),
		files:  map[string][]*document{},
		loaded: map[docKey]*Config{},
		named:  map[string]*Config{},
	}
	l.cliOn, l.cliOff = splitProfiles(opts.Profiles)
	if _, err := l.loadFile(file, nil, nil, nil); err != nil {
		return nil, err
	}
	if err := l.checkProfilesExist(); err != nil {
		return nil, err
	}
	configs, err := selectModules(l.order, opts.Modules)
	if err != nil {
		return nil, err
	}
	p := &Project{Configs: configs, Env: env, Notes: l.notes}
	if err := validate(p); err != nil {
		return nil, err
	}
	return p, nil
}

// document is one parsed and upgraded YAML document of a file.
type document struct {
	node *yaml.Node
	cfg  schema.SkaffoldConfig
}

type docKey struct {
	file  string
	index int
}

type loader struct {
	opts   Options
	env    Env
	cliOn  []string
	cliOff []string

	files   map[string][]*document // by absolute path
	loaded  map[docKey]*Config
	loading []docKey // the requires chain being loaded, for cycles
	named   map[string]*Config
	order   []*Config // dependencies first
	notes   []string
	budget  *Budget         // shared by all files of the project
	seenCLI map[string]bool // -p names some config defines
	kubeCtx *string
}

// loadFile loads the documents of file (only those named in names, when
// given) and returns them. parentActive and required describe the
// requiring config's active profiles and its activeProfiles list.
func (l *loader) loadFile(file string, names []string, parentActive []string, required []schema.ProfileDependency) ([]*Config, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	docs, err := l.parse(file, abs)
	if err != nil {
		return nil, err
	}
	var out []*Config
	found := map[string]bool{}
	for i, d := range docs {
		if len(names) > 0 && !slices.Contains(names, d.cfg.Metadata.Name) {
			continue
		}
		found[d.cfg.Metadata.Name] = true
		c, err := l.loadDoc(file, abs, i, d, parentActive, required)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	for _, n := range names {
		if !found[n] {
			var have []string
			for _, d := range docs {
				if d.cfg.Metadata.Name != "" {
					have = append(have, d.cfg.Metadata.Name)
				}
			}
			return nil, fmt.Errorf("%s has no config named %q (it has: %s); check requires[].configs", file, n, listOrNone(have))
		}
	}
	return out, nil
}

func (l *loader) loadDoc(file, abs string, index int, d *document, parentActive []string, required []schema.ProfileDependency) (*Config, error) {
	key := docKey{abs, index}
	active, err := l.activeProfiles(file, d, parentActive, required)
	if err != nil {
		return nil, err
	}
	if c, ok := l.loaded[key]; ok {
		if !slices.Equal(c.ActiveProfiles, active) {
			return nil, fmt.Errorf("config %s is required more than once with different profiles (%s and %s); require it once, or give it the same activeProfiles everywhere",
				c.Name(), listOrNone(c.ActiveProfiles), listOrNone(active))
		}
		return c, nil
	}
	if slices.Contains(l.loading, key) {
		return nil, fmt.Errorf("configs require each other in a cycle: %s; remove one of these requires", l.chain(key))
	}
	l.loading = append(l.loading, key)
	defer func() { l.loading = l.loading[:len(l.loading)-1] }()

	// Decode a fresh copy from the tree, so that applying profiles to one
	// use of a document never changes another.
	var cfg schema.SkaffoldConfig
	if err := d.node.Decode(&cfg); err != nil {
		return nil, &Error{File: file, Line: d.node.Line, Column: d.node.Column, Msg: cleanDecodeError(err)}
	}
	c := &Config{SkaffoldConfig: cfg, File: file, Dir: filepath.Dir(abs), Index: index, node: d.node}
	if err := applyProfiles(c, active); err != nil {
		return nil, err
	}
	c.ActiveProfiles = active
	c.DefinedProfiles = c.Profiles
	c.Profiles = nil
	setDefaults(c)
	if wd, _ := os.Getwd(); c.Dir != wd {
		// Relative paths are relative to the config's own directory; stages
		// resolve paths against the working directory, so make them absolute.
		makePathsAbsolute(reflect.ValueOf(&c.Pipeline).Elem(), c.Dir)
	}

	for i, dep := range c.Dependencies {
		where := locate(c, "requires", i)
		switch {
		case dep.GitRepo != nil:
			return nil, where.errorf("remote configs from git are not supported by skiff yet; clone %s and require it by path", dep.GitRepo.Repo)
		case dep.GoogleCloudStorageInfo != nil:
			return nil, where.errorf("remote configs from Google Cloud Storage are not supported by skiff yet; copy them locally and require them by path")
		case dep.Path == "" && len(dep.Names) == 0:
			return nil, where.errorf("a requires entry needs a path or configs")
		}
		target := file
		if dep.Path != "" {
			target = dep.Path
			if !filepath.IsAbs(target) {
				target = filepath.Join(c.Dir, target)
			}
			if st, err := os.Stat(target); err == nil && st.IsDir() {
				target = filepath.Join(target, DefaultFile)
				if _, err := os.Stat(target); err != nil {
					if alt := filepath.Join(filepath.Dir(target), AltFile); fileExists(alt) {
						target = alt
					}
				}
			}
			st, err := os.Stat(target)
			switch {
			case err != nil:
				return nil, where.errorf("required config %s does not exist; fix requires[%d].path", dep.Path, i)
			case !st.Mode().IsRegular():
				return nil, where.errorf("required config %s is %s, not a config file; point requires[%d].path at a config file or its directory", dep.Path, fsutil.TypeName(st.Mode()), i)
			}
			target = l.displayPath(target)
		} else if len(dep.Names) > 0 && slices.Contains(dep.Names, c.Metadata.Name) {
			return nil, where.errorf("config %q requires itself", c.Metadata.Name)
		}
		reqs, err := l.loadFile(target, dep.Names, active, dep.ActiveProfiles)
		if err != nil {
			return nil, err
		}
		c.Requires = append(c.Requires, reqs...)
	}

	if name := c.Metadata.Name; name != "" {
		if other, dup := l.named[name]; dup {
			return nil, locate(c, "metadata", "name").errorf("two configs are named %q (the other is in %s); config names must be unique", name, other.File)
		}
		l.named[name] = c
	}
	l.loaded[key] = c
	l.order = append(l.order, c)
	return c, nil
}

func (l *loader) chain(key docKey) string {
	var parts []string
	start := slices.Index(l.loading, key)
	for _, k := range l.loading[start:] {
		parts = append(parts, fmt.Sprintf("%s#%d", l.displayPath(k.file), k.index))
	}
	parts = append(parts, fmt.Sprintf("%s#%d", l.displayPath(key.file), key.index))
	return strings.Join(parts, " -> ")
}

// displayPath shows a path relative to the working directory when it is
// under it.
func (l *loader) displayPath(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}

// parse reads, upgrades and checks every document of a file, once.
func (l *loader) parse(file, abs string) ([]*document, error) {
	if docs, ok := l.files[abs]; ok {
		return docs, nil
	}
	data, err := ReadFile(abs)
	if err != nil {
		return nil, err
	}
	docs, notes, err := parseDocuments(file, data, l.budget)
	if err != nil {
		return nil, err
	}
	l.notes = append(l.notes, notes...)
	l.files[abs] = docs
	return docs, nil
}

// MaxConfigSize bounds what is read as a config file. Skaffold configs
// are a few KB; at this size `skiff diagnose` stays well under 200 MB (see
// docs/limits.md).
const MaxConfigSize = 1 << 20

// ReadFile reads a config file, refusing anything but a regular file of at
// most MaxConfigSize (a requires path naming a device or a pipe must not
// hang).
func ReadFile(path string) ([]byte, error) {
	data, err := fsutil.ReadRegular(path, MaxConfigSize)
	switch {
	case errors.Is(err, fsutil.ErrTooLarge):
		return nil, fmt.Errorf("config %w", err)
	case err != nil:
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return data, nil
}

// ParseDocuments parses every YAML document of a config file, upgrades each
// to the newest apiVersion, checks it against the schema and decodes it.
// All problems of the file are returned together.
func ParseDocuments(file string, data []byte) ([]*document, []string, error) {
	return parseDocuments(file, data, NewBudget(ConfigLimits))
}

// parseDocuments is ParseDocuments counting the file against budget.
func parseDocuments(file string, data []byte, budget *Budget) ([]*document, []string, error) {
	nodes, err := splitDocuments(file, data, budget)
	if err != nil {
		return nil, nil, err
	}
	var (
		docs  []*document
		notes []string
		errs  Errors
	)
	for _, n := range nodes {
		dropAnchorHolders(n)
		ns, err := UpgradeDocument(file, n)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				errs = append(errs, e)
				continue
			}
			return nil, nil, err
		}
		notes = append(notes, ns...)
		ck := &checker{file: file}
		ck.check(n, reflect.TypeFor[schema.SkaffoldConfig](), "")
		if len(ck.errs) > 0 {
			errs = append(errs, ck.errs...)
			continue
		}
		d := &document{node: n}
		if err := n.Decode(&d.cfg); err != nil {
			errs = append(errs, &Error{File: file, Line: n.Line, Column: n.Column, Msg: cleanDecodeError(err)})
			continue
		}
		errs = append(errs, checkTemplates(file, n, reflect.ValueOf(&d.cfg).Elem(), nil)...)
		docs = append(docs, d)
	}
	if err := errs.err(); err != nil {
		return nil, nil, err
	}
	return docs, notes, nil
}

// SplitDocuments parses data into one mapping node per YAML document,
// skipping empty documents. A file that expands past ConfigLimits is an
// error.
func SplitDocuments(file string, data []byte) ([]*yaml.Node, error) {
	return splitDocuments(file, data, NewBudget(ConfigLimits))
}

// splitDocuments is SplitDocuments counting the file against budget.
func splitDocuments(file string, data []byte, budget *Budget) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(file, data, err)
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
			continue
		}
		n := doc.Content[0]
		if isNull(n) {
			continue
		}
		if err := budget.Add(n); err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return nil, &Error{File: file, Line: le.Line, Column: le.Column, Msg: le.Msg}
			}
			return nil, err
		}
		if n.Kind != yaml.MappingNode {
			got := yamlnode.Describe(n)
			if n.Kind == yaml.ScalarNode {
				// Quote the line as written, not the scalar: a file that is
				// no config at all (/etc/passwd) reads as one long scalar.
				got = fmt.Sprintf("%q", fsutil.Excerpt(lineAt(data, n.Line)))
			}
			return nil, &Error{File: file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf("a config document must be a mapping with apiVersion and kind, got %s; is %s a config file?", got, file)}
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, &Error{File: file, Msg: fmt.Sprintf("no config documents found; start the file with apiVersion: %s and kind: Config", upgrade.Latest)}
	}
	return out, nil
}

// anchorHolder is a top-level key of a document that starts with ".", and
// its value, at index (in the mapping's Content) it was found at.
type anchorHolder struct {
	index      int
	key, value *yaml.Node
}

// dropAnchorHolders removes from the document mapping n the top-level keys
// that start with "." and returns them. Skaffold ignores such keys, which
// hold YAML anchors for the rest of the file to alias (.common: &common);
// the aliases keep pointing at the anchored nodes.
func dropAnchorHolders(n *yaml.Node) []anchorHolder {
	var held []anchorHolder
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && strings.HasPrefix(k.Value, ".") {
			held = append(held, anchorHolder{index: i, key: k, value: v})
			continue
		}
		kept = append(kept, k, v)
	}
	if len(held) > 0 {
		n.Content = kept
	}
	return held
}

// restoreAnchorHolders puts back, at the places they were taken from, the
// keys dropAnchorHolders removed, so that a rewritten file still defines
// its anchors before their aliases.
func restoreAnchorHolders(n *yaml.Node, held []anchorHolder) {
	for _, h := range held {
		i := min(h.index, len(n.Content))
		n.Content = slices.Insert(n.Content, i, h.key, h.value)
	}
}

// UpgradeDocument checks a document's apiVersion and kind and upgrades it
// in place to the newest apiVersion, returning the upgrade notes.
func UpgradeDocument(file string, n *yaml.Node) ([]string, error) {
	av, avNode := mappingValue(n, "apiVersion")
	if avNode == nil {
		return nil, &Error{File: file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf("missing apiVersion; add apiVersion: %s", upgrade.Latest)}
	}
	if !upgrade.Supported(av) {
		return nil, &Error{File: file, Line: avNode.Line, Column: avNode.Column, Path: "apiVersion",
			Msg: fmt.Sprintf("unsupported apiVersion %q: skiff reads %s through %s; write the config for one of those (skiff fix then upgrades it to %s)",
				av, upgrade.Versions[0], upgrade.Latest, upgrade.Latest)}
	}
	if kind, kn := mappingValue(n, "kind"); kn != nil && kind != "Config" {
		return nil, &Error{File: file, Line: kn.Line, Column: kn.Column, Path: "kind", Msg: fmt.Sprintf("kind must be Config, got %q", kind)}
	}
	notes, err := upgrade.ToLatest(n)
	if err != nil {
		var ue *upgrade.Error
		if errors.As(err, &ue) {
			return nil, &Error{File: file, Line: ue.Line, Column: ue.Column, Path: ue.Path, Msg: ue.Msg}
		}
		return nil, &Error{File: file, Msg: err.Error()}
	}
	for i, note := range notes {
		notes[i] = file + ": " + note
	}
	return notes, nil
}

// syntaxError turns a YAML parse error into an Error at its position.
// The YAML library says only "line N", and for its parser's errors (as
// opposed to its scanner's) N is the line before the one it means (it
// prints a 0-based line) and no column; both are recovered from data.
func syntaxError(file string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimSpace(strings.TrimPrefix(msg, "unmarshal errors:\n"))
	line := 0
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		_, msg, _ = strings.Cut(msg, ": ")
	}
	if slices.Contains(parserProblems, msg) {
		line++ // the library's 0-based line; a missing line is line 0
	}
	e := &Error{File: file, Msg: "invalid YAML: " + msg}
	if line > 0 {
		e.Line, e.Column = line, 1
		text := lineAt(data, line)
		if col := unclosedFlow(text, msg); col > 0 {
			e.Column = col
			e.Msg += fmt.Sprintf(" (the %c here is never closed)", text[col-1])
		} else if col := len(text) - len(strings.TrimLeft(text, " \t")) + 1; col <= len(text) {
			e.Column = col
		}
	}
	return e
}

// parserProblems are the messages of the YAML library's parser, which it
// reports at a 0-based line (its scanner's messages carry a 1-based one).
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// unclosedFlow returns the column (from 1) of the last [ (or {) on line
// that is not closed on it, when msg is the parser's complaint about a
// missing ] (or }), or 0. Quoted text and comments are skipped.
func unclosedFlow(line, msg string) int {
	var open, close byte
	switch {
	case strings.HasSuffix(msg, "']'"):
		open, close = '[', ']'
	case strings.HasSuffix(msg, "'}'"):
		open, close = '{', '}'
	default:
		return 0
	}
	var stack []int
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			i = len(line)
		case c == open:
			stack = append(stack, i+1)
		case c == close && len(stack) > 0:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) == 0 {
		return 0
	}
	return stack[len(stack)-1]
}

// lineAt returns line n (from 1) of data, or "".
func lineAt(data []byte, n int) string {
	for i := 1; len(data) > 0; i++ {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		if i == n {
			return string(line)
		}
		data = rest
	}
	return ""
}

// mappingValue returns the scalar value and value node of key in mapping n.
func mappingValue(n *yaml.Node, key string) (string, *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1].Value, n.Content[i+1]
		}
	}
	return "", nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// selectModules keeps the configs named by -m and those they require.
func selectModules(all []*Config, modules []string) ([]*Config, error) {
	var names []string
	for _, m := range modules {
		for _, n := range strings.Split(m, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return all, nil
	}
	keep := map[*Config]bool{}
	var mark func(c *Config)
	mark = func(c *Config) {
		if keep[c] {
			return
		}
		keep[c] = true
		for _, r := range c.Requires {
			mark(r)
		}
	}
	var known []string
	for _, c := range all {
		if c.Metadata.Name != "" {
			known = append(known, c.Metadata.Name)
		}
	}
	for _, n := range names {
		i := slices.IndexFunc(all, func(c *Config) bool { return c.Metadata.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("no module named %q (modules: %s); check -m", n, listOrNone(known))
		}
		mark(all[i])
	}
	var out []*Config
	for _, c := range all {
		if keep[c] {
			out = append(out, c)
		}
	}
	return out, nil
}
