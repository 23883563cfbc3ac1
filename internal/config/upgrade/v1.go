package upgrade

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The steps from skaffold/v1alpha1 to skaffold/v2beta8. Skaffold converts
// these versions by copying each struct into the next version's through
// JSON, which silently drops any field whose name changed without an
// explicit conversion; skiff converts or notes every such field instead.
// Profiles have patches since skaffold/v1beta4, so only the later steps
// rewrite patch paths.

// v1alpha1 upgrades to skaffold/v1alpha2, which gave the docker builder its
// own section, made tagPolicy a mapping and kubectl manifests a list of
// paths.
var v1alpha1 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		build, err := field(p.node, "build", p.path)
		if err != nil {
			return err
		}
		if tk, tv, _ := lookup(build, "tagPolicy"); tk != nil && tv.Kind == yaml.ScalarNode {
			policy, _ := scalar(tv)
			switch policy {
			case "":
				remove(build, "tagPolicy")
			case "sha256", "gitCommit":
				m := newMapping(tv)
				m.Content = []*yaml.Node{str(policy, tv), newMapping(tv)}
				build.Content[indexOf(build, tk)+1] = m
				u.notef(tk, "%sbuild.tagPolicy: %s became tagPolicy: {%s: {}}", p.path, policy, policy)
			default:
				remove(build, "tagPolicy")
				u.warnf(tk, "%sbuild.tagPolicy %q removed: skaffold/v1alpha1 knew only sha256 and gitCommit, so the default tagger (gitCommit) applies", p.path, policy)
			}
		}
		arts, paths, err := artifacts(p)
		if err != nil {
			return err
		}
		for i, a := range arts {
			var moved []string
			for _, key := range []string{"dockerfilePath", "buildArgs"} {
				k, v := remove(a, key)
				if k == nil || isNull(v) {
					continue
				}
				docker, err := field(a, "docker", paths[i])
				if err != nil {
					return err
				}
				if docker == nil {
					remove(a, "docker")
					docker = newMapping(k)
					insert(a, str("docker", k), docker)
				}
				if dk, _, _ := lookup(docker, key); dk != nil {
					return errorf(dk, paths[i]+"docker."+key, "%s is also set on the artifact itself; keep one", key)
				}
				insert(docker, k, v)
				moved = append(moved, key)
			}
			if len(moved) > 0 {
				_, d, _ := lookup(a, "docker")
				u.notef(d, "%s%s moved under %sdocker", paths[i], strings.Join(moved, " and "), paths[i])
			}
		}
		deploy, err := field(p.node, "deploy", p.path)
		if err != nil {
			return err
		}
		if k, v := remove(deploy, "name"); k != nil && !isNull(v) {
			u.warnf(k, "%sdeploy.name removed: skaffold/v1alpha2 has no deployment name", p.path)
		}
		kubectl, err := field(deploy, "kubectl", p.path+"deploy.")
		if err != nil {
			return err
		}
		ms, err := list(kubectl, "manifests", p.path+"deploy.kubectl.")
		if err != nil || ms == nil {
			return err
		}
		var flat []*yaml.Node
		for j, m := range ms.Content {
			if m.Kind != yaml.MappingNode {
				flat = append(flat, m) // already a path
				continue
			}
			mpath := index(p.path+"deploy.kubectl.manifests", j)
			ps, err := list(m, "paths", mpath+".")
			if err != nil {
				return err
			}
			if ps != nil {
				flat = append(flat, ps.Content...)
			}
			if k, v, _ := lookup(m, "parameters"); k != nil && !isNull(v) && len(v.Content) > 0 {
				u.warnf(k, "%s.parameters ignored: skaffold/v1alpha2 applies manifests as they are; check them before deploying", mpath)
			}
			u.notef(m, "%s.paths became items of %sdeploy.kubectl.manifests", mpath, p.path)
		}
		ms.Content = flat
		return nil
	},
}

