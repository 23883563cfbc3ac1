package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The global config is Skaffold's per-user settings file, by default
// ~/.skaffold/config: values under `global:` apply to every kube context,
// and entries of `kubeContexts:` to the contexts their `kube-context`
// names (exactly, or as a regular expression, as Skaffold matches them).
// skiff reads the same file, so `skaffold config set` and `skiff config
// set` agree.

// GlobalConfig is the content of the global config file.
type GlobalConfig struct {
	Global       *ContextConfig  `yaml:"global,omitempty"`
	KubeContexts []ContextConfig `yaml:"kubeContexts,omitempty"`
}

// ContextConfig are the settings of the global config for one kube
// context (or for all, under `global:`). Keys skiff does not know (the
// survey's, the update check's) are kept by SetGlobalValue and
// UnsetGlobalValue but not read.
type ContextConfig struct {
	// KubeContext is the context the entry is for: its name, or a
	// regular expression matched against the name; empty under global.
	KubeContext string `yaml:"kube-context,omitempty"`
	// DefaultRepo is the registry images are pushed to, as --default-repo.
	DefaultRepo string `yaml:"default-repo,omitempty"`
	// MultiLevelRepo is Skaffold's switch to keep "/" in image names
	// under the default repo; skiff's rewriting always keeps them.
	MultiLevelRepo *bool `yaml:"multi-level-repo,omitempty"`
	// LocalCluster says whether the cluster runs images from the local
	// Docker daemon (true: images are loaded there, not pushed) or pulls
	// them from a registry (false: images are pushed).
	LocalCluster *bool `yaml:"local-cluster,omitempty"`
	// InsecureRegistries are reached over plain HTTP.
	InsecureRegistries []string `yaml:"insecure-registries,omitempty"`
	// DebugHelpersRegistry names the registry of prebuilt debug support
	// images (skiff debug).
	DebugHelpersRegistry string `yaml:"debug-helpers-registry,omitempty"`
	// UpdateCheck, KindDisableLoad, K3dDisableLoad, Microk8sDisableLoad
	// and CollectMetrics are Skaffold's; skiff never checks for updates,
	// never loads images into kind, k3d or microk8s nodes and collects no
	// metrics, so they change nothing.
	UpdateCheck         *bool `yaml:"update-check,omitempty"`
	KindDisableLoad     *bool `yaml:"kind-disable-load,omitempty"`
	K3dDisableLoad      *bool `yaml:"k3d-disable-load,omitempty"`
	Microk8sDisableLoad *bool `yaml:"microk8s-disable-load,omitempty"`
	CollectMetrics      *bool `yaml:"collect-metrics,omitempty"`
}

// GlobalConfigFile is where the global config is when no --config names
// one: ~/.skaffold/config under home.
func GlobalConfigFile(home string) string {
	return filepath.Join(home, ".skaffold", "config")
}

// ReadGlobalConfig reads the global config file path; a file that does
// not exist is an empty config.
func ReadGlobalConfig(path string) (*GlobalConfig, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &GlobalConfig{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the global config: %w", err)
	}
	var g GlobalConfig
	if err := yaml.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("global config %s: %v; fix the file, or edit it with skiff config set/unset", path, err)
	}
	return &g, nil
}

// ForContext returns the settings for kubeContext as Skaffold resolves
// them: the last kubeContexts entry whose kube-context equals the name or
// matches it as a regular expression ("!" negates), each value it does not
// set taken from global, and the insecure registries of both. An empty
// kubeContext gets the global values.
func (g *GlobalConfig) ForContext(kubeContext string) (ContextConfig, error) {
	var global ContextConfig
	if g.Global != nil {
		global = *g.Global
	}
	if kubeContext == "" {
		return global, nil
	}
	var c ContextConfig
	for i, e := range g.KubeContexts {
		ok, err := regexEqual(e.KubeContext, kubeContext)
		if err != nil {
			return ContextConfig{}, fmt.Errorf("global config: kubeContexts[%d].kube-context: %v", i, err)
		}
		if ok {
			c = e
		}
	}
	c.KubeContext = kubeContext
	c.InsecureRegistries = append(slices.Clip(c.InsecureRegistries), global.InsecureRegistries...)
	fallback(&c.DefaultRepo, global.DefaultRepo)
	fallback(&c.DebugHelpersRegistry, global.DebugHelpersRegistry)
	for _, p := range []struct{ to, from **bool }{
		{&c.MultiLevelRepo, &global.MultiLevelRepo},
		{&c.LocalCluster, &global.LocalCluster},
		{&c.UpdateCheck, &global.UpdateCheck},
		{&c.KindDisableLoad, &global.KindDisableLoad},
		{&c.K3dDisableLoad, &global.K3dDisableLoad},
		{&c.Microk8sDisableLoad, &global.Microk8sDisableLoad},
		{&c.CollectMetrics, &global.CollectMetrics},
	} {
		fallback(p.to, *p.from)
	}
	return c, nil
}

