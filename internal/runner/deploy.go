package runner

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/deploy"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/output"
	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/status"
	"skiff.dev/skiff/internal/sync/deliver"
)

// Deploy deploys images to every target of the project: the configs'
// manifests rendered, applied with pruning and status-checked on the
// cluster; deploy.docker's images run as containers on the Docker daemon.
func (r *Runner) Deploy(ctx context.Context, images []artifact.Image) error {
	printTags(r.opts.ErrOut, images)
	start := time.Now()
	r.opts.Events.TaskStarted(event.TaskDeploy, "Deploying")
	r.opts.Events.Publish(deployEvent(event.InProgress, nil, 0))
	err := r.deployTargets(ctx, images)
	r.opts.Events.Publish(deployEvent(event.Succeeded, err, time.Since(start)))
	if err == nil {
		r.publishDebugged()
	}
	r.opts.Events.TaskEnded(event.TaskDeploy, err)
	if err != nil {
		return err
	}
	if r.opts.Beep {
		fmt.Fprint(r.opts.ErrOut, "\a")
	}
	return nil
}

// deployTargets deploys images to every target, stopping at the first
// that fails.
func (r *Runner) deployTargets(ctx context.Context, images []artifact.Image) error {
	for _, t := range r.targets() {
		if err := t.deploy(ctx, images); err != nil {
			return err
		}
	}
	return nil
}

// deployEvent is the DeploySubtaskEvent of a deploy (its status check
// included) in status, or Failed with err, having taken took.
func deployEvent(status string, err error, took time.Duration) event.Event {
	e := &event.DeploySubtaskEvent{ID: "deploy", TaskID: "Deploy", Status: status, ActionableErr: event.Err(err), Duration: took}
	if err != nil {
		e.Status = event.Failed
	}
	return event.Event{DeploySubtaskEvent: e}
}

// ParseLabels turns -l values (key=value, each may be a comma list) into
// labels, checking that Kubernetes accepts them.
func ParseLabels(flags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range flags {
		for kv := range strings.SplitSeq(f, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("-l %q: a label is key=value", kv)
			}
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				return nil, fmt.Errorf("-l %q: %q is not a valid label key: %s", kv, k, strings.Join(errs, "; "))
			}
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				return nil, fmt.Errorf("-l %q: %q is not a valid label value: %s", kv, v, strings.Join(errs, "; "))
			}
			out[k] = v
		}
	}
	return out, nil
}

// injectAgent delivers skiff-agent, in dev mode (agentWanted), into the
// pods that run an image with sync rules that is not a development image
// (those carry the agent: devImages), so that dev mode can sync into
// containers that have no tar: through an init container (deliver.Inject)
// running the agent image, which is delivered the first time it is
// needed (deliverAgent).
func (r *Runner) injectAgent(ctx context.Context, ms []render.Manifest, images []artifact.Image) error {
	if !r.agentWanted {
		return nil
	}
	synced := r.syncedImages()
	refs := map[string]bool{}
	for _, im := range images {
		if synced[im.Name] && !r.layered[im.Ref] {
			refs[im.Ref] = true
		}
	}
	if len(refs) == 0 {
		return nil
	}
	if !r.agentTried {
		r.agentTried = true
		r.deliverAgent(ctx, r.lastBuild)
	}
	if r.agent == "" {
		return nil
	}
	_, err := deliver.Inject(ms, r.agent, func(image string) bool { return refs[image] })
	return err
}

// ManifestFile is a file of manifests rendered earlier: its name (for
// errors) and its content, a multi-document YAML stream.
type ManifestFile struct {
	Name string
	Data []byte
}

// ApplyRendered applies manifests rendered earlier (skiff render -o):
// skiff's labels are added, so that they join the project's deployment
// set, then they are applied as Apply does.
func (r *Runner) ApplyRendered(ctx context.Context, files []ManifestFile) error {
	var ms []render.Manifest
	for _, f := range files {
		m, err := render.Parse(f.Name, f.Data)
		if err != nil {
			return err
		}
		ms = append(ms, m...)
	}
	if err := render.Transform(ms, r.opts.Project.Configs, r.renderOptions(nil)); err != nil {
		return err
	}
	return r.Apply(ctx, ms)
}

// Filter reads a stream of manifests (named name, for errors) and returns
// them as render would: the images replaced, skiff's labels and -l's added,
// -n's namespace set (skiff filter, a Helm post-renderer).
func (r *Runner) Filter(name string, data []byte, images []artifact.Image) ([]byte, error) {
	ms, err := render.Parse(name, data)
	if err != nil {
		return nil, err
	}
	if err := render.Transform(ms, r.opts.Project.Configs, r.renderOptions(images)); err != nil {
		return nil, err
	}
	return render.YAML(ms)
}

