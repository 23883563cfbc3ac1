//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pushBusyboxImage writes dir's Dockerfile and busybox for a FROM scratch
// image holding /bin/busybox, builds the project's artifacts and pushes
// them to the cluster's registry; it returns the build output's file.
func pushBusyboxImage(t *testing.T, c *cluster, dir string) string {
	t.Helper()
	busybox, err := lookBusyboxE2E()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch\nCOPY busybox /bin/busybox\n"})
	if err := os.WriteFile(filepath.Join(dir, "busybox"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	builds := filepath.Join(t.TempDir(), "builds.json")
	if _, stderr, err := skiff(t, dir, "build", "--push", "--default-repo", c.localRegistry(t), "--skip-tests", "--cache-artifacts=false", "--file-output", builds); err != nil {
		t.Fatalf("skiff build: %v\n%s", err, stderr)
	}
	return builds
}

// noJobsLeft fails t when a Job is left in ns, and waits until the Jobs'
// pods are gone too.
func noJobsLeft(t *testing.T, c *cluster, ns string) {
	t.Helper()
	jobs, err := c.client.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs.Items {
		t.Errorf("Job %s/%s is left after skiff", ns, j.Name)
	}
	waitFor(t, time.Minute, "the Jobs' pods in "+ns+" to go", func(ctx context.Context) (bool, string, error) {
		pods, err := c.podsOf(ctx, ns, "job-name")
		if err != nil {
			return false, "", err
		}
		var left []string
		for _, p := range pods {
			left = append(left, p.Name+" "+string(p.Status.Phase))
		}
		return len(left) == 0, strings.Join(left, ", "), nil
	})
}

// TestVerifyAsKubernetesJobs runs verify tests with
// executionMode.kubernetesCluster: each runs as a Job in the namespace of
// -n with the built image (pushed to the cluster's registry); their logs
// are shown under their names; the one that exits 3 fails the command
// with its name and code, from a jobManifestPath Job whose pod gets a
// label from the overrides; the one that outlives its timeout fails too;
// no Job or pod is left afterwards.
func TestVerifyAsKubernetesJobs(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: e2e-job-verifier
verify:
- name: passes
  executionMode:
    kubernetesCluster: {}
  container:
    name: passes
    image: e2e-job-verifier
    command: ["/bin/busybox", "sh", "-c"]
    args: ["echo verified $GREETING"]
    env:
    - name: GREETING
      value: hello
- name: fails
  executionMode:
    kubernetesCluster:
      jobManifestPath: jobs/job.yaml
      overrides: '{"spec":{"template":{"metadata":{"labels":{"e2e-override":"merged"}}}}}'
  container:
    name: fails
    image: e2e-job-verifier
    command: ["/bin/busybox", "sh", "-c", "echo failing $FROM_MANIFEST $FROM_OVERRIDES; exit 3"]
- name: slow
  timeout: 2
  executionMode:
    kubernetesCluster: {}
  container:
    name: slow
    image: e2e-job-verifier
    command: ["/bin/busybox", "sleep", "300"]
`,
		"jobs/job.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: replaced
spec:
  template:
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: fails
        image: replaced
        env:
        - name: FROM_MANIFEST
          value: manifest
        - name: FROM_OVERRIDES
          valueFrom:
            fieldRef:
              fieldPath: metadata.labels['e2e-override']
`,
	})
	builds := pushBusyboxImage(t, c, dir)
	_, stderr, err := skiff(t, dir, "verify", "-a", builds, "-n", ns)
	for _, want := range []string{
		fmt.Sprintf("verify[1] (fails): fails exited with code 3 in Job %s/fails; its output is above", ns),
		"verify[2] (slow): slow still ran after its timeout of 2s; its Job was deleted",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("skiff verify: %v, want %q\n%s", err, want, stderr)
		}
	}
	if err != nil && strings.Contains(err.Error(), "passes") {
		t.Errorf("skiff verify: %v: the passing test is reported", err)
	}
	for _, want := range []string{
		"Verifying passes (" + readBuilds(t, builds)["e2e-job-verifier"] + ") as Job " + ns + "/passes\n",
		"[verify passes] verified hello\n", "Verify test passes passed\n",
		"[verify fails] failing manifest merged\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("skiff verify's output lacks %q:\n%s", want, stderr)
		}
	}
	noJobsLeft(t, c, ns)
}

// TestExecAsKubernetesJobs runs custom actions with
// executionMode.kubernetesCluster: an action's containers run at once,
// each as a Job named after it, with their logs under their names; in a
// failing action the container that exits 4 is reported and stops the
// other (failFast); Ctrl-C during an action deletes its Job; no Job or
// pod is left.
func TestExecAsKubernetesJobs(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: e2e-job-actor
customActions:
- name: ok
  executionMode:
    kubernetesCluster: {}
  containers:
  - name: one
    image: e2e-job-actor
    command: ["/bin/busybox", "sh", "-c", "echo one $WHO"]
    env:
    - name: WHO
      value: ran
  - name: two
    image: e2e-job-actor
    command: ["/bin/busybox", "echo", "two ran"]
- name: broken
  executionMode:
    kubernetesCluster:
      overrides: '{"spec":{"template":{"spec":{"terminationGracePeriodSeconds":1}}}}'
  containers:
  - name: fails
    image: e2e-job-actor
    command: ["/bin/busybox", "sh", "-c", "exit 4"]
  - name: waits
    image: e2e-job-actor
    command: ["/bin/busybox", "sleep", "300"]
- name: long
  executionMode:
    kubernetesCluster: {}
  containers:
  - name: long
    image: e2e-job-actor
    command: ["/bin/busybox", "sleep", "300"]
`,
	})
	builds := pushBusyboxImage(t, c, dir)
	_, stderr, err := skiff(t, dir, "exec", "ok", "-a", builds, "-n", ns)
	if err != nil {
		t.Fatalf("skiff exec ok: %v\n%s", err, stderr)
	}
	for _, want := range []string{"[one] one ran\n", "[two] two ran\n"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("skiff exec ok's output lacks %q:\n%s", want, stderr)
		}
	}
	_, stderr, err = skiff(t, dir, "exec", "broken", "-a", builds, "-n", ns)
	if err == nil || err.Error() != fmt.Sprintf("custom action broken: container fails: fails exited with code 4 in Job %s/fails; its output is above", ns) {
		t.Errorf("skiff exec broken: %v, want only the failing container's exit code\n%s", err, stderr)
	}
	noJobsLeft(t, c, ns)

	r := skiffBackground(t, dir, "exec", "long", "-a", builds, "-n", ns)
	waitFor(t, 2*time.Minute, "the Job's container to run", func(ctx context.Context) (bool, string, error) {
		pods, err := c.podsOf(ctx, ns, "job-name=long")
		if err != nil || len(pods) == 0 {
			return false, "no pod yet", err
		}
		for _, st := range pods[0].Status.ContainerStatuses {
			if st.State.Running != nil {
				return true, "", nil
			}
		}
		return false, string(pods[0].Status.Phase), nil
	})
	if err := r.stop(t); err == nil {
		t.Errorf("skiff exec long ended without an error after Ctrl-C\n%s", r.errOut)
	}
	noJobsLeft(t, c, ns)
}
