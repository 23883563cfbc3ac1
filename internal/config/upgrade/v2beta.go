package upgrade

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// v2beta12 upgrades to skaffold/v2beta13, which replaced a helm release's
// remote: true with remoteChart: chartPath holds local charts only.
var v2beta12 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		rels, paths, err := helmReleases(p)
		if err != nil {
			return err
		}
		for i, r := range rels {
			rk, rv := remove(r, "remote")
			if rk == nil {
				continue
			}
			remote, ok := boolValue(rv)
			if !ok {
				return errorf(rv, paths[i]+"remote", "expected true or false, got %s", describe(rv))
			}
			ck, _, _ := lookup(r, "chartPath")
			switch {
			case remote && ck != nil:
				ck.Value = "remoteChart"
				u.notef(rk, "%sremote: true and chartPath became remoteChart", paths[i])
			default:
				u.notef(rk, "%sremote removed: chartPath now names a local chart only", paths[i])
			}
		}
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		if p.match("deploy", "helm", "releases", "*", "remote") {
			return nil, "points at a helm release's remote, which skaffold/v2beta13 replaced with remoteChart"
		}
		return nil, ""
	},
}

// v2beta16 upgrades to skaffold/v2beta17, which dropped the destination
// (dst) of a docker build secret; Skaffold warns and drops it too.
var v2beta16 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		arts, paths, err := artifacts(p)
		if err != nil {
			return err
		}
		for i, a := range arts {
			docker, err := field(a, "docker", paths[i])
			if err != nil {
				return err
			}
			secret, err := field(docker, "secret", paths[i]+"docker.")
			if err != nil {
				return err
			}
			if k, _ := remove(secret, "dst"); k != nil {
				u.warnf(k, "%sdocker.secret.dst removed: docker build secrets no longer take a destination", paths[i])
			}
		}
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		if p.match("build", "artifacts", "*", "docker", "secret", "dst") {
			return nil, "points at docker.secret.dst, which skaffold/v2beta17 removed"
		}
		return nil, ""
	},
}

// v2beta22 upgrades to skaffold/v2beta23, which replaced a docker
// artifact's single secret with a list, secrets.
var v2beta22 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		arts, paths, err := artifacts(p)
		if err != nil {
			return err
		}
		for i, a := range arts {
			docker, err := field(a, "docker", paths[i])
			if err != nil {
				return err
			}
			sk, sv, _ := lookup(docker, "secret")
			if sk == nil {
				continue
			}
			if isNull(sv) {
				remove(docker, "secret")
				u.notef(sk, "%sdocker.secret removed: it was empty", paths[i])
				continue
			}
			if sv.Kind != yaml.MappingNode {
				return wrongKind(sv, paths[i]+"docker.secret", yaml.MappingNode)
			}
			if k, _, _ := lookup(docker, "secrets"); k != nil {
				return errorf(k, paths[i]+"docker.secrets", "skaffold/v2beta22 has no docker.secrets, only docker.secret; keep one secret under docker.secret")
			}
			sk.Value = "secrets"
			docker.Content[indexOf(docker, sk)+1] = newSequence(sv, sv)
			u.notef(sk, "%sdocker.secret became the list docker.secrets", paths[i])
		}
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		switch {
		case len(p) == 5 && p.match("build", "artifacts", "*", "docker", "secret"):
			return []pointer{p.swap(5, "build", "artifacts", p[2], "docker", "secrets")}, ""
		case p.match("build", "artifacts", "*", "docker", "secret"):
			return []pointer{p.swap(5, "build", "artifacts", p[2], "docker", "secrets", "0")}, ""
		}
		return nil, ""
	},
}

// indexOf returns the index of key node k in mapping m's Content.
func indexOf(m, k *yaml.Node) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i] == k {
			return i
		}
	}
	return -1
}

// v2beta27 upgrades to skaffold/v2beta28, which moved ko.platforms to the
// artifact's platforms (which then apply to every builder). As in
// Skaffold, ko's platforms replace any the artifact already had.
var v2beta27 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		arts, paths, err := artifacts(p)
		if err != nil {
			return err
		}
		for i, a := range arts {
			ko, err := field(a, "ko", paths[i])
			if err != nil {
				return err
			}
			pk, pv := remove(ko, "platforms")
			if pk == nil {
				continue
			}
			if isNull(pv) || (pv.Kind == yaml.SequenceNode && len(pv.Content) == 0) {
				u.notef(pk, "%sko.platforms removed: it was empty", paths[i])
				continue
			}
			if ak, _ := remove(a, "platforms"); ak != nil {
				u.notef(ak, "%splatforms replaced by ko.platforms", paths[i])
			}
			kk, _, _ := lookup(a, "ko")
			insert(a, pk, pv, kk.Value)
			u.notef(pk, "%sko.platforms moved to %splatforms", paths[i], paths[i])
		}
		return nil
	},
	retarget: func(p pointer) ([]pointer, string) {
		if p.match("build", "artifacts", "*", "ko", "platforms") {
			return []pointer{p.swap(5, "build", "artifacts", p[2], "platforms")}, ""
		}
		return nil, ""
	},
}

// v2beta8 upgrades to skaffold/v2beta9, which made an artifact's
// sync.auto a boolean: the empty mapping that turned automatic sync on
// (auto: {}) becomes auto: true. It also made build.local's useBuildkit
// and useDockerCLI optional; in a profile, false (v2beta8's "not set")
// is dropped so that the profile no longer overrides the base config.
var v2beta8 = &conversion{
	convert: func(u *upgrader, p pipeline) error {
		arts, paths, err := artifacts(p)
		if err != nil {
			return err
		}
		for i, a := range arts {
			sync, err := field(a, "sync", paths[i])
			if err != nil {
				return err
			}
			if sync == nil {
				continue
			}
			k, v, _ := lookup(sync, "auto")
			if v == nil || v.Kind != yaml.MappingNode {
				continue
			}
			if len(v.Content) > 0 {
				return errorf(v, paths[i]+"sync.auto", "expected {} (automatic sync on), got %s: skaffold/v2beta8's sync.auto takes no fields", describe(v))
			}
			on := str("true", v)
			on.Tag = "!!bool"
			on.HeadComment, on.LineComment, on.FootComment = v.HeadComment, v.LineComment, v.FootComment
			*v = *on
			u.notef(k, "%ssync.auto: {} became sync.auto: true", paths[i])
		}
		if !strings.HasPrefix(p.path, "profiles[") {
			return nil
		}
		build, err := field(p.node, "build", p.path)
		if err != nil || build == nil {
			return err
		}
		local, err := field(build, "local", p.path+"build.")
		if err != nil || local == nil {
			return err
		}
		for _, key := range []string{"useBuildkit", "useDockerCLI"} {
			_, v, _ := lookup(local, key)
			if on, ok := boolValue(v); ok && !on {
				k, _ := remove(local, key)
				u.notef(k, "%sbuild.local.%s: false removed: in skaffold/v2beta8 it meant not set, so the profile does not override it", p.path, key)
			}
		}
		return nil
	},
}
