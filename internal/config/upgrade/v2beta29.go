package upgrade

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// v2beta29 upgrades to skaffold/v3alpha1, the first schema of Skaffold v2,
// which split rendering (manifests) from deploying (deploy):
//   - deploy.kubectl.manifests moves to manifests.rawYaml;
//   - deploy.kustomize's paths and buildArgs move to manifests.kustomize
//     (paths default to ["."]), and the rest of it (flags,
//     defaultNamespace, hooks) merges into deploy.kubectl, which deploys
//     the rendered manifests;
//   - deploy.helm's releases and flags are copied to manifests.helm, and
//     each release's artifactOverrides and imageStrategy become
//     setValueTemplates with Skaffold's image template variables;
//   - deploy.kpt (the v1 kpt deployer) cannot be upgraded.
//
// Profile patches into the moved fields are rewritten to match.
var v2beta29 = &conversion{
	convert:  splitRender,
	retarget: retargetV2beta29,
	special:  specialV2beta29,
	prepare:  prepareV2beta29,
}

// renderOrder is the order of the manifests section's fields.
var renderOrder = []string{"rawYaml", "remoteManifests", "kustomize", "helm", "kpt", "hooks", "transform", "validate", "output"}

func splitRender(u *upgrader, p pipeline) error {
	deploy, err := field(p.node, "deploy", p.path)
	if err != nil || deploy == nil {
		return err
	}
	dk, _, _ := lookup(p.node, "deploy")
	dpath := p.path + "deploy."
	// The manifests section is created on first use, before deploy.
	var man *yaml.Node
	section := func(key string, at *yaml.Node) (*yaml.Node, error) {
		if man == nil {
			if man, err = manifests(p, dk); err != nil {
				return nil, err
			}
		}
		if k, v, _ := lookup(man, key); k != nil {
			if !isNull(v) {
				return nil, errorf(k, p.path+"manifests."+key, "skaffold/v2beta29 has no manifests section; remove this field: the upgrade writes it from %s", strings.TrimSuffix(dpath, "."))
			}
			remove(man, key)
		}
		return man, nil
	}

	if kk, kv, _ := lookup(deploy, "kpt"); kk != nil {
		if !isNull(kv) {
			return errorf(kk, dpath+"kpt", "the kpt deployer of skaffold/v2beta29 (dir, fn, live) cannot be upgraded, by skiff or by Skaffold: "+
				"rewrite it for %s by hand, listing the kpt package directories under manifests.kpt and configuring deploy.kpt (dir, flags, applyFlags, ...), "+
				"then set apiVersion: %s", Latest, Latest)
		}
		remove(deploy, "kpt")
		u.notef(kk, "%skpt removed: it was empty", dpath)
	}

	kubectl, err := field(deploy, "kubectl", dpath)
	if err != nil {
		return err
	}
	if mk, mv := remove(kubectl, "manifests"); mk != nil {
		m, err := section("rawYaml", mk)
		if err != nil {
			return err
		}
		mk.Value = "rawYaml"
		insert(m, mk, mv, after(renderOrder, "rawYaml")...)
		u.notef(mk, "%skubectl.manifests moved to %smanifests.rawYaml", dpath, p.path)
	}

	if zk, zv, _ := lookup(deploy, "kustomize"); zk != nil {
		if err := splitKustomize(u, p, deploy, zk, zv, section); err != nil {
			return err
		}
	}

	if hk, hv, _ := lookup(deploy, "helm"); hk != nil {
		if isNull(hv) {
			remove(deploy, "helm")
			u.notef(hk, "%shelm removed: it was empty", dpath)
			return nil
		}
		if hv.Kind != yaml.MappingNode {
			return wrongKind(hv, dpath+"helm", yaml.MappingNode)
		}
		rels, paths, err := helmReleases(p)
		if err != nil {
			return err
		}
		for i, r := range rels {
			if err := convertRelease(u, r, paths[i]); err != nil {
				return err
			}
		}
		m, err := section("helm", hk)
		if err != nil {
			return err
		}
		mh := newMapping(hk)
		for _, key := range []string{"releases", "flags"} {
			if k, v, _ := lookup(hv, key); k != nil {
				insert(mh, clone(k, false), clone(v, false))
			}
		}
		insert(m, str("helm", hk), mh, after(renderOrder, "helm")...)
		u.notef(hk, "%shelm releases and flags copied to %smanifests.helm, which renders them; %shelm still installs them", dpath, p.path, dpath)
	}
	return nil
}

