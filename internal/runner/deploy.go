package runner

import (
	"context"
	"fmt"
	"io"
	"time"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/deploy"
	dockerdeploy "skiff.dev/skiff/internal/deploy/docker"
	"skiff.dev/skiff/internal/docker"
	"skiff.dev/skiff/internal/output"
	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/status"
	"skiff.dev/skiff/internal/sync/deliver"
)

// Deploy renders the manifests with images, applies them, prunes what an
// earlier deploy of the project left behind, and waits for the rollout;
// configs with deploy.docker get their images run as containers instead.
func (r *Runner) Deploy(ctx context.Context, images []artifact.Image) error {
	printTags(r.opts.ErrOut, images)
	if r.HasManifests() {
		ms, err := r.Render(ctx, images, false)
		if err != nil {
			return err
		}
		if err := r.injectAgent(ms, images); err != nil {
			return err
		}
		if err := r.Apply(ctx, ms); err != nil {
			return err
		}
	}
	if len(r.dockerConfigs()) > 0 {
		if err := r.deployDocker(ctx, images); err != nil {
			return err
		}
	}
	return nil
}

// injectAgent delivers the skiff-agent image (Options.Agent) into the pods
// that run an image with sync rules, so that dev mode can sync into
// containers that have no tar.
func (r *Runner) injectAgent(ms []render.Manifest, images []artifact.Image) error {
	if r.agent == "" {
		return nil
	}
	synced := r.syncedImages()
	refs := map[string]bool{}
	for _, im := range images {
		if synced[im.Name] {
			refs[im.Ref] = true
		}
	}
	if len(refs) == 0 {
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

// Apply applies rendered manifests, prunes, and runs the status check.
func (r *Runner) Apply(ctx context.Context, ms []render.Manifest) error {
	d, err := r.deployer(0)
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
	r.applied = applied
	fmt.Fprintf(r.opts.ErrOut, "Deploy complete in %s\n", output.Duration(time.Since(start)))
	check := r.opts.Project.StatusCheck()
	if r.opts.StatusCheck != nil {
		check.Enabled = *r.opts.StatusCheck
	}
	if !check.Enabled {
		return nil
	}
	cs, err := r.kc.Clientset(0)
	if err != nil {
		return err
	}
	return status.Check(ctx, cs, applied, status.Options{
		Deadline:         check.Deadline,
		TolerateFailures: check.TolerateFailures,
		Out:              r.opts.ErrOut,
	})
}

// deployer connects the Kubernetes deployer to the cluster; timeout is
// deploy.Options.Timeout.
func (r *Runner) deployer(timeout time.Duration) (*deploy.Deployer, error) {
	kc, err := r.kubeConfig()
	if err != nil {
		return nil, err
	}
	return deploy.New(kc, deploy.Options{
		Project:   r.id,
		Namespace: r.namespace(),
		Out:       r.opts.ErrOut,
		Timeout:   timeout,
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

// deployDocker runs the docker deployer's images as containers.
func (r *Runner) deployDocker(ctx context.Context, images []artifact.Image) error {
	d, closeClient, err := r.dockerDeployer()
	if err != nil {
		return err
	}
	defer closeClient()
	r.touched = true
	for _, c := range r.dockerConfigs() {
		if err := d.Deploy(ctx, c.Deploy.DockerDeploy, images); err != nil {
			return err
		}
	}
	return nil
}

// dockerDeployer connects the docker deployer to the daemon; the caller
// closes the client.
func (r *Runner) dockerDeployer() (*dockerdeploy.Deployer, func(), error) {
	cli, err := docker.NewClient()
	if err != nil {
		return nil, nil, err
	}
	var forwards []schema.PortForwardResource
	for _, c := range r.dockerConfigs() {
		for _, pf := range c.PortForward {
			if pf != nil && pf.Type == "container" {
				forwards = append(forwards, *pf)
			}
		}
	}
	d := dockerdeploy.New(cli, dockerdeploy.Options{
		Project:      r.id,
		RunID:        r.opts.RunID,
		PortForwards: forwards,
		Out:          r.opts.ErrOut,
	})
	return d, func() { cli.Close() }, nil
}

// Delete removes everything the project deployed: the objects recorded on
// the cluster and the docker deployer's containers. It waits up to wait
// (0: deploy.DefaultTimeout) for the cluster's objects to go, and says so;
// see deploy.Deployer.Delete for what happens when they outlast it.
func (r *Runner) Delete(ctx context.Context, wait time.Duration) error {
	if r.HasManifests() {
		d, err := r.deployer(wait)
		if err != nil {
			return err
		}
		if err := d.Delete(ctx); err != nil {
			return err
		}
	}
	if len(r.dockerConfigs()) > 0 {
		d, closeClient, err := r.dockerDeployer()
		if err != nil {
			return err
		}
		defer closeClient()
		return d.Delete(ctx)
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
