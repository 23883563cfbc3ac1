package config

import (
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// where is a position in a config file, found from a field path.
type where struct {
	file         string
	line, column int
	path         string
}

func (w where) errorf(format string, args ...any) *Error {
	return &Error{File: w.file, Line: w.line, Column: w.column, Path: w.path, Msg: fmt.Sprintf(format, args...)}
}

// locate finds the node at path (YAML keys and list indexes) in c's
// document, or in the active profile that set it: the last profile applied
// whose patch path holds the field or whose section holds more of the
// path than the document does. When the path is in none of them (a
// default put the value there) it points at the deepest part that is.
func locate(c *Config, path ...any) where {
	w, _ := locateWritten(c, path)
	return w
}

// ErrorAt returns an error about the field at path (YAML keys and list
// indexes, e.g. "test", 0, "structureTests") of c, located at its line in
// c's file or in the active profile that set it.
func (c *Config) ErrorAt(msg string, path ...any) *Error {
	return locate(c, path...).errorf("%s", msg)
}

// written reports whether the user wrote the field at path, in the
// document or in an active profile, as opposed to a default.
func written(c *Config, path ...any) bool {
	_, ok := locateWritten(c, path)
	return ok
}

// locateWritten is locate, and also says whether the whole path was found.
func locateWritten(c *Config, path []any) (where, bool) {
	w, depth := locateDepth(c.File, c.node, path)
	if len(path) == 0 || path[0] == "profiles" || c.node == nil {
		return w, depth == len(path)
	}
	profiles := child(c.node, "profiles")
	if profiles == nil || profiles.Kind != yaml.SequenceNode {
		return w, depth == len(path)
	}
	for _, name := range c.ActiveProfiles {
		for _, p := range profiles.Content {
			if n := child(p, "name"); n == nil || n.Value != name {
				continue
			}
			// The path stays the effective config's (callers match it
			// against sections); the position is the profile's.
			if pw, d := locateDepth(c.File, p, path); d > 0 && d >= depth {
				w, depth = pw, d
			}
			if pw, ok := patchedBy(c.File, p, path); ok {
				w, depth = pw, len(path)
			}
			break
		}
	}
	return w, depth == len(path)
}

// patchedBy finds the last patch of profile node p that sets path or a
// field holding it (its path, or its from for copy and move, is a prefix
// of path), and returns the position of the patch's path.
func patchedBy(file string, p *yaml.Node, path []any) (where, bool) {
	patches := child(p, "patches")
	if patches == nil || patches.Kind != yaml.SequenceNode {
		return where{}, false
	}
	want := make([]string, len(path))
	for i, seg := range path {
		want[i] = fmt.Sprint(seg)
	}
	for i := len(patches.Content) - 1; i >= 0; i-- {
		op, ptr := child(patches.Content[i], "op"), child(patches.Content[i], "path")
		if ptr == nil || ptr.Kind != yaml.ScalarNode || (op != nil && (op.Value == "remove" || op.Value == "test")) {
			continue
		}
		segs := strings.Split(strings.TrimPrefix(ptr.Value, "/"), "/")
		if !strings.HasPrefix(ptr.Value, "/") || len(segs) > len(want) {
			continue
		}
		match := true
		for j, s := range segs {
			if strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~") != want[j] {
				match = false
				break
			}
		}
		if match {
			return where{file: file, line: ptr.Line, column: ptr.Column, path: formatPath(path)}, true
		}
	}
	return where{}, false
}

func locateNode(file string, n *yaml.Node, path ...any) where {
	w, _ := locateDepth(file, n, path)
	return w
}

// locateDepth is locateNode that also says how many segments of path
// were found.
func locateDepth(file string, n *yaml.Node, path []any) (where, int) {
	w := where{file: file, path: formatPath(path)}
	if n == nil {
		return w, 0
	}
	w.line, w.column = n.Line, n.Column
	depth := 0
	for _, p := range path {
		next := child(n, p)
		if next == nil {
			break
		}
		n = next
		depth++
		w.line, w.column = n.Line, n.Column
	}
	return w, depth
}