// Apply applies rendered manifests, prunes, and runs the status check.
func (r *Runner) Apply(ctx context.Context, ms []render.Manifest) error {
	return r.apply(ctx, ms, nil)
}

// apply is Apply; install, when not nil, runs after the manifests are
// applied and returns more objects for the status check (deploy.helm's
// releases).
func (r *Runner) apply(ctx context.Context, ms []render.Manifest, install func(context.Context) ([]*unstructured.Unstructured, error)) error {
	d, err := r.deployer(0, false)
	if err != nil {
		return err
	}
	fmt.Fprintln(r.opts.ErrOut, "Starting deploy...")
	start := time.Now()
	r.deployedAt = start
	r.touched = true
	applied, err := d.Apply(ctx, ms)
	if err != nil {
		return err
	}
	if install != nil {
		objs, err := install(ctx)
		applied = append(applied, objs...)
		r.applied = applied
		if err != nil {
			return err
		}
	}
	r.applied = applied
	fmt.Fprintf(r.opts.ErrOut, "Deploy complete in %s\n", output.Duration(time.Since(start)))
	if r.onApplied != nil {
		if err := r.onApplied(ctx); err != nil {
			return err
		}
	}
	check := r.opts.Project.StatusCheck()
	if r.opts.StatusCheck != nil {
		check.Enabled = *r.opts.StatusCheck
	}
	if r.opts.TolerateFailures != nil {
		check.TolerateFailures = *r.opts.TolerateFailures
	}
	if !check.Enabled && !r.hasDeployHooks() {
		return nil
	}
	api, err := r.kc.API(0)
	if err != nil {
		return err
	}
	r.opts.Events.TaskStarted(event.TaskStatusCheck, "Checking the status of the deployed resources")
	err = status.Check(ctx, api, applied, status.Options{
		Deadline:         check.Deadline,
		TolerateFailures: check.TolerateFailures,
		Out:              r.opts.ErrOut,
		Events:           r.opts.Events,
	})
	r.opts.Events.TaskEnded(event.TaskStatusCheck, err)
	return err
}

// deployer connects the Kubernetes deployer to the cluster; timeout is
// deploy.Options.Timeout.
func (r *Runner) deployer(timeout time.Duration, background bool) (*deploy.Deployer, error) {
	kc, err := r.kubeConfig()
	if err != nil {
		return nil, err
	}
	return deploy.New(kc, deploy.Options{
		Project:   r.id,
		Namespace: r.namespace(),
		Out:       r.opts.ErrOut,
		Timeout:   timeout,
		Force:     r.opts.Force,
		DryRun:    r.opts.DeleteDryRun,

		Background: background,

		WaitForDeletions:      r.opts.WaitForDeletions,
		WaitForDeletionsDelay: r.opts.WaitForDeletionsDelay,
	})
}

// namespace is where namespaced objects without one go: -n, then the
// first deploy.kubectl.defaultNamespace, then the kube context's.
func (r *Runner) namespace() string {
	if r.opts.Namespace != "" {
		return r.opts.Namespace
	}
	if ns := r.opts.Project.DefaultNamespace(); ns != "" {
		return ns
	}
	return r.kc.Namespace
}

// Delete removes everything the project deployed: the objects recorded on
// the cluster and the docker deployer's containers. It waits up to wait
// (0: deploy.DefaultTimeout) for the cluster's objects to go, and says so;
// see deploy.Deployer.Delete for what happens when they outlast it.
func (r *Runner) Delete(ctx context.Context, wait time.Duration) error {
	return r.remove(ctx, wait, false)
}

// Cleanup is Delete at the end of a dev, debug or run session (Ctrl-C):
// the cluster's objects are deleted in the background (see
// deploy.Options.Background), so it returns as soon as they are gone,
// while their pods may still be stopping. A new session ignores those.
func (r *Runner) Cleanup(ctx context.Context, wait time.Duration) error {
	return r.remove(ctx, wait, true)
}

func (r *Runner) remove(ctx context.Context, wait time.Duration, background bool) error {
	for _, t := range r.targets() {
		if err := t.delete(ctx, wait, background); err != nil {
			return err
		}
	}
	return nil
}

// printTags lists the images a deploy uses, as Skaffold does.
func printTags(w io.Writer, images []artifact.Image) {
	if len(images) == 0 {
		return
	}
	fmt.Fprintln(w, "Tags used in deployment:")
	for _, im := range images {
		fmt.Fprintf(w, " - %s -> %s\n", im.Name, im.Ref)
	}
}
