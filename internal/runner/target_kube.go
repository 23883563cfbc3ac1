package runner

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/sync"
)

// kubeTarget deploys the project's Kubernetes manifests to the cluster.
type kubeTarget struct{ r *Runner }

// deploy renders the manifests with images, delivers skiff-agent into the
// pods that need it, applies, prunes and runs the status check.
func (t kubeTarget) deploy(ctx context.Context, images []artifact.Image) error {
	ms, err := t.r.Render(ctx, images, false)
	if err != nil {
		return err
	}
	if err := t.r.injectAgent(ms, images); err != nil {
		return err
	}
	return t.r.Apply(ctx, ms)
}

// delete deletes the objects recorded on the cluster.
func (t kubeTarget) delete(ctx context.Context, wait time.Duration, background bool) error {
	d, err := t.r.deployer(wait, background)
	if err != nil {
		return err
	}
	return d.Delete(ctx)
}

// observe tails the pods' logs and forwards ports once something is
// applied.
func (t kubeTarget) observe(ctx context.Context) (func(), error) {
	if len(t.r.applied) == 0 {
		return func() {}, nil
	}
	return t.r.observeCluster(ctx)
}

// prepareSync puts the skiff-agent image where the cluster pulls from.
func (t kubeTarget) prepareSync(ctx context.Context, opts BuildOptions) {
	t.r.deliverAgent(ctx, opts)
}

// syncPath watches the project's pods and execs into their containers:
// tar where the image has it, else skiff-agent, learned per image.
func (t kubeTarget) syncPath(ctx context.Context, changed func()) (syncPath, error) {
	r := t.r
	kc, err := r.kubeConfig()
	if err != nil {
		return syncPath{}, err
	}
	cs, err := kc.Clientset(0)
	if err != nil {
		return syncPath{}, err
	}
	pods, err := watchPods(ctx, cs, r.namespaces(), labels.SelectorFromSet(labels.Set{kube.ProjectLabel: r.id}), changed)
	if err != nil {
		return syncPath{}, err
	}
	exec, err := sync.NewKubeExecutor(kc.REST)
	if err != nil {
		return syncPath{}, err
	}
	tr := newFallbackTransport(&sync.TarTransport{Exec: exec}, &sync.AgentTransport{Exec: exec})
	tr.learned = r.syncsThroughTar
	return syncPath{source: pods, transport: tr.For}, nil
}

func (kubeTarget) unit() string { return "pod" }
