package render

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"skiff.dev/skiff/internal/config"
)

// anyPath, as an image or labels path of a resource filter, means every
// image field, or every metadata block, of the kind.
const anyPath = ".*"

// filter says where in objects of one kind images are replaced and pod
// labels added: paths are dot-separated field names from the object's
// root, list indices left out (".spec.image"), or anyPath.
type filter struct {
	image  []string
	labels []string
}

// defaultAllow are the kinds whose images Skaffold replaces out of the box
// (its TransformAllowlist), with the same paths.
var defaultAllow = func() map[schema.GroupKind]filter {
	all := filter{image: []string{anyPath}, labels: []string{anyPath}}
	confluent := filter{image: []string{".spec.image.application", ".spec.image.init"}, labels: []string{anyPath}}
	m := map[schema.GroupKind]filter{}
	for _, gk := range []string{
		"Pod", "Service",
		"DaemonSet.apps", "Deployment.apps", "ReplicaSet.apps", "StatefulSet.apps",
		"CronJob.batch", "Job.batch",
		"DaemonSet.extensions", "Deployment.extensions", "ReplicaSet.extensions",
		"Service.serving.knative.dev",
		"Fleet.agones.dev", "GameServer.agones.dev",
		"Rollout.argoproj.io", "Workflow.argoproj.io", "CronWorkflow.argoproj.io",
		"WorkflowTemplate.argoproj.io", "ClusterWorkflowTemplate.argoproj.io",
		"Job.run.googleapis.com", "WorkerPool.run.googleapis.com",
	} {
		m[schema.ParseGroupKind(gk)] = all
	}
	for _, k := range []string{"Connect", "ControlCenter", "Kafka", "KsqlDB", "SchemaRegistry", "Zookeeper"} {
		m[schema.GroupKind{Group: "platform.confluent.io", Kind: k}] = confluent
	}
	m[schema.ParseGroupKind("KafkaConnect.kafka.strimzi.io")] = filter{image: []string{".spec.image"}, labels: []string{anyPath}}
	m[schema.ParseGroupKind("Kafka.kafka.strimzi.io")] = filter{
		image: []string{
			".spec.kafka.image", ".spec.zookeeper.image", ".spec.entityOperator.topicOperator.image",
			".spec.entityOperator.userOperator.image", ".spec.kafkaExporter.image",
		},
		labels: []string{anyPath},
	}
	return m
}()

// defaultDeny keeps labels off StatefulSet volume claim templates, whose
// labels end up on the claims and cannot change afterwards, as Skaffold
// does. Skaffold also keeps its labels off Job pod templates, because its
// run-id label changes every run and a Job's template is immutable; skiff's
// pod labels are stable, so Job pods get them.
var defaultDeny = map[schema.GroupKind]filter{
	schema.ParseGroupKind("StatefulSet.apps"): {labels: []string{".spec.volumeClaimTemplates.metadata.labels"}},
}

// configConnector matches the groups of Google Cloud Config Connector
// kinds, whose image fields Skaffold always replaces.
var configConnector = regexp.MustCompile(`([[:alpha:]]+\.)+cnrm\.cloud\.google\.com`)

// selector decides which parts of which objects are rewritten.
type selector struct {
	allow map[schema.GroupKind]filter
	deny  map[schema.GroupKind]filter
}

// newSelector combines the defaults with the resourceSelector of every
// config, as Skaffold does: all configs' allow entries, then all their
// deny entries, each replacing what was said about its kind before.
func newSelector(configs []*config.Config) (*selector, error) {
	s := &selector{allow: map[schema.GroupKind]filter{}, deny: map[schema.GroupKind]filter{}}
	for gk, f := range defaultAllow {
		s.allow[gk] = f
	}
	for gk, f := range defaultDeny {
		s.deny[gk] = f
	}
	for _, deny := range []bool{false, true} {
		for _, c := range configs {
			list, name := c.ResourceSelector.Allow, "allow"
			if deny {
				list, name = c.ResourceSelector.Deny, "deny"
			}
			for i, rf := range list {
				if rf.GroupKind == "" || strings.HasPrefix(rf.GroupKind, ".") {
					return nil, fmt.Errorf("%s: resourceSelector.%s[%d] has groupKind %q; write the kind and its group, as in Deployment.apps or Pod", c.File, name, i, rf.GroupKind)
				}
				gk := schema.ParseGroupKind(rf.GroupKind)
				f := filter{image: cleanPaths(rf.Image), labels: cleanPaths(rf.Labels)}
				if deny {
					s.deny[gk] = f
					delete(s.allow, gk)
				} else {
					s.allow[gk] = f
					delete(s.deny, gk)
				}
			}
		}
	}
	return s, nil
}

// cleanPaths drops the ".*" list wildcards of paths such as
// .spec.containers.*.image: list indices are not part of a path.
func cleanPaths(paths []string) []string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if p != anyPath {
			p = strings.ReplaceAll(p, anyPath, "")
		}
		out = append(out, p)
	}
	return out
}

// transformable reports whether objects of kind gk have their images
// replaced and pod labels added: it is allowed and not denied outright.
func (s *selector) transformable(gk schema.GroupKind) bool {
	if _, ok := s.allow[gk]; !ok {
		return false
	}
	d := s.deny[gk]
	return !slices.Contains(d.image, anyPath) && !slices.Contains(d.labels, anyPath)
}

// imageField reports whether the value of key, at path, in an object of
// kind gk is an image reference to replace.
func (s *selector) imageField(gk schema.GroupKind, path, key string) bool {
	if d, ok := s.deny[gk]; ok && (slices.Contains(d.image, anyPath) || slices.Contains(d.image, path)) {
		return false
	}
	if a, ok := s.allow[gk]; ok {
		return (key == "image" && slices.Contains(a.image, anyPath)) || slices.Contains(a.image, path)
	}
	return key == "image" && configConnector.MatchString(gk.Group)
}

// labelsField returns the field of the mapping at path (in an object of
// kind gk) that pod labels go into, if they go there.
func (s *selector) labelsField(gk schema.GroupKind, path, key string) (string, bool) {
	if d, ok := s.deny[gk]; ok {
		for _, p := range d.labels {
			if parent, _, ok := cutLast(p); ok && parent == path {
				return "", false
			}
		}
	}
	for _, p := range s.allow[gk].labels {
		if p == anyPath {
			if key == "metadata" {
				return "labels", true
			}
			continue
		}
		if parent, field, ok := cutLast(p); ok && parent == path {
			return field, true
		}
	}
	return "", false
}

// cutLast splits a path at its last dot.
func cutLast(p string) (parent, field string, ok bool) {
	i := strings.LastIndex(p, ".")
	if i < 0 {
		return "", "", false
	}
	return p[:i], p[i+1:], true
}