// splitKustomize moves deploy.kustomize's paths and buildArgs to
// manifests.kustomize and merges the rest into deploy.kubectl.
func splitKustomize(u *upgrader, p pipeline, deploy, zk, zv *yaml.Node, section func(string, *yaml.Node) (*yaml.Node, error)) error {
	dpath := p.path + "deploy."
	if isNull(zv) {
		remove(deploy, "kustomize")
		u.notef(zk, "%skustomize removed: it was empty", dpath)
		return nil
	}
	if zv.Kind != yaml.MappingNode {
		return wrongKind(zv, dpath+"kustomize", yaml.MappingNode)
	}
	for i := 0; i+1 < len(zv.Content); i += 2 {
		k := zv.Content[i]
		if !slices.Contains([]string{"paths", "buildArgs", "flags", "defaultNamespace", "hooks"}, k.Value) {
			return errorf(k, dpath+"kustomize."+k.Value, "the kustomize deployer has no field %q (it has paths, buildArgs, flags, defaultNamespace and hooks)", k.Value)
		}
	}
	m, err := section("kustomize", zk)
	if err != nil {
		return err
	}
	kz := newMapping(zk)
	pk, pv := remove(zv, "paths")
	if !isNull(pv) && pv.Kind != yaml.SequenceNode {
		return wrongKind(pv, dpath+"kustomize.paths", yaml.SequenceNode)
	}
	if isNull(pv) || len(pv.Content) == 0 {
		at := zk
		if pk != nil {
			at = pk
		} else {
			pk = str("paths", at)
		}
		dot := str(".", at)
		dot.Style = yaml.DoubleQuotedStyle
		pv = newSequence(at, dot)
		u.notef(at, "%skustomize has no paths: manifests.kustomize.paths is [\".\"], Skaffold's default", dpath)
	}
	insert(kz, pk, pv)
	moved := "paths"
	if bk, bv := remove(zv, "buildArgs"); bk != nil {
		insert(kz, bk, bv)
		moved = "paths and buildArgs"
	}
	insert(m, str("kustomize", zk), kz, after(renderOrder, "kustomize")...)
	u.notef(zk, "%skustomize %s moved to %smanifests.kustomize", dpath, moved, p.path)

	kk, kv, _ := lookup(deploy, "kubectl")
	if isNull(kv) {
		remove(deploy, "kubectl")
		zk.Value = "kubectl"
		u.notef(zk, "%skustomize became %skubectl, which deploys the kustomize output", dpath, dpath)
		return nil
	}
	if err := mergeKubectl(kv, zv, dpath); err != nil {
		return err
	}
	remove(deploy, "kustomize")
	u.notef(zk, "%skustomize merged into %skubectl (at %d:%d), which deploys the kustomize output", dpath, dpath, kk.Line, kk.Column)
	return nil
}

