package render

// walkFields calls fn for every field of obj and of the mappings nested in
// it, lists included (a list's items keep the list field's path), with the
// mapping holding the field, the field's dotted path from obj
// (".spec.template.metadata") and its key. The walk goes into the field's
// value only when fn returns true, after fn, so fn may replace the value.
func walkFields(obj map[string]any, fn func(m map[string]any, path, key string) (descend bool)) {
	var visit func(path string, v any)
	visit = func(path string, v any) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				visit(path, e)
			}
		case map[string]any:
			for k := range v {
				p := path + "." + k
				if fn(v, p, k) {
					visit(p, v[k])
				}
			}
		}
	}
	visit("", obj)
}