func child(n *yaml.Node, p any) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch key := p.(type) {
	case string:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
	case int:
		if n.Kind == yaml.SequenceNode && key >= 0 && key < len(n.Content) {
			return n.Content[key]
		}
	}
	return nil
}

func formatPath(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch v := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", v)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}

// walkTagged calls fn for every string, []string and map[string]string
// field under v whose skiff tag has the given option, with its YAML path.
func walkTagged(v reflect.Value, option string, path []any, fn func(path []any, field reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkTagged(v.Elem(), option, path, fn)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			return
		}
		for i := range v.Len() {
			walkTagged(v.Index(i), option, append(path, i), fn)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || v.Field(i).IsZero() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			p := path
			if !strings.Contains(opts, "inline") {
				p = append(path[:len(path):len(path)], name)
			}
			if hasOption(f.Tag.Get("skiff"), option) {
				fn(p, v.Field(i))
				continue
			}
			walkTagged(v.Field(i), option, p, fn)
		}
	}
}

func hasOption(tag, option string) bool {
	for _, o := range strings.Split(tag, ",") {
		if o == option {
			return true
		}
	}
	return false
}

// strings calls fn for each string a tagged field holds (itself, each list
// element or each map value), letting fn replace it.
func eachString(path []any, field reflect.Value, fn func(path []any, s string) string) {
	switch field.Kind() {
	case reflect.Pointer:
		if !field.IsNil() {
			eachString(path, field.Elem(), fn)
		}
	case reflect.String:
		field.SetString(fn(path, field.String()))
	case reflect.Slice:
		for i := range field.Len() {
			eachString(append(path[:len(path):len(path)], i), field.Index(i), fn)
		}
	case reflect.Map:
		if field.Type().Elem().Kind() != reflect.String && !(field.Type().Elem().Kind() == reflect.Pointer && field.Type().Elem().Elem().Kind() == reflect.String) {
			return
		}
		for _, k := range field.MapKeys() {
			val := field.MapIndex(k)
			p := append(path[:len(path):len(path)], k.String())
			if val.Kind() == reflect.Pointer {
				if val.IsNil() {
					continue
				}
				s := fn(p, val.Elem().String())
				nv := reflect.New(val.Type().Elem())
				nv.Elem().SetString(s)
				field.SetMapIndex(k, nv)
				continue
			}
			field.SetMapIndex(k, reflect.ValueOf(fn(p, val.String())).Convert(val.Type()))
		}
	}
}

// templateErrPrefix is text/template's "template: NAME:LINE: " framing.
var templateErrPrefix = regexp.MustCompile(`^(template: )?\w+:\d+(:\d+)?: `)

// checkTemplates parses every templated field so that a template syntax
// error is reported at load, at its line, not in the middle of a build.
func checkTemplates(file string, doc *yaml.Node, v reflect.Value, path []any) Errors {
	var errs Errors
	walkTagged(v, "template", path, func(p []any, field reflect.Value) {
		eachString(p, field, func(p []any, s string) string {
			if strings.Contains(s, "{{") {
				if err := CheckTemplate(s); err != nil {
					errs = append(errs, locateNode(file, doc, p...).errorf("invalid template %q: %s", s, templateErrPrefix.ReplaceAllString(err.Error(), "")))
				}
			}
			return s
		})
	})
	return errs
}

// makePathsAbsolute resolves every relative path field of a required
// config against its own directory, so that stages need not know which
// file a setting came from.
func makePathsAbsolute(v reflect.Value, dir string) {
	walkTagged(v, "path", nil, func(p []any, field reflect.Value) {
		eachString(p, field, func(_ []any, s string) string {
			if s == "" || filepath.IsAbs(s) || strings.Contains(s, "://") || strings.HasPrefix(s, "{{") {
				return s
			}
			return filepath.Join(dir, s)
		})
	})
}
