package tag

import (
	"context"
	"fmt"
	"strings"
	"text/template"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// noValue is what text/template prints for a missing map key.
const noValue = "<no value>"

// envTemplate tags an artifact with a template over the environment, which
// also sees IMAGE_NAME, the artifact's image (deprecated in Skaffold, still
// honoured).
type envTemplate struct {
	text string
	tmpl *template.Template
	env  config.Env
}

func newEnvTemplate(text string, env config.Env) (*envTemplate, error) {
	if text == "" {
		return nil, fmt.Errorf("template is empty: set it, e.g. template: \"{{.VERSION}}\"")
	}
	t, err := config.ParseTemplate(text)
	if err != nil {
		return nil, fmt.Errorf("template %q: %w", text, err)
	}
	// As in Skaffold, a missing variable prints "<no value>" rather than
	// failing at once, so that {{default "x" .UNSET}} works; what is left
	// of it afterwards is an error.
	t.Option("missingkey=default")
	return &envTemplate{text: text, tmpl: t, env: env}, nil
}

func (e *envTemplate) generate(_ context.Context, a *schema.Artifact) (string, error) {
	data := make(map[string]string, len(e.env)+1)
	for k, v := range e.env {
		data[k] = v
	}
	data["IMAGE_NAME"] = a.ImageName
	var b strings.Builder
	if err := e.tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("envTemplate %q: %w", e.text, err)
	}
	out := b.String()
	if strings.Contains(out, noValue) {
		var missing []string
		for _, f := range templateFields(e.tmpl) {
			if _, ok := data[f]; !ok {
				missing = append(missing, f)
			}
		}
		if len(missing) > 0 {
			verb := "is"
			if len(missing) > 1 {
				verb = "are"
			}
			return "", fmt.Errorf("envTemplate %q: %s %s not set: set it in the environment or in skaffold.env, or give a default as in {{default \"dev\" .%s}}", e.text, strings.Join(missing, ", "), verb, missing[0])
		}
	}
	return out, nil
}
