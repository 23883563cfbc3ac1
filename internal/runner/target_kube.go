package runner

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/hooks"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/sync"
)

// kubeTarget deploys the project's Kubernetes manifests to the cluster.
type kubeTarget struct{ r *Runner }

// deploy renders the manifests with images, delivers skiff-agent into the
// pods that need it, applies, prunes, installs or upgrades deploy.helm's
// releases and runs the status check.
func (t kubeTarget) deploy(ctx context.Context, images []artifact.Image) error {
	ms, err := t.r.render(ctx, images, false, true)
	if err != nil {
		return err
	}
	if err := t.r.injectAgent(ctx, ms, images); err != nil {
		return err
	}
	install, err := t.r.helmInstall(images)
	if err != nil {
		return err
	}
	if err := t.r.runDeployHooks(ctx, hooks.PreDeploy); err != nil {
		return err
	}
	if err := t.r.apply(ctx, ms, install); err != nil {
		return err
	}
	return t.r.runDeployHooks(ctx, hooks.PostDeploy)
}

// delete uninstalls deploy.helm's releases and deletes the objects
// recorded on the cluster; background deletes without waiting for them
// to go.
func (t kubeTarget) delete(ctx context.Context, wait time.Duration, background bool) error {
	if err := t.r.uninstallReleases(ctx, wait, background); err != nil {
		return err
	}
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

// prepareSync asks for skiff-agent in dev's pods: development images
// carry it (devImages), and the others get it through an init container
// (injectAgent), whose image is delivered when a deploy first needs it.
func (t kubeTarget) prepareSync(context.Context, BuildOptions) {
	t.r.agentWanted = true
}

// syncPath watches the project's pods and execs into their containers:
// one skiff-agent session per container where the pod has the agent, else
// tar, learned per image. stop ends the sessions.
func (t kubeTarget) syncPath(ctx context.Context, changed func()) (syncPath, error) {
	r := t.r
	kc, err := r.kubeConfig()
	if err != nil {
		return syncPath{}, err
	}
	api, err := kc.API(0)
	if err != nil {
		return syncPath{}, err
	}
	pods, err := watchPods(ctx, api, r.namespaces(), labels.SelectorFromSet(labels.Set{kube.ProjectLabel: r.id}), changed)
	if err != nil {
		return syncPath{}, err
	}
	exec, err := sync.NewKubeExecutor(kc)
	if err != nil {
		return syncPath{}, err
	}
	agent := &sync.AgentTransport{Exec: exec}
	tr := newFallbackTransport(&sync.TarTransport{Exec: exec}, agent)
	tr.learned = r.syncsThroughTar
	tr.open = agent.Open
	return syncPath{source: pods, transport: tr.For, exec: exec, warm: tr.Warm, stop: agent.Close}, nil
}

func (kubeTarget) unit() string { return "pod" }