// fallback sets *v to def when *v is its zero value.
func fallback[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// globalKeyKind is the type of a global config key's value.
type globalKeyKind int

const (
	stringKey globalKeyKind = iota
	boolKey
	listKey
)

// globalKeys are the keys `skiff config set` and `unset` take, in the
// order Skaffold lists them.
var globalKeys = []struct {
	name string
	kind globalKeyKind
}{
	{"default-repo", stringKey},
	{"multi-level-repo", boolKey},
	{"local-cluster", boolKey},
	{"insecure-registries", listKey},
	{"debug-helpers-registry", stringKey},
	{"update-check", boolKey},
	{"kind-disable-load", boolKey},
	{"k3d-disable-load", boolKey},
	{"microk8s-disable-load", boolKey},
	{"collect-metrics", boolKey},
}

// GlobalConfigKeys are the keys of the global config that skiff config
// set and unset take.
func GlobalConfigKeys() []string {
	out := make([]string, len(globalKeys))
	for i, k := range globalKeys {
		out[i] = k.name
	}
	return out
}

// ConfigEntry names the part of the global config that set, unset and
// list address: the global values, or the entry of one kube context
// (matched by its exact name, as Skaffold edits it).
type ConfigEntry struct {
	Global      bool
	KubeContext string
}

// String is how Skaffold's messages name the entry.
func (e ConfigEntry) String() string {
	if e.Global {
		return "global"
	}
	return "context " + e.KubeContext
}

// SetGlobalValue sets key to value in entry of the global config file
// path, creating the file, the entry and the key as needed and keeping
// every other key. A list key (insecure-registries) gets value added to
// it; a boolean key takes true or false.
func SetGlobalValue(path string, entry ConfigEntry, key, value string) error {
	kind, err := globalKeyKindOf(key)
	if err != nil {
		return err
	}
	var scalar *yaml.Node
	switch kind {
	case boolKey:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("%s is not a valid value for %s: it takes true or false", value, key)
		}
		scalar = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
	default:
		scalar = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	}
	return editGlobalConfig(path, func(root *yaml.Node) error {
		m := entryNode(root, entry, true)
		cur := mapValue(m, key)
		switch {
		case kind == listKey && cur != nil && cur.Kind == yaml.SequenceNode:
			if !slices.ContainsFunc(cur.Content, func(n *yaml.Node) bool { return n.Value == value }) {
				cur.Content = append(cur.Content, scalar)
			}
		case kind == listKey:
			setMappingValue(m, key, &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{scalar}})
		default:
			setMappingValue(m, key, scalar)
		}
		return nil
	})
}

// UnsetGlobalValue removes key from entry of the global config file path,
// keeping every other key; an entry or key that is not there is left so.
func UnsetGlobalValue(path string, entry ConfigEntry, key string) error {
	if _, err := globalKeyKindOf(key); err != nil {
		return err
	}
	return editGlobalConfig(path, func(root *yaml.Node) error {
		m := entryNode(root, entry, false)
		if m == nil {
			return nil
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				m.Content = slices.Delete(m.Content, i, i+2)
				return nil
			}
		}
		return nil
	})
}

// GlobalConfigYAML is the global config file path as YAML: all of it, or
// only entry (empty when the file has no such entry), as skiff config list
// prints it.
func GlobalConfigYAML(path string, entry *ConfigEntry) ([]byte, error) {
	root, err := readGlobalConfigNode(path)
	if err != nil {
		return nil, err
	}
	n := root
	if entry != nil {
		if n = entryNode(root, *entry, false); n == nil {
			return nil, nil
		}
	}
	if len(n.Content) == 0 {
		return nil, nil
	}
	return marshalGlobal(n)
}

// marshalGlobal writes n as YAML indented by two spaces, as Skaffold
// writes the file.
func marshalGlobal(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func globalKeyKindOf(key string) (globalKeyKind, error) {
	for _, k := range globalKeys {
		if k.name == key {
			return k.kind, nil
		}
	}
	return 0, fmt.Errorf("%s is not a valid config field; the fields are %s", key, strings.Join(GlobalConfigKeys(), ", "))
}

// readGlobalConfigNode reads path as a YAML mapping; a missing or empty
// file is an empty mapping.
func readGlobalConfigNode(path string) (*yaml.Node, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading the global config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("global config %s: %v; fix the file by hand", path, err)
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("global config %s:%d: the file is not a mapping (global:, kubeContexts:); fix the file by hand", path, root.Line)
	}
	return root, nil
}

// editGlobalConfig reads path, lets edit change it and writes it back,
// creating its directory when needed.
func editGlobalConfig(path string, edit func(root *yaml.Node) error) error {
	root, err := readGlobalConfigNode(path)
	if err != nil {
		return err
	}
	if err := edit(root); err != nil {
		return err
	}
	out, err := marshalGlobal(root)
	if err != nil {
		return fmt.Errorf("global config %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing the global config: %w", err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("writing the global config: %w", err)
	}
	return nil
}

// entryNode finds entry's mapping in root, creating it when create is
// set; nil when it is not there.
func entryNode(root *yaml.Node, entry ConfigEntry, create bool) *yaml.Node {
	if entry.Global {
		g := mapValue(root, "global")
		if g == nil || g.Kind != yaml.MappingNode {
			if !create {
				return nil
			}
			g = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			setMappingValue(root, "global", g)
		}
		return g
	}
	seq := mapValue(root, "kubeContexts")
	if seq == nil || seq.Kind != yaml.SequenceNode {
		if !create {
			return nil
		}
		seq = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		setMappingValue(root, "kubeContexts", seq)
	}
	for _, e := range seq.Content {
		if n := mapValue(e, "kube-context"); n != nil && n.Value == entry.KubeContext {
			return e
		}
	}
	if !create {
		return nil
	}
	e := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	setMappingValue(e, "kube-context", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: entry.KubeContext})
	seq.Content = append(seq.Content, e)
	return e
}

// mapValue is the value node of key in mapping m, nil when m is nil or
// has no key.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	_, v := mappingValue(m, key)
	return v
}

// setMappingValue sets key to v in mapping m, in place when present.
func setMappingValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}