// mergeKubectl merges the kustomize deployer's flags, defaultNamespace and
// hooks into the kubectl deployer, refusing what Skaffold refuses.
func mergeKubectl(kv, zv *yaml.Node, dpath string) error {
	zpath, kpath := dpath+"kustomize.", dpath+"kubectl."
	znk, znv, _ := lookup(zv, "defaultNamespace")
	if !isNull(znv) {
		_, knv, _ := lookup(kv, "defaultNamespace")
		if !isNull(knv) && (knv.Kind != yaml.ScalarNode || znv.Kind != yaml.ScalarNode || knv.Value != znv.Value) {
			return errorf(znv, zpath+"defaultNamespace", "differs from %sdefaultNamespace: skaffold/v3 deploys kustomize output with the kubectl deployer, which has one defaultNamespace; make them equal or split the config", kpath)
		}
		remove(kv, "defaultNamespace")
		insert(kv, znk, znv)
	}

	zf, err := field(zv, "flags", zpath)
	if err != nil {
		return err
	}
	kf, err := field(kv, "flags", kpath)
	if err != nil {
		return err
	}
	_, zd, _ := lookup(zf, "disableValidation")
	_, kd, _ := lookup(kf, "disableValidation")
	zb, ok := boolValue(zd)
	if !ok {
		return errorf(zd, zpath+"flags.disableValidation", "expected true or false, got %s", describe(zd))
	}
	kb, ok := boolValue(kd)
	if !ok {
		return errorf(kd, kpath+"flags.disableValidation", "expected true or false, got %s", describe(kd))
	}
	if zb != kb {
		at, path, other := zd, zpath, kpath
		if at == nil {
			at, path, other = kd, kpath, zpath
		}
		return errorf(at, path+"flags.disableValidation", "differs from %sflags.disableValidation: skaffold/v3 deploys kustomize output with the kubectl deployer, which has one setting; make them equal", other)
	}
	if err := mergeLists(kv, zv, "flags", []string{"global", "apply", "delete"}, "disableValidation", zpath); err != nil {
		return err
	}
	return mergeLists(kv, zv, "hooks", []string{"before", "after"}, "", zpath)
}

// mergeLists appends the lists under src.key to those under dst.key.
// Other fields of src.key than lists and same are an error.
func mergeLists(dst, src *yaml.Node, key string, lists []string, same, path string) error {
	sk, sv, _ := lookup(src, key)
	if isNull(sv) {
		return nil
	}
	if sv.Kind != yaml.MappingNode {
		return wrongKind(sv, path+key, yaml.MappingNode)
	}
	_, dv, _ := lookup(dst, key)
	if isNull(dv) {
		remove(dst, key)
		insert(dst, sk, sv)
		return nil
	}
	if dv.Kind != yaml.MappingNode {
		return wrongKind(dv, strings.Replace(path, "kustomize.", "kubectl.", 1)+key, yaml.MappingNode)
	}
	for i := 0; i+1 < len(sv.Content); i += 2 {
		k, v := sv.Content[i], sv.Content[i+1]
		switch {
		case k.Value == same:
		case slices.Contains(lists, k.Value):
			if isNull(v) {
				continue
			}
			if v.Kind != yaml.SequenceNode {
				return wrongKind(v, path+key+"."+k.Value, yaml.SequenceNode)
			}
			_, d, _ := lookup(dv, k.Value)
			switch {
			case isNull(d):
				remove(dv, k.Value)
				insert(dv, k, v)
			case d.Kind != yaml.SequenceNode:
				return wrongKind(d, strings.Replace(path, "kustomize.", "kubectl.", 1)+key+"."+k.Value, yaml.SequenceNode)
			default:
				d.Content = append(d.Content, v.Content...)
			}
		default:
			return errorf(k, path+key+"."+k.Value, "unknown field %q: it has %s", k.Value, strings.Join(lists, ", "))
		}
	}
	return nil
}

// imageStrategy is a v1 helm release's imageStrategy: fqn (the default)
// or helm, optionally with explicitRegistry.
type imageStrategy struct {
	helm, explicitRegistry bool
}

func (s imageStrategy) String() string {
	switch {
	case s.explicitRegistry:
		return "imageStrategy helm with explicitRegistry"
	case s.helm:
		return "imageStrategy helm"
	}
	return "imageStrategy fqn"
}

// templates returns, for each value an artifact override becomes, the
// suffix of its key and the format of its template, whose argument is the
// sanitized image name: exactly what Skaffold's upgrade writes.
func (s imageStrategy) templates() [][2]string {
	switch {
	case s.explicitRegistry:
		return [][2]string{
			{".registry", "{{.IMAGE_DOMAIN_%s}}"},
			{".repository", "{{.IMAGE_REPO_NO_DOMAIN_%s}}"},
			{".tag", "{{.IMAGE_TAG_%[1]s}}@{{.IMAGE_DIGEST_%[1]s}}"},
		}
	case s.helm:
		return [][2]string{
			{".repository", "{{.IMAGE_REPO_%s}}"},
			{".tag", "{{.IMAGE_TAG_%[1]s}}@{{.IMAGE_DIGEST_%[1]s}}"},
		}
	}
	return [][2]string{{"", "{{.IMAGE_FULLY_QUALIFIED_%s}}"}}
}