// v1alpha2 upgrades to skaffold/v1alpha3, which took several values files
// per helm release and grouped kaniko's context under buildContext.
var v1alpha2 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		rels, paths, err := helmReleases(p)
		if err != nil {
			return err
		}
		for i, r := range rels {
			k, v := remove(r, "valuesFilePath")
			if k == nil || isNull(v) {
				continue
			}
			if fk, _, _ := lookup(r, "valuesFiles"); fk != nil {
				return errorf(fk, paths[i]+"valuesFiles", "skaffold/v1alpha2 has no valuesFiles, only valuesFilePath; keep valuesFilePath")
			}
			k.Value = "valuesFiles"
			insert(r, k, newSequence(v, v))
			u.notef(k, "%svaluesFilePath became the list valuesFiles", paths[i])
		}
		build, err := field(p.node, "build", p.path)
		if err != nil {
			return err
		}
		kaniko, err := field(build, "kaniko", p.path+"build.")
		if err != nil {
			return err
		}
		if k, v := remove(kaniko, "gcsBucket"); k != nil && !isNull(v) {
			bc := newMapping(k)
			bc.Content = []*yaml.Node{k, v}
			insert(kaniko, str("buildContext", k), bc)
			u.notef(k, "%sbuild.kaniko.gcsBucket moved to build.kaniko.buildContext.gcsBucket", p.path)
		}
		return nil
	},
}

// v1alpha3 upgrades to skaffold/v1alpha4, which renamed an artifact's
// imageName, workspace and docker.dockerfilePath to image, context and
// docker.dockerfile, kustomizePath to path, and replaced build.local's
// skipPush with its opposite, push.
var v1alpha3 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		arts, paths, err := artifacts(p)
		if err != nil {
			return err
		}
		for i, a := range arts {
			if err := u.rename(a, "imageName", "image", paths[i]); err != nil {
				return err
			}
			if err := u.rename(a, "workspace", "context", paths[i]); err != nil {
				return err
			}
			docker, err := field(a, "docker", paths[i])
			if err != nil {
				return err
			}
			if err := u.rename(docker, "dockerfilePath", "dockerfile", paths[i]+"docker."); err != nil {
				return err
			}
		}
		deploy, err := field(p.node, "deploy", p.path)
		if err != nil {
			return err
		}
		kustomize, err := field(deploy, "kustomize", p.path+"deploy.")
		if err != nil {
			return err
		}
		if err := u.rename(kustomize, "kustomizePath", "path", p.path+"deploy.kustomize."); err != nil {
			return err
		}
		build, err := field(p.node, "build", p.path)
		if err != nil {
			return err
		}
		local, err := field(build, "local", p.path+"build.")
		if err != nil {
			return err
		}
		k, v, _ := lookup(local, "skipPush")
		if k == nil {
			return nil
		}
		skip, ok := boolValue(v)
		if !ok {
			return errorf(v, p.path+"build.local.skipPush", "expected true or false, got %s", describe(v))
		}
		if isNull(v) {
			remove(local, "skipPush")
			return nil
		}
		if pk, _, _ := lookup(local, "push"); pk != nil {
			return errorf(pk, p.path+"build.local.push", "skaffold/v1alpha3 has no push, only skipPush; keep skipPush")
		}
		k.Value = "push"
		push := str("true", v)
		push.Tag = "!!bool"
		if skip {
			push.Value = "false"
		}
		push.LineComment = v.LineComment
		local.Content[indexOf(local, k)+1] = push
		u.notef(k, "%sbuild.local.skipPush: %t became push: %t", p.path, skip, !skip)
		return nil
	},
}

// v1alpha5 upgrades to skaffold/v1beta1, which removed the Azure Container
// Registry builder (build.acr); Skaffold refuses to upgrade a config that
// uses it, and so does skiff.
var v1alpha5 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		build, err := field(p.node, "build", p.path)
		if err != nil {
			return err
		}
		if k, v, _ := lookup(build, "acr"); k != nil && !isNull(v) {
			return errorf(k, p.path+"build.acr", "the Azure Container Registry builder was removed in skaffold/v1beta1 and cannot be upgraded, by skiff or by Skaffold; remove it and build with build.local or build.cluster")
		}
		if k, _ := remove(build, "acr"); k != nil {
			u.notef(k, "%sbuild.acr removed: it was empty", p.path)
		}
		return nil
	},
}

