package upgrade

import (
	"slices"

	"go.yaml.in/yaml/v3"
)

// v3 upgrades to skaffold/v4beta1, which moved deploy.kubectl's
// remoteManifests to manifests.remoteManifests; each becomes a mapping with
// the manifest and the pipeline's deploy.kubeContext.
var v3 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		deploy, err := field(p.node, "deploy", p.path)
		if err != nil {
			return err
		}
		dpath := p.path + "deploy."
		kubectl, err := field(deploy, "kubectl", dpath)
		if err != nil {
			return err
		}
		rk, rv, _ := lookup(kubectl, "remoteManifests")
		if rk == nil {
			return nil
		}
		if !isNull(rv) && rv.Kind != yaml.SequenceNode {
			return wrongKind(rv, dpath+"kubectl.remoteManifests", yaml.SequenceNode)
		}
		remove(kubectl, "remoteManifests")
		if isNull(rv) || len(rv.Content) == 0 {
			u.notef(rk, "%skubectl.remoteManifests removed: it was empty", dpath)
			return nil
		}
		_, kc, _ := lookup(deploy, "kubeContext")
		context, _ := scalar(kc)
		dk, _, _ := lookup(p.node, "deploy")
		man, err := manifests(p, dk)
		if err != nil {
			return err
		}
		rm, err := list(man, "remoteManifests", p.path+"manifests.")
		if err != nil {
			return err
		}
		if rm == nil {
			remove(man, "remoteManifests")
			rm = newSequence(rv)
			rk.Value = "remoteManifests"
			insert(man, rk, rm, after(renderOrder, "remoteManifests")...)
		}
		for i, it := range rv.Content {
			if isNull(it) {
				continue
			}
			if it.Kind != yaml.ScalarNode {
				return errorf(it, index(dpath+"kubectl.remoteManifests", i), "expected a manifest name, got %s", describe(it))
			}
			m := newMapping(it)
			k := str("manifest", it)
			k.HeadComment, it.HeadComment = it.HeadComment, ""
			insert(m, k, it)
			if context != "" {
				insert(m, str("kubeContext", kc), clone(kc, false))
			}
			rm.Content = append(rm.Content, m)
		}
		with := ""
		if context != "" {
			with = ", each with the deploy.kubeContext"
		}
		u.notef(rk, "%skubectl.remoteManifests moved to %smanifests.remoteManifests%s", dpath, p.path, with)
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		if p.match("deploy", "kubectl", "remoteManifests") {
			return []pointer{p.swap(3, "manifests", "remoteManifests")}, ""
		}
		return nil, ""
	},
	// prepare gives a patch value inside deploy the kubeContext of the
	// config it patches.
	prepare: func(pc *patchCtx, root *yaml.Node) []*yaml.Node {
		if len(pc.ptr) <= 1 || !pc.ptr.match("deploy", "kubectl", "remoteManifests") {
			return nil
		}
		wrapped := unwrap(root, pc.ptr[:1])
		for _, p := range []pipeline{pc.profile, pc.base} {
			_, d, _ := lookup(p.node, "deploy")
			if _, kc, _ := lookup(d, "kubeContext"); !isNull(kc) && wrapped != nil {
				v := clone(kc, false)
				insert(wrapped, str("kubeContext", nil), v)
				return []*yaml.Node{v}
			}
		}
		return nil
	},
}

// verifyContainerFields are the fields of a verify container since
// skaffold/v4beta4 (env since v4beta12); before, it was a whole Kubernetes
// container.
var verifyContainerFields = []string{"name", "image", "command", "args", "env"}

// v4beta3 upgrades to skaffold/v4beta4, which replaced the Kubernetes
// container of a verify test with its own, smaller type. Skaffold drops
// every other container field; skiff does too, but keeps env entries of a
// name and a value, which skaffold/v4beta12 accepts again.
var v4beta3 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		vs, err := list(p.node, "verify", p.path)
		if err != nil {
			return err
		}
		tests, idx, err := items(vs, p.path+"verify")
		if err != nil {
			return err
		}
		for j, t := range tests {
			path := index(p.path+"verify", idx[j]) + ".container."
			c, err := field(t, "container", path[:len(path)-len("container.")])
			if err != nil {
				return err
			}
			if c == nil {
				continue
			}
			for i := 0; i+1 < len(c.Content); {
				k := c.Content[i]
				if k.Kind == yaml.ScalarNode && slices.Contains(verifyContainerFields, k.Value) {
					i += 2
					continue
				}
				c.Content = slices.Delete(c.Content, i, i+2)
				u.notef(k, "%s%s removed: a verify container has only name, image, command, args and env", path, k.Value)
			}
			env, err := list(c, "env", path)
			if err != nil {
				return err
			}
			if env == nil {
				continue
			}
			kept := env.Content[:0]
			for i, e := range env.Content {
				if e.Kind == yaml.MappingNode && !slices.ContainsFunc(keys(e), func(k string) bool { return k != "name" && k != "value" }) {
					kept = append(kept, e)
					continue
				}
				u.notef(e, "%s removed: a verify container's env entry has only a name and a value", index(path+"env", i))
			}
			env.Content = kept
		}
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		if p.match("verify", "*", "container", "*") && !slices.Contains(verifyContainerFields, p[3]) {
			return nil, "points at a verify container field that skaffold/v4beta4 removed"
		}
		return nil, ""
	},
}

// keys returns the scalar keys of mapping m.
func keys(m *yaml.Node) []string {
	var ks []string
	for i := 0; i+1 < len(m.Content); i += 2 {
		ks = append(ks, m.Content[i].Value)
	}
	return ks
}

// v4beta4 upgrades to skaffold/v4beta5, which dropped kaniko's noPush
// ("it does not work currently", says Skaffold).
var v4beta4 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		arts, paths, err := artifacts(p)
		if err != nil {
			return err
		}
		for i, a := range arts {
			kaniko, err := field(a, "kaniko", paths[i])
			if err != nil {
				return err
			}
			if k, _ := remove(kaniko, "noPush"); k != nil {
				u.notef(k, "%skaniko.noPush removed: Skaffold dropped it, as it never worked", paths[i])
			}
		}
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		if p.match("build", "artifacts", "*", "kaniko", "noPush") {
			return nil, "points at kaniko.noPush, which skaffold/v4beta5 removed"
		}
		return nil, ""
	},
}

// v4beta7 upgrades to skaffold/v4beta8, which fixed the YAML name of the
// kpt deployer's force flag: it was the key false.
var v4beta7 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		deploy, err := field(p.node, "deploy", p.path)
		if err != nil {
			return err
		}
		kpt, err := field(deploy, "kpt", p.path+"deploy.")
		if err != nil {
			return err
		}
		k, _, _ := lookup(kpt, "false")
		if k == nil {
			return nil
		}
		if fk, _, _ := lookup(kpt, "force"); fk != nil {
			return errorf(fk, p.path+"deploy.kpt.force", "skaffold/v4beta7 spells this flag false: (a Skaffold bug); keep only that one")
		}
		k.Value, k.Tag, k.Style = "force", "!!str", 0
		u.notef(k, "%sdeploy.kpt.false renamed to force", p.path)
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		if p.match("deploy", "kpt", "false") {
			return []pointer{p.swap(3, "deploy", "kpt", "force")}, ""
		}
		return nil, ""
	},
}