// strategyOf reads a release's imageStrategy node. As in Skaffold's
// decoder, a null helm: means fqn.
func strategyOf(n *yaml.Node, path string) (imageStrategy, error) {
	if isNull(n) {
		return imageStrategy{}, nil
	}
	if n.Kind != yaml.MappingNode {
		return imageStrategy{}, wrongKind(n, path, yaml.MappingNode)
	}
	_, h, _ := lookup(n, "helm")
	if isNull(h) {
		return imageStrategy{}, nil
	}
	if h.Kind != yaml.MappingNode {
		return imageStrategy{}, wrongKind(h, path+".helm", yaml.MappingNode)
	}
	_, e, _ := lookup(h, "explicitRegistry")
	explicit, ok := boolValue(e)
	if !ok {
		return imageStrategy{}, errorf(e, path+".helm.explicitRegistry", "expected true or false, got %s", describe(e))
	}
	return imageStrategy{helm: true, explicitRegistry: explicit}, nil
}

// sanitize turns an image name into the suffix of Skaffold's helm template
// variables: ".", "-", "/" and ":" become "_" (Skaffold's
// SanitizeHelmTemplateValue; the deployer names its variables the same way).
func sanitize(image string) string {
	return strings.NewReplacer(".", "_", "-", "_", "/", "_", ":", "_").Replace(image)
}

// flatEntry is one value of a flattened map (Skaffold's FlatMap: nested
// keys join with ".", list items get "[i]").
type flatEntry struct {
	key   string
	keyN  *yaml.Node
	value *yaml.Node
}

// maxFlatKeys bounds the total length of the keys one flatten makes: each
// repeats the keys of every level above it, so a deep mapping with many
// leaves makes keys far larger than the YAML.
const maxFlatKeys = 1 << 20

// flatten appends n's values under prefix to out, counting the keys'
// bytes in size.
func flatten(n *yaml.Node, prefix string, keyN *yaml.Node, out []flatEntry, size *int, path string) ([]flatEntry, error) {
	if *size += len(prefix); *size > maxFlatKeys {
		return nil, errorf(n, path, "the flattened keys (such as %.60q...) add up to more than %d bytes; nest the values less deeply", prefix, maxFlatKeys)
	}
	var err error
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content) && err == nil; i += 2 {
			out, err = flatten(n.Content[i+1], prefix+n.Content[i].Value+".", n.Content[i], out, size, path)
		}
	case yaml.SequenceNode:
		for i, it := range n.Content {
			if out, err = flatten(it, fmt.Sprintf("%s[%d].", strings.TrimSuffix(prefix, "."), i), keyN, out, size, path); err != nil {
				break
			}
		}
	default:
		out = append(out, flatEntry{key: strings.TrimSuffix(prefix, "."), keyN: keyN, value: n})
	}
	return out, err
}