// v1beta6 upgrades to skaffold/v1beta7, which split the kaniko builder
// (build.kaniko) into the cluster it runs on (build.cluster: namespace,
// timeout, pull secret, docker config) and each artifact's kaniko
// settings (buildContext, cache, flags, image). As in Skaffold, every
// artifact then builds with kaniko; skiff moves a docker artifact's
// dockerfile, buildArgs and target into its kaniko section.
var v1beta6 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		build, err := field(p.node, "build", p.path)
		if err != nil {
			return err
		}
		kk, kv, _ := lookup(build, "kaniko")
		if kk == nil {
			return nil
		}
		if isNull(kv) {
			remove(build, "kaniko")
			return nil
		}
		if kv.Kind != yaml.MappingNode {
			return wrongKind(kv, p.path+"build.kaniko", yaml.MappingNode)
		}
		if ck, _, _ := lookup(build, "cluster"); ck != nil {
			return errorf(ck, p.path+"build.cluster", "skaffold/v1beta6 has no build.cluster; remove it, the upgrade writes it from build.kaniko")
		}
		arts, paths, err := artifacts(p)
		if err != nil {
			return err
		}
		per := []string{"buildContext", "cache", "flags", "image"}
		for i, a := range arts {
			ka := newMapping(kk)
			if docker, err := field(a, "docker", paths[i]); err != nil {
				return err
			} else if docker != nil {
				for _, key := range []string{"dockerfile", "buildArgs", "target"} {
					if k, v := remove(docker, key); k != nil {
						insert(ka, k, v)
					}
				}
				dk, _ := remove(a, "docker")
				if len(docker.Content) > 0 {
					u.warnf(dk, "%sdocker became %skaniko, as build.kaniko builds every artifact; its %s removed: kaniko does not take them", paths[i], paths[i], strings.Join(keys(docker), ", "))
				} else {
					u.notef(dk, "%sdocker became %skaniko, as build.kaniko builds every artifact", paths[i], paths[i])
				}
			}
			for _, key := range per {
				if k, v, _ := lookup(kv, key); k != nil {
					insert(ka, clone(k, true), clone(v, true))
				}
			}
			if k, _, _ := lookup(a, "kaniko"); k != nil {
				return errorf(k, paths[i]+"kaniko", "skaffold/v1beta6 has no per-artifact kaniko; remove it, the upgrade writes it from build.kaniko")
			}
			insert(a, str("kaniko", kk), ka)
		}
		for _, key := range per {
			remove(kv, key)
		}
		kk.Value = "cluster"
		u.notef(kk, "%sbuild.kaniko split into build.cluster and each artifact's kaniko", p.path)
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		if p.match("build", "kaniko") {
			return nil, "points at build.kaniko, which skaffold/v1beta7 split into build.cluster and each artifact's kaniko"
		}
		return nil, ""
	},
}

// v1beta8 upgrades to skaffold/v1beta9, which dropped builder plugins: an
// artifact's plugin (bazel or docker) and build.executionEnvironment
// (googleCloudBuild or local) become the builder's own section, holding
// the plugin's properties.
var v1beta8 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		arts, paths, err := artifacts(p)
		if err != nil {
			return err
		}
		for i, a := range arts {
			if err := u.unplug(a, "plugin", paths[i], "bazel", "docker"); err != nil {
				return err
			}
		}
		build, err := field(p.node, "build", p.path)
		if err != nil {
			return err
		}
		return u.unplug(build, "executionEnvironment", p.path+"build.", "googleCloudBuild", "local")
	},
	retarget: func(p pointer) ([]pointer, string) {
		if p.match("build", "artifacts", "*", "plugin") || p.match("build", "executionEnvironment") {
			return nil, "points at a builder plugin, which skaffold/v1beta9 replaced with the builder's own section"
		}
		return nil, ""
	},
}

