package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/yamlnode"
)

// checker compares a YAML node tree with the Go type it will be decoded
// into, before decoding, so that every unknown field and wrong type is
// reported with the position the user wrote it at. The decoder alone stops
// at the first problem and knows nothing of field paths.
type checker struct {
	file string
	errs Errors
}

// fieldInfo is one YAML key a struct type accepts (inline structs flattened).
type fieldInfo struct {
	typ   reflect.Type
	oneOf string
}

type structInfo struct {
	fields map[string]fieldInfo
	keys   []string // sorted, for suggestions
}

var structInfos sync.Map // reflect.Type -> *structInfo

func infoFor(t reflect.Type) *structInfo {
	if v, ok := structInfos.Load(t); ok {
		return v.(*structInfo)
	}
	info := &structInfo{fields: map[string]fieldInfo{}}
	collectFields(t, info)
	for k := range info.fields {
		info.keys = append(info.keys, k)
	}
	sort.Strings(info.keys)
	structInfos.Store(t, info)
	return info
}

func collectFields(t reflect.Type, info *structInfo) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(ft, info)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		info.fields[name] = fieldInfo{typ: f.Type, oneOf: f.Tag.Get("oneof")}
	}
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func (c *checker) addf(n *yaml.Node, path, format string, args ...any) {
	e := &Error{File: c.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	c.errs = append(c.errs, e)
}

// check walks n against t, recording every mismatch.
func (c *checker) check(n *yaml.Node, t reflect.Type, path string) {
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		n = n.Alias
	}
	if isNull(n) {
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			c.addf(n, path, "%s", cleanDecodeError(err))
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		c.check(n, t.Elem(), path)
	case reflect.Interface:
		// Any YAML value is accepted (e.g. a JSON-patch value).
	case reflect.Struct:
		c.checkStruct(n, t, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.addf(n, path, "expected a list, got %s", yamlnode.Describe(n))
			return
		}
		for i, item := range n.Content {
			c.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.addf(n, path, "expected a mapping, got %s", yamlnode.Describe(n))
			return
		}
		keys := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			c.checkDuplicate(k, path, keys)
			c.check(v, t.Elem(), joinPath(path, k.Value))
		}
	default:
		if n.Kind != yaml.ScalarNode {
			c.addf(n, path, "expected %s, got %s", kindName(t), yamlnode.Describe(n))
			return
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			c.addf(n, path, "expected %s, got %q", kindName(t), n.Value)
		}
	}
}

func (c *checker) checkStruct(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		c.addf(n, path, "expected a mapping, got %s", yamlnode.Describe(n))
		return
	}
	info := infoFor(t)
	seen := map[string]*yaml.Node{} // oneOf group -> first member key node
	c.checkMapping(n, info, t, path, seen)
}

// checkDuplicate reports a key written twice in one mapping, which the
// decoder would reject without saying where.
func (c *checker) checkDuplicate(k *yaml.Node, path string, keys map[string]*yaml.Node) {
	if first, dup := keys[k.Value]; dup {
		c.addf(k, joinPath(path, k.Value), "%q is set twice (first at line %d); keep one", k.Value, first.Line)
		return
	}
	keys[k.Value] = k
}

func (c *checker) checkMapping(n *yaml.Node, info *structInfo, t reflect.Type, path string, seen map[string]*yaml.Node) {
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			c.checkMerge(v, info, t, path, seen)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			c.addf(k, path, "expected a field name, got %s", yamlnode.Describe(k))
			continue
		}
		c.checkDuplicate(k, path, keys)
		f, ok := info.fields[k.Value]
		if !ok {
			c.addf(k, joinPath(path, k.Value), "unknown field %q%s", k.Value, suggest(k.Value, info.keys))
			continue
		}
		if f.oneOf != "" && !isNull(v) {
			if first, dup := seen[f.oneOf]; dup {
				c.addf(k, joinPath(path, k.Value), "%q and %q cannot both be set (line %d): only one %s is allowed here; keep one",
					first.Value, k.Value, first.Line, f.oneOf)
			} else {
				seen[f.oneOf] = k
			}
		}
		c.check(v, f.typ, joinPath(path, k.Value))
	}
}

// checkMerge handles YAML merge keys (<<: *anchor), whose mappings count as
// if written in place.
func (c *checker) checkMerge(v *yaml.Node, info *structInfo, t reflect.Type, path string, seen map[string]*yaml.Node) {
	for v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		c.checkMapping(v, info, t, path, seen)
	case yaml.SequenceNode:
		for _, item := range v.Content {
			c.checkMerge(item, info, t, path, seen)
		}
	default:
		c.addf(v, path, "a merge key (<<) needs a mapping, got %s", yamlnode.Describe(v))
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return t.String()
}

// cleanDecodeError strips the decoder's "yaml: unmarshal errors:\n  line N:"
// framing; the checker adds its own location.
func cleanDecodeError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	if strings.HasPrefix(msg, "line ") {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			msg = rest
		}
	}
	return msg
}

// suggest returns `; did you mean "x"?` for the closest known key, or the
// list of valid keys when none is close.
func suggest(key string, keys []string) string {
	best, bestDist := "", -1
	for _, k := range keys {
		d := EditDistance(strings.ToLower(key), strings.ToLower(k))
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	limit := max(2, len(key)/3)
	if best != "" && bestDist <= limit {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	if len(keys) > 0 && len(keys) <= 15 {
		return "; valid fields: " + strings.Join(keys, ", ")
	}
	return ""
}

// EditDistance is the Levenshtein distance between a and b (bytes: the
// names it compares, config keys and flags, are ASCII), for the "did you
// mean" of unknown keys, flags and commands.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