// convertRelease turns a release's artifactOverrides and imageStrategy
// into setValueTemplates, as Skaffold's upgrade does.
func convertRelease(u *upgrader, r *yaml.Node, path string) error {
	ak, av, ai := lookup(r, "artifactOverrides")
	ik, iv := remove(r, "imageStrategy")
	s, err := strategyOf(iv, path+"imageStrategy")
	if err != nil {
		return err
	}
	if ak == nil || isNull(av) {
		if ak != nil {
			remove(r, "artifactOverrides")
			u.notef(ak, "%sartifactOverrides removed: it was empty", path)
		}
		if ik != nil && ik.Line > 0 { // an injected imageStrategy has no position
			u.notef(ik, "%simageStrategy removed: it applied only to artifactOverrides, which skaffold/v3alpha1 replaced with setValueTemplates", path)
		}
		return nil
	}
	if av.Kind != yaml.MappingNode {
		return wrongKind(av, path+"artifactOverrides", yaml.MappingNode)
	}
	size := 0
	entries, err := flatten(av, "", ak, nil, &size, path+"artifactOverrides")
	if err != nil {
		return err
	}

	tk, tv, _ := lookup(r, "setValueTemplates")
	existing := map[string]*yaml.Node{}
	switch {
	case isNull(tv):
		if tk != nil {
			remove(r, "setValueTemplates")
			_, _, ai = lookup(r, "artifactOverrides")
		}
		tv = newMapping(ak)
		tk = str("setValueTemplates", ak)
		tk.HeadComment, tk.LineComment, tk.FootComment = ak.HeadComment, ak.LineComment, ak.FootComment
		r.Content = slices.Insert(r.Content, ai, tk, tv)
	case tv.Kind != yaml.MappingNode:
		return wrongKind(tv, path+"setValueTemplates", yaml.MappingNode)
	default:
		size := 0
		flat, err := flatten(tv, "", tk, nil, &size, path+"setValueTemplates")
		if err != nil {
			return err
		}
		for _, e := range flat {
			existing[e.key] = e.value
		}
	}
	remove(r, "artifactOverrides")

	var set []string
	for _, e := range entries {
		image, ok := scalar(e.value)
		if !ok {
			return errorf(e.value, path+"artifactOverrides."+e.key, "expected an image name, got %s", describe(e.value))
		}
		for i, t := range s.templates() {
			key, value := e.key+t[0], fmt.Sprintf(t[1], sanitize(image))
			set = append(set, key+": "+value)
			if old, ok := existing[key]; ok {
				u.notef(old, "%ssetValueTemplates %s replaced by the artifact override of %s", path, key, e.key)
				old.Kind, old.Tag, old.Value, old.Style, old.Content = yaml.ScalarNode, "!!str", value, 0, nil
				continue
			}
			k, v := str(key, e.keyN), str(value, e.value)
			if i == 0 { // the override's comments go with its first value
				k.HeadComment, k.FootComment, v.LineComment = e.keyN.HeadComment, e.keyN.FootComment, e.value.LineComment+e.keyN.LineComment
			}
			insert(tv, k, v)
		}
	}
	u.notef(ak, "%sartifactOverrides (%s) became setValueTemplates %s", path, s, strings.Join(set, ", "))
	return nil
}

func retargetV2beta29(p pointer) ([]pointer, string) {
	switch {
	case p.match("deploy", "kubectl", "manifests"):
		return []pointer{p.swap(3, "manifests", "rawYaml")}, ""
	case p.match("deploy", "kustomize", "paths"), p.match("deploy", "kustomize", "buildArgs"):
		return []pointer{p.swap(2, "manifests", "kustomize")}, ""
	case p.match("deploy", "kustomize", "flags"), p.match("deploy", "kustomize", "defaultNamespace"), p.match("deploy", "kustomize", "hooks"):
		return []pointer{p.swap(2, "deploy", "kubectl")}, ""
	case len(p) == 2 && p.match("deploy", "kustomize"):
		return []pointer{{"manifests", "kustomize"}, {"deploy", "kubectl"}}, ""
	case p.match("deploy", "kustomize"):
		return nil, "points at a field the kustomize deployer does not have"
	case p.match("deploy", "kpt"):
		return nil, "points at the kpt deployer of skaffold/v2beta29, which skaffold/v3 replaced with a different one"
	case p.match("deploy", "helm", "hooks"):
		return nil, "" // hooks stay with the helm deployer
	case p.match("deploy", "helm", "releases", "*", "imageStrategy"):
		return nil, "points at imageStrategy, which skaffold/v3alpha1 folded into setValueTemplates"
	case p.match("deploy", "helm", "releases", "*", "artifactOverrides"):
		return []pointer{
			p.swap(5, "manifests", "helm", "releases", p[3], "setValueTemplates"),
			p.swap(5, "deploy", "helm", "releases", p[3], "setValueTemplates"),
		}, ""
	case p.match("deploy", "helm"):
		return []pointer{p.swap(2, "manifests", "helm"), p}, ""
	}
	return nil, ""
}