// unplug replaces m's plugin field key ({name, properties}) with a field
// named after the plugin holding its properties; names lists the plugins
// Skaffold converts.
func (u *upgrader) unplug(m *yaml.Node, key, path string, names ...string) error {
	k, v, _ := lookup(m, key)
	if k == nil {
		return nil
	}
	if isNull(v) {
		remove(m, key)
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return wrongKind(v, path+key, yaml.MappingNode)
	}
	_, nv, _ := lookup(v, "name")
	name, _ := scalar(nv)
	if !slices.Contains(names, name) {
		return errorf(k, path+key, "the %s %q cannot be upgraded: skaffold/v1beta9 replaced plugins with builders, and only %s convert; rewrite it by hand", key, name, strings.Join(names, " and "))
	}
	if ok, _, _ := lookup(m, name); ok != nil {
		return errorf(ok, path+name, "%s is set next to a %s plugin; keep one", name, name)
	}
	_, props, _ := lookup(v, "properties")
	if isNull(props) {
		props = newMapping(v)
	}
	remove(m, key)
	k.Value = name
	insert(m, k, props)
	u.notef(k, "%s%s %s became %s%s", path, key, name, path, name)
	return nil
}

// v1beta9 upgrades to skaffold/v1beta10, which replaced an artifact's sync
// map (pattern: destination) with rules under sync.manual (src, dest,
// strip) that keep the folder structure below the pattern instead of
// flattening it. As in Skaffold, a simple pattern keeps its behaviour
// through strip, *** becomes ** with the part before it stripped, and any
// other pattern is converted as it is with a warning.
var v1beta9 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		arts, paths, err := artifacts(p)
		if err != nil {
			return err
		}
		for i, a := range arts {
			sk, sv, _ := lookup(a, "sync")
			if sk == nil || sv.Kind != yaml.MappingNode {
				continue
			}
			if mk, _, _ := lookup(sv, "manual"); mk != nil {
				continue // already the new shape
			}
			if ik, _, _ := lookup(sv, "infer"); ik != nil {
				continue
			}
			rules := newSequence(sv)
			for j := 0; j+1 < len(sv.Content); j += 2 {
				srcN, destN := sv.Content[j], sv.Content[j+1]
				src, ok := scalar(srcN)
				if !ok {
					return errorf(srcN, paths[i]+"sync", "expected a file pattern as the key, got %s", describe(srcN))
				}
				dest, isText := scalar(destN)
				if !isText && !isNull(destN) {
					return errorf(destN, paths[i]+"sync."+src, "expected a destination path, got %s", describe(destN))
				}
				strip := ""
				switch {
				case simplePattern(src):
					dest, strip = simplify(dest, src[:strings.LastIndex(src, "/")+1])
				case strings.Contains(src, "***"):
					dest, strip = simplify(dest, strings.Split(src, "***")[0])
					src = strings.ReplaceAll(src, "***", "**")
				default:
					u.warnf(srcN, "%ssync pattern %q may sync to other paths: since skaffold/v1beta10 the folders below a pattern are kept, not flattened; check the rule", paths[i], src)
				}
				rule := newMapping(srcN)
				rule.Content = []*yaml.Node{str("src", srcN), str(src, srcN), str("dest", destN), str(dest, destN)}
				if strip != "" {
					rule.Content = append(rule.Content, str("strip", srcN), str(strip, srcN))
				}
				rule.Content[1].HeadComment, rule.Content[1].LineComment = srcN.HeadComment, srcN.LineComment
				rule.Content[3].LineComment = destN.LineComment
				rules.Content = append(rules.Content, rule)
			}
			m := newMapping(sv)
			m.Content = []*yaml.Node{str("manual", sv), rules}
			a.Content[indexOf(a, sk)+1] = m
			u.notef(sk, "%ssync became a list of rules under sync.manual", paths[i])
		}
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		if len(p) > 4 && p.match("build", "artifacts", "*", "sync") {
			return nil, "points into an artifact's sync map, which skaffold/v1beta10 replaced with sync.manual rules"
		}
		return nil, ""
	},
}

// simplePattern reports whether a v1beta9 sync pattern is a plain path or
// one * in its last segment: such patterns sync the same way under the
// new rules once the folder part is stripped.
func simplePattern(src string) bool {
	dir, base := src[:strings.LastIndex(src, "/")+1], src[strings.LastIndex(src, "/")+1:]
	return base != "" && !strings.Contains(dir, "*") && strings.Count(base, "*") <= 1
}

