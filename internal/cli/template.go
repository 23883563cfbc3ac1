package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"
	"unicode"
)

// defaultBuildTemplate is build -o's default, as in Skaffold.
const defaultBuildTemplate = "{{json .}}"

// buildTemplate parses build -o: a Go template, "json" (short for the
// default), or "text" (nil: one reference a line).
func buildTemplate(output string) (*template.Template, error) {
	switch output {
	case "text":
		return nil, nil
	case "json":
		output = defaultBuildTemplate
	}
	t, err := parseTemplate(output)
	if err != nil {
		return nil, fmt.Errorf("-o %q is not a Go template: %w", output, err)
	}
	return t, nil
}

// fileTemplate is the template of --file-output: -o's, or JSON when -o is
// text, since deploy -a reads the file.
func fileTemplate(t *template.Template) *template.Template {
	if t == nil {
		return template.Must(parseTemplate(defaultBuildTemplate))
	}
	return t
}

// parseTemplate parses a -o template with the functions Skaffold's
// templates have: json (compact, no HTML escaping), join, title, lower and
// upper.
func parseTemplate(text string) (*template.Template, error) {
	funcs := template.FuncMap{
		"json": func(v any) (string, error) {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(v); err != nil {
				return "", err
			}
			return strings.TrimSpace(b.String()), nil
		},
		"join":  strings.Join,
		"title": title,
		"lower": strings.ToLower,
		"upper": strings.ToUpper,
	}
	return template.New("output").Funcs(funcs).Parse(text)
}

// formatBuildOutput writes out through t.
func formatBuildOutput(w io.Writer, t *template.Template, out BuildOutput) error {
	if err := t.Execute(w, out); err != nil {
		return fmt.Errorf("formatting the build output with -o: %w", err)
	}
	return nil
}

// title upper-cases the first letter of every word of s.
func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		defer func() { prev = r }()
		if unicode.IsSpace(prev) || unicode.IsPunct(prev) {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}
