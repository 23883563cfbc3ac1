package runner

import (
	"context"
	"io"
	"path/filepath"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/deploy/kubejob"
	"skiff.dev/skiff/internal/kube"
)

// clusterNamespace is the namespace of the Jobs of the kubernetesCluster
// execution mode: the deploy namespace (-n, the config's, the kube
// context's).
func (r *Runner) clusterNamespace() (string, error) {
	if _, err := r.kubeConfig(); err != nil {
		return "", err
	}
	return r.namespace(), nil
}

// clusterJob is the Kubernetes Job called name, in namespace ns, that
// runs ct of config c in the kubernetesCluster execution mode: an image
// that names an artifact is replaced by its reference in refs, a relative
// jobManifestPath is the config's directory's. The Job carries skiff's
// labels (the project's on the Job only, so that dev's logs and syncs
// leave its pod alone).
func (r *Runner) clusterJob(c *config.Config, name, ns string, ct schema.VerifyContainer, mode *schema.KubernetesClusterVerifier, refs map[string]string) (*batchv1.Job, error) {
	spec := kubejob.Spec{
		Name:      name,
		Namespace: ns,
		Container: kubejob.Container{Name: ct.Name, Image: ct.Image, Command: ct.Command, Args: ct.Args},
		Overrides: mode.Overrides,
		Labels: withLabels(r.opts.Labels, map[string]string{
			kube.ManagedByLabel: kube.ManagedBy,
			kube.ProjectLabel:   r.id,
			kube.RunIDLabel:     r.opts.RunID,
		}),
		PodLabels: withLabels(r.opts.Labels, map[string]string{
			kube.ManagedByLabel: kube.ManagedBy,
			kube.RunIDLabel:     r.opts.RunID,
		}),
	}
	if ref, ok := refs[ct.Image]; ok {
		spec.Container.Image = ref
	}
	for _, e := range ct.Env {
		spec.Container.Env = append(spec.Container.Env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	if p := mode.JobManifestPath; p != "" {
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.Dir, p)
		}
		spec.ManifestPath = p
	}
	return kubejob.Manifest(spec)
}

// runClusterJob runs job on the cluster to completion (see kubejob.Run).
func (r *Runner) runClusterJob(ctx context.Context, job *batchv1.Job, timeout time.Duration, out io.Writer) error {
	kc, err := r.kubeConfig()
	if err != nil {
		return err
	}
	api, err := kc.API(0)
	if err != nil {
		return err
	}
	return kubejob.Run(ctx, api, job, timeout, out)
}