// simplify turns a destination and the folder prefix to strip into a
// simpler rule when the destination already ends with that prefix: the
// prefix is dropped from both.
func simplify(dest, strip string) (string, string) {
	if strip == "" || strip == "/" || dest == "" {
		return dest, strip
	}
	d := dest
	if !strings.HasSuffix(d, "/") {
		d += "/"
	}
	if !strings.HasSuffix(d, strip) {
		return dest, strip
	}
	d = strings.TrimSuffix(d, strings.TrimPrefix(strip, "/"))
	if d == "" {
		d = "."
	}
	return d, ""
}

// v1beta13 upgrades to skaffold/v1beta14, which merged jibMaven and
// jibGradle into jib with a type; a Maven profile becomes the flags
// --activate-profiles PROFILE.
var v1beta13 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		arts, paths, err := artifacts(p)
		if err != nil {
			return err
		}
		for i, a := range arts {
			for _, kind := range []struct{ key, typ, project string }{{"jibMaven", "maven", "module"}, {"jibGradle", "gradle", "project"}} {
				k, v, _ := lookup(a, kind.key)
				if k == nil || v.Kind != yaml.MappingNode {
					continue
				}
				if jk, _, _ := lookup(a, "jib"); jk != nil {
					return errorf(jk, paths[i]+"jib", "skaffold/v1beta13 has no jib, only jibMaven and jibGradle; keep %s", kind.key)
				}
				jib := newMapping(v)
				if pk, pv, _ := lookup(v, kind.project); pk != nil {
					jib.Content = append(jib.Content, str("project", pk), pv)
				}
				args, err := list(v, "args", paths[i]+kind.key+".")
				if err != nil {
					return err
				}
				if prk, prv, _ := lookup(v, "profile"); prk != nil && !isNull(prv) {
					if args == nil {
						args = newSequence(prk)
					}
					args.Content = append(args.Content, str("--activate-profiles", prk), prv)
					u.notef(prk, "%s%s.profile became the flags --activate-profiles %s", paths[i], kind.key, prv.Value)
				}
				if args != nil {
					jib.Content = append(jib.Content, str("args", args), args)
				}
				jib.Content = append(jib.Content, str("type", k), str(kind.typ, k))
				k.Value = "jib"
				a.Content[indexOf(a, k)+1] = jib
				u.notef(k, "%s%s became jib with type: %s", paths[i], kind.key, kind.typ)
			}
		}
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		if len(p) == 4 && (p.match("build", "artifacts", "*", "jibMaven") || p.match("build", "artifacts", "*", "jibGradle")) {
			return []pointer{p.swap(4, "build", "artifacts", p[2], "jib")}, ""
		}
		if p.match("build", "artifacts", "*", "jibMaven") || p.match("build", "artifacts", "*", "jibGradle") {
			return nil, "points into " + p[3] + ", which skaffold/v1beta14 merged into jib"
		}
		return nil, ""
	},
}

// v2alpha1 upgrades to skaffold/v2alpha2, which replaced a kaniko
// artifact's buildContext with initImage (the image that receives the
// local context); a GCS bucket context is no longer supported.
var v2alpha1 = &conversion{
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
			bk, bv := remove(kaniko, "buildContext")
			if bk == nil || isNull(bv) {
				continue
			}
			kpath := paths[i] + "kaniko."
			ld, err := field(bv, "localDir", kpath+"buildContext.")
			if err != nil {
				return err
			}
			gk, gv, _ := lookup(bv, "gcsBucket")
			ik, iv, _ := lookup(ld, "initImage")
			switch {
			case gk != nil && !isNull(gv):
				u.warnf(gk, "%sbuildContext.gcsBucket removed: skaffold/v2alpha2 sends the local context to kaniko and has no GCS bucket context", kpath)
			case ik != nil && !isNull(iv):
				insert(kaniko, ik, iv)
				u.notef(ik, "%sbuildContext.localDir.initImage moved to %sinitImage", kpath, kpath)
			default:
				u.notef(bk, "%sbuildContext removed: the local context is the default", kpath)
			}
		}
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		if p.match("build", "artifacts", "*", "kaniko", "buildContext") {
			return nil, "points at kaniko.buildContext, which skaffold/v2alpha2 replaced with kaniko.initImage"
		}
		return nil, ""
	},
}

