// Package kubejob runs a container to completion as a Kubernetes Job, as
// Skaffold's kubernetesCluster execution mode does for verify tests and
// custom actions: Manifest makes the Job (Skaffold's generic Job, or the
// one of a jobManifestPath, with overrides merged in), Run creates it,
// streams its container's log, waits until the container ends and deletes
// the Job.
package kubejob

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/internal/fsutil"
)

// maxManifest bounds a jobManifestPath file.
const maxManifest = 1 << 20

// Container is the container a Job runs.
type Container struct {
	// Name is the container's name, also the name it is found by in a
	// jobManifestPath's Job.
	Name string
	// Image is the reference the cluster pulls.
	Image string
	// Command replaces the image's entrypoint and Args its cmd, when set.
	Command, Args []string
	// Env are added to the container's environment.
	Env []corev1.EnvVar
}

// Spec says what Job Manifest makes.
type Spec struct {
	// Name is the Job's name: a verify test's name, a custom action's
	// container's name.
	Name string
	// Namespace is the Job's namespace unless its manifest sets one.
	Namespace string
	// Container is the one container of the Job's pod.
	Container Container
	// ManifestPath is a file holding a batch/v1 Job to start from
	// (jobManifestPath); "" starts from an empty Job.
	ManifestPath string
	// Overrides is JSON merged into the Job (a JSON merge patch, as
	// kubectl run --overrides), before Container is put in.
	Overrides string
	// Labels go on the Job, PodLabels on its pod template.
	Labels, PodLabels map[string]string
}

// Manifest makes the Job of s, as Skaffold does: the Job of
// s.ManifestPath or an empty one, s.Overrides merged in, then s.Name,
// the namespace when none is set, the labels, a restart policy of Never
// and a backoff limit of 0 (the container runs once). The pod keeps one
// container: s.Container, with the other fields (resources, volume mounts)
// of the container of the same name in the manifest or the overrides, if
// any.
func Manifest(s Spec) (*batchv1.Job, error) {
	if errs := validation.IsDNS1123Label(s.Name); len(errs) > 0 {
		return nil, fmt.Errorf("%q cannot name a Kubernetes Job (%s); rename it", s.Name, strings.Join(errs, "; "))
	}
	job := &batchv1.Job{}
	if s.ManifestPath != "" {
		var err error
		if job, err = load(s.ManifestPath); err != nil {
			return nil, err
		}
	}
	if s.Overrides != "" {
		var err error
		if job, err = merge(job, s.Overrides); err != nil {
			return nil, err
		}
	}
	job.TypeMeta = metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}
	job.Name = s.Name
	job.GenerateName = ""
	if job.Namespace == "" {
		job.Namespace = s.Namespace
	}
	job.Labels = withLabels(job.Labels, s.Labels)
	t := &job.Spec.Template
	t.Labels = withLabels(t.Labels, s.PodLabels)
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	job.Spec.BackoffLimit = new(int32(0))
	var c corev1.Container
	for _, mc := range t.Spec.Containers {
		if mc.Name == s.Container.Name {
			c = mc
			break
		}
	}
	c.Name = s.Container.Name
	c.Image = s.Container.Image
	c.Command = s.Container.Command
	c.Args = s.Container.Args
	c.Env = append(c.Env, s.Container.Env...)
	t.Spec.Containers = []corev1.Container{c}
	return job, nil
}

// load reads the batch/v1 Job of a jobManifestPath. What a Job read back
// from a cluster carries and a new one must not (its uid, resource
// version, status, the selector and labels its controller generated) is
// dropped.
func load(path string) (*batchv1.Job, error) {
	data, err := fsutil.ReadRegular(path, maxManifest)
	if err != nil {
		return nil, fmt.Errorf("reading jobManifestPath %s: %w", path, fsutil.PathErr(err))
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("jobManifestPath %s: %w", path, err)
	}
	if tm.APIVersion != "batch/v1" || tm.Kind != "Job" {
		return nil, fmt.Errorf("jobManifestPath %s holds %s %q, not a Job of apiVersion batch/v1; point it at a Job manifest", path, orNone(tm.Kind), tm.APIVersion)
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(data, &job); err != nil {
		return nil, fmt.Errorf("jobManifestPath %s: %w", path, err)
	}
	job.UID = ""
	job.ResourceVersion = ""
	job.CreationTimestamp = metav1.Time{}
	job.ManagedFields = nil
	job.Status = batchv1.JobStatus{}
	if job.Spec.ManualSelector == nil || !*job.Spec.ManualSelector {
		job.Spec.Selector = nil
		for _, l := range []string{"controller-uid", "job-name", batchv1.ControllerUidLabel, batchv1.JobNameLabel} {
			delete(job.Spec.Template.Labels, l)
		}
	}
	return &job, nil
}

// merge merges overrides, a JSON object, into job as a JSON merge patch
// (RFC 7386): objects merge, anything else (lists included) replaces.
func merge(job *batchv1.Job, overrides string) (*batchv1.Job, error) {
	doc, err := json.Marshal(job)
	if err != nil {
		return nil, err
	}
	patched, err := jsonpatch.MergePatch(doc, []byte(overrides))
	if err != nil {
		return nil, fmt.Errorf("overrides %s: not a JSON object to merge into the Job: %w", quote(overrides), err)
	}
	var out batchv1.Job
	dec := json.NewDecoder(bytes.NewReader(patched))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("overrides %s: the Job they make is not a batch/v1 Job: %w", quote(overrides), err)
	}
	return &out, nil
}

// withLabels returns labels with add added.
func withLabels(labels, add map[string]string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, add)
	return out
}

func orNone(s string) string {
	if s == "" {
		return "no kind"
	}
	return "a " + s
}

// quote is what an error quotes of overrides.
func quote(s string) string { return fmt.Sprintf("%q", fsutil.Excerpt(s)) }
