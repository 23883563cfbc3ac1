package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/fsutil"
)

// splitProfiles turns -p values (comma lists, "-name" to deactivate) into
// the names to activate and the names to deactivate.
func splitProfiles(flags []string) (on, off []string) {
	for _, f := range flags {
		for _, name := range strings.Split(f, ",") {
			name = strings.TrimSpace(name)
			switch {
			case name == "":
			case strings.HasPrefix(name, "-"):
				off = append(off, strings.TrimPrefix(name, "-"))
			case !slices.Contains(on, name):
				on = append(on, name)
			}
		}
	}
	return on, off
}

// activeProfiles decides which profiles of a document apply: those whose
// activation matches, those the requiring config activates for it, and
// those named with -p, less those deactivated with -p -name.
func (l *loader) activeProfiles(file string, d *document, parentActive []string, required []schema.ProfileDependency) ([]string, error) {
	var active []string
	add := func(name string) {
		if !slices.Contains(active, name) {
			active = append(active, name)
		}
	}
	defined := map[string]bool{}
	for i, p := range d.cfg.Profiles {
		defined[p.Name] = true
		if l.opts.NoProfileAutoActivation {
			continue
		}
		on, err := l.autoActivated(p)
		if err != nil {
			return nil, locateNode(file, d.node, "profiles", i, "activation").errorf("profile %q: %v", p.Name, err)
		}
		if on {
			add(p.Name)
		}
	}
	for _, pd := range required {
		if len(pd.ActivatedBy) > 0 && !slices.ContainsFunc(pd.ActivatedBy, func(n string) bool { return slices.Contains(parentActive, n) }) {
			continue
		}
		if !defined[pd.Name] {
			return nil, fmt.Errorf("a requires entry activates profile %q of %s, which does not define it (profiles: %s)", pd.Name, file, listOrNone(profileNames(d.cfg.Profiles)))
		}
		add(pd.Name)
	}
	// The root file's documents are loaded with nothing being loaded yet.
	root := len(l.loading) == 0
	for _, name := range l.cliOn {
		if l.opts.NoProfilePropagation && !root {
			break
		}
		if defined[name] {
			if l.seenCLI == nil {
				l.seenCLI = map[string]bool{}
			}
			l.seenCLI[name] = true
			add(name)
		}
	}
	for _, name := range l.cliOff {
		if l.opts.NoProfilePropagation && !root {
			break
		}
		active = slices.DeleteFunc(active, func(n string) bool { return n == name })
	}
	return active, nil
}