// v2alpha2 upgrades to skaffold/v2alpha3, which took several kustomize
// paths (path became the list paths) and dropped the buildpack builder's
// forcePull.
var v2alpha2 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		deploy, err := field(p.node, "deploy", p.path)
		if err != nil {
			return err
		}
		kustomize, err := field(deploy, "kustomize", p.path+"deploy.")
		if err != nil {
			return err
		}
		if k, v, _ := lookup(kustomize, "path"); k != nil {
			if pk, _, _ := lookup(kustomize, "paths"); pk != nil {
				return errorf(pk, p.path+"deploy.kustomize.paths", "skaffold/v2alpha2 has no paths, only path; keep path")
			}
			if path, _ := scalar(v); path == "" {
				remove(kustomize, "path")
			} else {
				k.Value = "paths"
				kustomize.Content[indexOf(kustomize, k)+1] = newSequence(v, v)
				u.notef(k, "%sdeploy.kustomize.path became the list paths", p.path)
			}
		}
		arts, paths, err := artifacts(p)
		if err != nil {
			return err
		}
		for i, a := range arts {
			bp, err := field(a, "buildpack", paths[i])
			if err != nil {
				return err
			}
			if k, v := remove(bp, "forcePull"); k != nil {
				if on, _ := boolValue(v); on {
					u.warnf(k, "%sbuildpack.forcePull removed: skaffold/v2alpha3 has no such setting; the builder image is pulled when missing", paths[i])
				}
			}
		}
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		switch {
		case len(p) == 3 && p.match("deploy", "kustomize", "path"):
			return []pointer{p.swap(3, "deploy", "kustomize", "paths")}, ""
		case p.match("build", "artifacts", "*", "buildpack", "forcePull"):
			return nil, "points at buildpack.forcePull, which skaffold/v2alpha3 removed"
		}
		return nil, ""
	},
}

// v2beta3 upgrades to skaffold/v2beta4, which renamed a helm release's
// values (the image overrides) to artifactOverrides.
var v2beta3 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		rels, paths, err := helmReleases(p)
		if err != nil {
			return err
		}
		for i, r := range rels {
			if err := u.rename(r, "values", "artifactOverrides", paths[i]); err != nil {
				return err
			}
		}
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		if p.match("deploy", "helm", "releases", "*", "values") {
			return []pointer{p.swap(5, "deploy", "helm", "releases", p[3], "artifactOverrides")}, ""
		}
		return nil, ""
	},
}

// v2beta4 upgrades to skaffold/v2beta5, which renamed build.cluster's
// pullSecret to pullSecretPath and an artifact's buildpack to buildpacks.
var v2beta4 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		build, err := field(p.node, "build", p.path)
		if err != nil {
			return err
		}
		cluster, err := field(build, "cluster", p.path+"build.")
		if err != nil {
			return err
		}
		if err := u.rename(cluster, "pullSecret", "pullSecretPath", p.path+"build.cluster."); err != nil {
			return err
		}
		arts, paths, err := artifacts(p)
		if err != nil {
			return err
		}
		for i, a := range arts {
			if err := u.rename(a, "buildpack", "buildpacks", paths[i]); err != nil {
				return err
			}
		}
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		switch {
		case p.match("build", "cluster", "pullSecret"):
			return []pointer{p.swap(3, "build", "cluster", "pullSecretPath")}, ""
		case p.match("build", "artifacts", "*", "buildpack"):
			return []pointer{p.swap(4, "build", "artifacts", p[2], "buildpacks")}, ""
		}
		return nil, ""
	},
}

// rename renames the key from of mapping m to to, keeping its position
// and value, and notes it. path prefixes the field path of m.
func (u *upgrader) rename(m *yaml.Node, from, to, path string) error {
	k, _, _ := lookup(m, from)
	if k == nil {
		return nil
	}
	if tk, _, _ := lookup(m, to); tk != nil {
		return errorf(tk, path+to, "%s%s is set next to %s, its older name; keep one", path, to, from)
	}
	k.Value = to
	u.notef(k, "%s%s became %s%s", path, from, path, to)
	return nil
}
