//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestDeploymentLifecycle walks an application through what skiff does to
// it on the local cluster: build a FROM scratch image with the Docker
// Engine, push it to the cluster's registry, roll it out, read its logs,
// exec into it with stdin, reach it through a port-forward, roll out a new
// version, and delete it.
func TestDeploymentLifecycle(t *testing.T) {
	c := newCluster(t)
	registry := c.localRegistry(t)
	docker := newDocker(t)
	ns := c.newNamespace(t)

	run := time.Now().UTC().Format("20060102-150405.000000000")
	run = strings.ReplaceAll(run, ".", "-")
	image := func(version string) string {
		ref := goImage(t, docker, "testdata/hello", fmt.Sprintf("%s/skiff-e2e/hello:%s-%s", registry, version, run), "-X main.version="+version)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if ok, err := registryHasManifest(ctx, registry, ref); err != nil || !ok {
			t.Fatalf("the cluster's registry %s does not serve the pushed image %s (err: %v)", registry, ref, err)
		}
		return ref
	}
	v1 := image("v1")

	const name, container, port = "hello", "hello", 8080
	selector := "app=" + name
	deployments := c.client.AppsV1().Deployments(ns)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	deployment := helloDeployment(name, container, v1, port)
	if _, err := deployments.Create(ctx, deployment, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Deployment %s/%s: %v", ns, name, err)
	}
	pod := c.waitRolledOut(t, ns, name, v1)

	t.Run("logs", func(t *testing.T) {
		waitFor(t, time.Minute, "the log line of "+pod, func(ctx context.Context) (bool, string, error) {
			log, err := c.logs(ctx, ns, pod, container)
			if err != nil {
				return false, err.Error(), nil
			}
			return strings.Contains(log, "hello v1 serving on :8080"), fmt.Sprintf("log so far: %q", log), nil
		})
	})

	t.Run("exec with stdin", func(t *testing.T) {
		payload := make([]byte, 256<<10)
		if _, err := rand.Read(payload); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, err := c.exec(ctx, ns, pod, container, []string{"/app", "cat"}, bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stdout, payload) {
			t.Fatalf("exec /app cat gave back %d bytes that differ from the %d sent (stderr: %q)", len(stdout), len(payload), stderr)
		}
	})

	t.Run("port-forward", func(t *testing.T) {
		c.expectAnswer(t, ns, pod, port, "hello from v1\n")
	})

	v2 := image("v2")
	t.Run("rollout of a new image", func(t *testing.T) {
		current, err := deployments.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		current.Spec.Template.Spec.Containers[0].Image = v2
		if _, err := deployments.Update(ctx, current, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("updating Deployment %s/%s to %s: %v", ns, name, v2, err)
		}
		pod := c.waitRolledOut(t, ns, name, v2)
		c.expectAnswer(t, ns, pod, port, "hello from v2\n")
	})

	t.Run("delete", func(t *testing.T) {
		foreground := metav1.DeletePropagationForeground
		if err := deployments.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &foreground}); err != nil {
			t.Fatalf("deleting Deployment %s/%s: %v", ns, name, err)
		}
		waitFor(t, 2*time.Minute, "the pods of "+name+" to go", func(ctx context.Context) (bool, string, error) {
			pods, err := c.podsOf(ctx, ns, selector)
			if err != nil {
				return false, err.Error(), nil
			}
			if _, err := deployments.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return false, fmt.Sprintf("the Deployment is still there (%v); %d pods", err, len(pods)), nil
			}
			return len(pods) == 0, fmt.Sprintf("%d pods left", len(pods)), nil
		})
	})
}

// helloDeployment is one replica of the hello server, ready when it answers
// HTTP on port.
func helloDeployment(name, container, image string, port int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	replicas, grace := int32(1), int64(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name:  container,
						Image: image,
						Ports: []corev1.ContainerPort{{ContainerPort: port}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(port)}},
							PeriodSeconds: 1,
						},
					}},
				},
			},
		},
	}
}

// waitRolledOut waits until Deployment name runs image in all its replicas,
// ready and available, and no pod of an older version is left. It returns
// the name of a pod of the rollout.
func (c *cluster) waitRolledOut(t testing.TB, namespace, name, image string) string {
	t.Helper()
	var pod string
	waitFor(t, 3*time.Minute, fmt.Sprintf("Deployment %s/%s to roll out %s", namespace, name, image), func(ctx context.Context) (bool, string, error) {
		d, err := c.client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		want := *d.Spec.Replicas
		s := d.Status
		if s.ObservedGeneration < d.Generation || s.UpdatedReplicas != want || s.AvailableReplicas != want || s.Replicas != want {
			return false, fmt.Sprintf("generation %d observed %d, replicas %d updated %d available %d of %d; %s",
				d.Generation, s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.AvailableReplicas, want, c.podStates(ctx, namespace, d)), nil
		}
		pods, err := c.podsOf(ctx, namespace, metav1.FormatLabelSelector(d.Spec.Selector))
		if err != nil {
			return false, err.Error(), nil
		}
		for _, p := range pods {
			if p.Spec.Containers[0].Image != image || p.DeletionTimestamp != nil {
				return false, "an old pod is still there: " + p.Name, nil
			}
		}
		if len(pods) != int(want) {
			return false, fmt.Sprintf("%d pods of %d", len(pods), want), nil
		}
		pod = pods[0].Name
		return true, "", nil
	})
	return pod
}

// podStates says in one line what the Deployment's pods are doing, so a
// rollout that does not finish says why (ImagePullBackOff, ...).
func (c *cluster) podStates(ctx context.Context, namespace string, d *appsv1.Deployment) string {
	pods, err := c.podsOf(ctx, namespace, metav1.FormatLabelSelector(d.Spec.Selector))
	if err != nil {
		return err.Error()
	}
	var states []string
	for _, p := range pods {
		state := string(p.Status.Phase)
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil {
				state = fmt.Sprintf("%s: %s", w.Reason, w.Message)
			}
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status != corev1.ConditionTrue {
				state = "unscheduled: " + cond.Message
			}
		}
		states = append(states, p.Name+" "+state)
	}
	return fmt.Sprintf("pods: %v", states)
}

// expectAnswer forwards a local port to the pod and waits until the pod
// answers GET / with want.
func (c *cluster) expectAnswer(t testing.TB, namespace, pod string, port int, want string) {
	t.Helper()
	local := c.portForward(t, namespace, pod, port)
	url := fmt.Sprintf("http://127.0.0.1:%d/", local)
	waitFor(t, time.Minute, fmt.Sprintf("%s through the port-forward to %s to answer %q", url, pod, want), func(ctx context.Context) (bool, string, error) {
		body, err := httpGet(ctx, url)
		if err != nil {
			return false, err.Error(), nil
		}
		return body == want, fmt.Sprintf("answered %q", body), nil
	})
}