// checkProfilesExist reports -p names that no loaded config defines.
func (l *loader) checkProfilesExist() error {
	var unknown []string
	for _, name := range l.cliOn {
		if !l.seenCLI[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	var all []string
	for _, docs := range l.files {
		for _, d := range docs {
			for _, n := range profileNames(d.cfg.Profiles) {
				if !slices.Contains(all, n) {
					all = append(all, n)
				}
			}
		}
	}
	slices.Sort(all)
	return fmt.Errorf("profile %s not found; the profiles that exist are: %s", strings.Join(quoteAll(unknown), ", "), listOrNone(all))
}

func profileNames(ps []schema.Profile) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}

// autoActivated reports whether p's activation conditions hold: any one of
// them, or all of them with requiresAllActivations. Each condition holds
// when its env, kubeContext and command all match.
func (l *loader) autoActivated(p schema.Profile) (bool, error) {
	if len(p.Activation) == 0 {
		return false, nil
	}
	matched := 0
	for _, a := range p.Activation {
		ok, err := l.conditionHolds(a)
		if err != nil {
			return false, err
		}
		if ok {
			matched++
		}
	}
	if p.RequiresAllActivations {
		return matched == len(p.Activation), nil
	}
	return matched > 0, nil
}

func (l *loader) conditionHolds(a schema.Activation) (bool, error) {
	if a.Env != "" {
		key, want, ok := strings.Cut(a.Env, "=")
		if !ok {
			return false, fmt.Errorf("activation env %q must be KEY=VALUE (VALUE a regular expression, !VALUE to negate)", a.Env)
		}
		got := l.env[key]
		if want == "" {
			if got != "" {
				return false, nil
			}
		} else if ok, err := regexEqual(want, got); err != nil || !ok {
			return false, err
		}
	}
	if a.Command != "" {
		if ok, err := regexEqual(a.Command, l.opts.Command); err != nil || !ok {
			return false, err
		}
	}
	if a.KubeContext != "" {
		ctx, err := l.kubeContext()
		if err != nil {
			return false, err
		}
		if ok, err := regexEqual(a.KubeContext, ctx); err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func (l *loader) kubeContext() (string, error) {
	if l.kubeCtx != nil {
		return *l.kubeCtx, nil
	}
	ctx := l.opts.KubeContext
	if ctx == "" && l.opts.CurrentKubeContext != nil {
		var err error
		if ctx, err = l.opts.CurrentKubeContext(); err != nil {
			return "", fmt.Errorf("finding the current kube context for activation by kubeContext: %w (pass --kube-context)", err)
		}
	}
	l.kubeCtx = &ctx
	return ctx, nil
}

// regexEqual matches actual against expected as Skaffold does: an exact
// match, else a regular expression search; a leading "!" negates.
func regexEqual(expected, actual string) (bool, error) {
	if rest, ok := strings.CutPrefix(expected, "!"); ok {
		m, err := regexEqual(rest, actual)
		return !m, err
	}
	if expected == actual {
		return true, nil
	}
	re, err := regexp.Compile(expected)
	if err != nil {
		return false, fmt.Errorf("invalid regular expression %q: %v", expected, err)
	}
	return re.MatchString(actual), nil
}

// applyProfiles applies the named profiles of c in order: first the
// profile's sections laid over the config, then its JSON patches.
func applyProfiles(c *Config, names []string) error {
	for _, name := range names {
		i := slices.IndexFunc(c.Profiles, func(p schema.Profile) bool { return p.Name == name })
		p := c.Profiles[i]
		overlay(reflect.ValueOf(&c.Pipeline).Elem(), reflect.ValueOf(p.Pipeline))
		if err := applyPatches(c, i, p); err != nil {
			return err
		}
	}
	return nil
}

// overlay lays prof over base: structs field by field; a group of
// mutually exclusive fields as a whole when the profile sets one of them;
// lists, maps and pointers replaced when the profile sets them; scalars
// replaced when not zero.
func overlay(base, prof reflect.Value) {
	switch prof.Kind() {
	case reflect.Struct:
		t := prof.Type()
		oneOfSet := map[string]bool{}
		for i := range t.NumField() {
			if g := t.Field(i).Tag.Get("oneof"); g != "" && !prof.Field(i).IsZero() {
				oneOfSet[g] = true
			}
		}
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				continue
			}
			if g := t.Field(i).Tag.Get("oneof"); g != "" {
				if oneOfSet[g] {
					base.Field(i).Set(prof.Field(i))
				}
				continue
			}
			overlay(base.Field(i), prof.Field(i))
		}
	case reflect.Slice, reflect.Map:
		if prof.Len() > 0 {
			base.Set(prof)
		}
	case reflect.Pointer, reflect.Interface:
		if !prof.IsNil() {
			base.Set(prof)
		}
	default:
		if !prof.IsZero() {
			base.Set(prof)
		}
	}
}

// maxPatchedSize bounds a config as JSON after each patch of a profile:
// twice the largest config file.
const maxPatchedSize = 2 * MaxConfigSize

// applyPatches applies profile p's JSON patches (RFC 6902: add, remove,
// replace, move, copy, test; op defaults to replace) to the whole config,
// one at a time so that a failing patch is reported at its own line.
func applyPatches(c *Config, index int, p schema.Profile) error {
	if len(p.Patches) == 0 {
		return nil
	}
	doc, err := toJSON(&c.SkaffoldConfig)
	if err != nil {
		return err
	}
	for i, op := range p.Patches {
		where := locate(c, "profiles", index, "patches", i)
		kind := op.Op
		if kind == "" {
			kind = "replace"
		}
		raw := map[string]any{"op": kind, "path": op.Path}
		if op.From != "" {
			raw["from"] = op.From
		}
		if op.Value != nil || kind == "add" || kind == "replace" || kind == "test" {
			raw["value"] = jsonCompatible(op.Value)
		}
		opJSON, err := json.Marshal([]any{raw})
		if err != nil {
			return where.errorf("profile %q: patch value cannot be encoded: %v", p.Name, err)
		}
		patch, err := jsonpatch.DecodePatch(opJSON)
		if err != nil {
			return where.errorf("profile %q: invalid patch: %v", p.Name, err)
		}
		out, err := patch.Apply(doc)
		if err != nil {
			return where.errorf("profile %q: patch %s %s failed: %v; check the path against the config (paths are JSON pointers such as /build/artifacts/0/image)", p.Name, kind, op.Path, err)
		}
		if len(out) > maxPatchedSize {
			// Each copy can double the config: 40 of them would make it
			// a terabyte. Stop at the first patch past the bound.
			return where.errorf("profile %q: after this patch (%s %s) the config is %s as JSON, more than the %s skiff allows; a config patched this large is a mistake (copy ops copying the config into itself?): remove or narrow the patches",
				p.Name, kind, op.Path, fsutil.Size(int64(len(out))), fsutil.Size(maxPatchedSize))
		}
		doc = out
	}
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil || len(n.Content) == 0 {
		return locate(c, "profiles", index).errorf("profile %q: patched config cannot be read back: %v", p.Name, err)
	}
	if err := NewBudget(ConfigLimits).Add(n.Content[0]); err != nil {
		msg := err.Error()
		if le, ok := err.(*LimitError); ok {
			msg = le.Msg // its line is one of the patched JSON, not of the file
		}
		return locate(c, "profiles", index, "patches").errorf("profile %q: the patched config is too large: %s", p.Name, msg)
	}
	ck := &checker{}
	ck.check(n.Content[0], reflect.TypeFor[schema.SkaffoldConfig](), "")
	if len(ck.errs) > 0 {
		e := ck.errs[0]
		return locate(c, "profiles", index, "patches").errorf("profile %q: the patched config is invalid at %s: %s", p.Name, e.Path, e.Msg)
	}
	var patched schema.SkaffoldConfig
	if err := n.Content[0].Decode(&patched); err != nil {
		return locate(c, "profiles", index, "patches").errorf("profile %q: the patched config is invalid: %s", p.Name, cleanDecodeError(err))
	}
	c.SkaffoldConfig = patched
	return nil
}

// toJSON encodes v through its YAML form, so that JSON pointers use the
// YAML field names.
func toJSON(v any) ([]byte, error) {
	data, err := yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	var generic any
	if err := yaml.Unmarshal(data, &generic); err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	return json.Marshal(jsonCompatible(generic))
}

// jsonCompatible turns maps with non-string keys, which YAML allows, into
// maps with string keys.
func jsonCompatible(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			out[k] = jsonCompatible(v)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			out[fmt.Sprint(k)] = jsonCompatible(v)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			out[i] = jsonCompatible(v)
		}
		return out
	}
	return v
}
