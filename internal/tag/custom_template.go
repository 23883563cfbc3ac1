package tag

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/template"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// builtinComponents are the components a customTemplate may read without
// declaring them; a declared component of the same name replaces one.
var builtinComponents = map[string]schema.TagPolicy{
	"GIT":          {GitTagger: &schema.GitTagger{}},
	"DATE":         {DateTimeTagger: &schema.DateTimeTagger{}},
	"SHA":          {ShaTagger: &schema.ShaTagger{}},
	"INPUT_DIGEST": {InputDigest: &schema.InputDigest{}},
}

// customTemplate tags an artifact with a template over the results of other
// taggers (its components). The template sees only the components, not the
// environment; an envTemplate component brings the environment in.
type customTemplate struct {
	text string
	tmpl *template.Template
	// used are the components the template reads, by name.
	used map[string]generator
}

func newCustomTemplate(c *schema.CustomTemplateTagger, env config.Env, deps DepsFunc, o *options) (Tagger, error) {
	const field = "build.tagPolicy.customTemplate"
	if c.Template == "" {
		return nil, fmt.Errorf("%s.template is empty: set it, e.g. template: \"{{.GIT}}-{{.DATE}}\"", field)
	}
	declared := map[string]generator{}
	var names []string
	for i, comp := range c.Components {
		at := fmt.Sprintf("%s.components[%d]", field, i)
		if comp.Name == "" {
			return nil, fmt.Errorf("%s has no name: name it, and refer to it in the template as {{.NAME}}", at)
		}
		if _, dup := declared[comp.Name]; dup {
			return nil, fmt.Errorf("%s: two components are named %q: rename one", at, comp.Name)
		}
		g, _, err := newGenerator(comp.Component, at, env, deps, o)
		if err != nil {
			return nil, err
		}
		declared[comp.Name] = g
		names = append(names, comp.Name)
	}

	t, err := config.ParseTemplate(c.Template)
	if err != nil {
		return nil, fmt.Errorf("%s.template %q: %w", field, c.Template, err)
	}
	t.Option("missingkey=error")
	ct := &customTemplate{text: c.Template, tmpl: t, used: map[string]generator{}}
	for _, name := range templateFields(t) {
		if g, ok := declared[name]; ok {
			ct.used[name] = g
			continue
		}
		p, ok := builtinComponents[name]
		if !ok {
			builtins := slices.Sorted(maps.Keys(builtinComponents))
			declaredList := "none are declared"
			if len(names) > 0 {
				declaredList = "declared: " + strings.Join(names, ", ")
			}
			return nil, fmt.Errorf("%s.template %q reads {{.%s}}, which is neither a component (%s) nor built in (%s): declare it under components", field, c.Template, name, declaredList, strings.Join(builtins, ", "))
		}
		g, _, err := newGenerator(p, field+" built-in component "+name, env, deps, o)
		if err != nil {
			return nil, err
		}
		ct.used[name] = g
	}
	return checked{g: ct, what: fmt.Sprintf("customTemplate %q", c.Template), fix: templateFix}, nil
}

// generate runs the components the template reads, side by side, and
// executes the template over their results.
func (c *customTemplate) generate(ctx context.Context, a *schema.Artifact) (string, error) {
	type result struct {
		name, tag string
		err       error
	}
	results := make(chan result, len(c.used))
	var wg sync.WaitGroup
	for name, g := range c.used {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tag, err := g.generate(ctx, a)
			results <- result{name, tag, err}
		}()
	}
	wg.Wait()
	close(results)
	data := make(map[string]string, len(c.used))
	var errs []result
	for r := range results {
		if r.err != nil {
			errs = append(errs, r)
			continue
		}
		data[r.name] = r.tag
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(x, y result) int { return strings.Compare(x.name, y.name) })
		return "", fmt.Errorf("customTemplate component %s: %w", errs[0].name, errs[0].err)
	}
	var b strings.Builder
	if err := c.tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("customTemplate %q: %w", c.text, err)
	}
	return b.String(), nil
}