// release returns helm release idx of the config a profile patches: the
// profile's own releases when it sets deploy.helm.releases (profiles are
// overlaid before their patches apply), else the document's.
func (pc *patchCtx) release(idx string) *yaml.Node {
	for _, p := range []pipeline{pc.profile, pc.base} {
		_, d, _ := lookup(p.node, "deploy")
		_, h, _ := lookup(d, "helm")
		_, rs, _ := lookup(h, "releases")
		if rs == nil || rs.Kind != yaml.SequenceNode {
			continue
		}
		var i int
		if _, err := fmt.Sscanf(idx, "%d", &i); err != nil || i < 0 || i >= len(rs.Content) || rs.Content[i].Kind != yaml.MappingNode {
			return nil
		}
		return rs.Content[i]
	}
	return nil
}

// prepareV2beta29 gives a patch value inside a helm release the
// imageStrategy of the release it patches.
func prepareV2beta29(pc *patchCtx, root *yaml.Node) []*yaml.Node {
	if len(pc.ptr) <= 4 || !pc.ptr.match("deploy", "helm", "releases", "*") {
		return nil
	}
	rel := pc.release(pc.ptr[3])
	_, is, _ := lookup(rel, "imageStrategy")
	wrapped := unwrap(root, pc.ptr[:4])
	if is == nil || wrapped == nil || wrapped.Kind != yaml.MappingNode {
		return nil
	}
	v := clone(is, false)
	insert(wrapped, str("imageStrategy", nil), v)
	return []*yaml.Node{v}
}

// specialV2beta29 rewrites patches into one artifact override, as Skaffold
// does (but writing both the manifests and the deploy copy of the
// release), and a removal of the kustomize deployer.
func specialV2beta29(pc *patchCtx) (bool, error) {
	p := pc.ptr
	if len(p) == 2 && p.match("deploy", "kustomize") && pc.op == "remove" {
		setText(pc.node, "path", "/manifests/kustomize")
		pc.out = []*yaml.Node{pc.node}
		pc.notef("path %s rewritten to /manifests/kustomize; deploy.kubectl, which skaffold/v3alpha1 deploys kustomize output with, stays", p)
		return true, nil
	}
	if len(p) < 6 || !p.match("deploy", "helm", "releases", "*", "artifactOverrides") {
		return false, nil
	}
	rel := pc.release(p[3])
	if rel == nil {
		pc.notef("path %s points at the artifactOverrides of helm release %s, which neither the profile nor the config defines; skiff left the patch as it is, rewrite it with setValueTemplates by hand", p, p[3])
		return true, nil
	}
	_, is, _ := lookup(rel, "imageStrategy")
	s, err := strategyOf(is, "")
	if err != nil {
		return false, err
	}
	var image string
	switch pc.op {
	case "add", "replace":
		var ok bool
		if image, ok = scalar(pc.valueN); !ok {
			pc.notef("the value of a patch to %s is not an image name; skiff left the patch as it is, rewrite it with setValueTemplates by hand", p)
			return true, nil
		}
	case "remove":
	default:
		pc.notef("op %s on %s cannot be rewritten to setValueTemplates; skiff left the patch as it is, rewrite it by hand", pc.op, p)
		return true, nil
	}
	var shown []string
	for _, half := range []string{"manifests", "deploy"} {
		for _, t := range s.templates() {
			np := p.swap(5, half, "helm", "releases", p[3], "setValueTemplates")
			np[len(np)-1] += t[0]
			n := pc.node
			if len(pc.out) > 0 {
				n = clone(pc.node, false)
			}
			setText(n, "path", np.String())
			if pc.op != "remove" {
				setValue(n, str(fmt.Sprintf(t[1], sanitize(image)), pc.valueN))
			}
			pc.out = append(pc.out, n)
			shown = append(shown, np.String())
		}
	}
	pc.notef("path %s (an artifact override, %s) rewritten to %s", p, s, strings.Join(shown, ", "))
	return true, nil
}
