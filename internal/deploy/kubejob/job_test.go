package kubejob

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

var testContainer = Container{
	Name:    "check",
	Image:   "registry.local/app:v1@sha256:abc",
	Command: []string{"/bin/check"},
	Args:    []string{"--fast"},
	Env:     []corev1.EnvVar{{Name: "MODE", Value: "ci"}},
}

// Without a manifest, the Job is Skaffold's generic one: the container,
// restart policy Never, backoff limit 0, in the given namespace, with the
// labels.
func TestManifestDefaults(t *testing.T) {
	t.Parallel()
	got, err := Manifest(Spec{Name: "smoke", Namespace: "team", Container: testContainer,
		Labels: map[string]string{"run": "1"}, PodLabels: map[string]string{"pod": "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	want := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: "smoke", Namespace: "team", Labels: map[string]string{"run": "1"}},
		Spec: batchv1.JobSpec{
			BackoffLimit: new(int32(0)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"pod": "yes"}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name: "check", Image: "registry.local/app:v1@sha256:abc",
						Command: []string{"/bin/check"}, Args: []string{"--fast"},
						Env: []corev1.EnvVar{{Name: "MODE", Value: "ci"}},
					}},
				},
			},
		},
	}
	sameJob(t, got, want)
}

// A jobManifestPath's Job is the base: its namespace, labels, pod settings
// and the fields of the container of the same name stay, the container's
// image, command and args are the test's, its env is added to, the other
// containers go, and what the cluster wrote into a Job read back from it
// is dropped.
func TestManifestFromJobManifestPath(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "job.yaml")
	manifest := `apiVersion: batch/v1
kind: Job
metadata:
  name: ignored
  namespace: checks
  uid: 0d5c0b43-aaaa-bbbb-cccc-000000000000
  resourceVersion: "42"
  labels:
    team: qa
spec:
  backoffLimit: 6
  activeDeadlineSeconds: 600
  selector:
    matchLabels:
      batch.kubernetes.io/controller-uid: 0d5c0b43-aaaa-bbbb-cccc-000000000000
  template:
    metadata:
      labels:
        batch.kubernetes.io/controller-uid: 0d5c0b43-aaaa-bbbb-cccc-000000000000
        controller-uid: 0d5c0b43-aaaa-bbbb-cccc-000000000000
        job-name: ignored
        tier: test
    spec:
      restartPolicy: OnFailure
      serviceAccountName: checker
      containers:
      - name: sidecar
        image: proxy:1
      - name: check
        image: placeholder
        command: ["/old"]
        env:
        - name: FROM_MANIFEST
          value: "1"
        resources:
          limits:
            memory: 64Mi
status:
  failed: 1
`
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Manifest(Spec{Name: "smoke", Namespace: "team", Container: testContainer, ManifestPath: path,
		Labels: map[string]string{"run": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: "smoke", Namespace: "checks", Labels: map[string]string{"team": "qa", "run": "1"}},
		Spec: batchv1.JobSpec{
			BackoffLimit:          new(int32(0)),
			ActiveDeadlineSeconds: new(int64(600)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"tier": "test"}},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyNever,
					ServiceAccountName: "checker",
					Containers: []corev1.Container{{
						Name: "check", Image: "registry.local/app:v1@sha256:abc",
						Command: []string{"/bin/check"}, Args: []string{"--fast"},
						Env:       []corev1.EnvVar{{Name: "FROM_MANIFEST", Value: "1"}, {Name: "MODE", Value: "ci"}},
						Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}},
					}},
				},
			},
		},
	}
	sameJob(t, got, want)
}

// Overrides merge into the Job as a JSON merge patch: objects merge, a
// container they give lends the test's container its other fields; the
// name, restart policy and backoff limit stay Skaffold's.
func TestManifestOverrides(t *testing.T) {
	t.Parallel()
	overrides := `{"metadata":{"name":"other","annotations":{"a":"b"}},
"spec":{"backoffLimit":3,"ttlSecondsAfterFinished":60,"template":{"spec":{"serviceAccountName":"sa","restartPolicy":"Always",
"containers":[{"name":"check","image":"from-overrides","resources":{"requests":{"cpu":"100m"}}}]}}}}`
	got, err := Manifest(Spec{Name: "smoke", Namespace: "team", Container: testContainer, Overrides: overrides})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "smoke" || got.Annotations["a"] != "b" || *got.Spec.BackoffLimit != 0 || got.Spec.TTLSecondsAfterFinished == nil || *got.Spec.TTLSecondsAfterFinished != 60 {
		t.Errorf("Job metadata and spec after overrides: name %q, annotations %v, backoffLimit %d, ttl %v", got.Name, got.Annotations, *got.Spec.BackoffLimit, got.Spec.TTLSecondsAfterFinished)
	}
	ps := got.Spec.Template.Spec
	if ps.ServiceAccountName != "sa" || ps.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("pod spec after overrides: serviceAccountName %q, restartPolicy %q", ps.ServiceAccountName, ps.RestartPolicy)
	}
	if len(ps.Containers) != 1 || ps.Containers[0].Image != testContainer.Image || ps.Containers[0].Resources.Requests.Cpu().String() != "100m" {
		t.Errorf("containers after overrides: %+v", ps.Containers)
	}
}

// Errors name the field, the file and the fix.
func TestManifestErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notAJob := filepath.Join(dir, "deploy.yaml")
	if err := os.WriteFile(notAJob, []byte("apiVersion: apps/v1\nkind: Deployment\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("apiVersion: batch/v1\nkind: Job\nspec:\n  backofLimit: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		spec Spec
		want []string
	}{
		{"bad name", Spec{Name: "Smoke_Test"}, []string{`"Smoke_Test" cannot name a Kubernetes Job`, "rename it"}},
		{"missing manifest", Spec{Name: "a", ManifestPath: filepath.Join(dir, "none.yaml")}, []string{"reading jobManifestPath " + filepath.Join(dir, "none.yaml"), "no such file"}},
		{"not a job", Spec{Name: "a", ManifestPath: notAJob}, []string{"holds a Deployment \"apps/v1\", not a Job of apiVersion batch/v1"}},
		{"unknown field", Spec{Name: "a", ManifestPath: typo}, []string{"jobManifestPath " + typo, "backofLimit"}},
		{"overrides not JSON", Spec{Name: "a", Overrides: "{spec:"}, []string{`overrides "{spec:": not a JSON object`}},
		{"overrides unknown field", Spec{Name: "a", Overrides: `{"spec":{"paralelism":2}}`}, []string{"not a batch/v1 Job", "paralelism"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Manifest(tt.spec)
			if err == nil {
				t.Fatal("Manifest succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// sameJob fails t when got is not want, showing both.
func sameJob(t *testing.T, got, want *batchv1.Job) {
	t.Helper()
	if !equality.Semantic.DeepEqual(got, want) {
		g, _ := yaml.Marshal(got)
		w, _ := yaml.Marshal(want)
		t.Errorf("Manifest made\n%s\nwant\n%s", g, w)
	}
}
