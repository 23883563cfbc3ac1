package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/hooks"
	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/sync"
)

// hookRunner is the session's runner of lifecycle hooks (see package
// hooks), made on first use.
func (r *Runner) hookRunner() *hooks.Runner {
	r.hooksOnce.Do(func() {
		workDir := ""
		if cs := r.opts.Project.Configs; len(cs) > 0 {
			workDir = cs[0].Dir
		}
		r.hooks = &hooks.Runner{Environ: r.opts.Environ, DefaultRepo: r.opts.DefaultRepo, WorkDir: workDir, Out: r.opts.ErrOut}
	})
	return r.hooks
}

// buildPhaseHooks runs every config's build.hooks of phase (before or
// after the whole build).
func (r *Runner) buildPhaseHooks(ctx context.Context, phase hooks.Phase) error {
	for _, c := range r.opts.Project.Configs {
		hs := c.Build.Hooks.PreHooks
		if phase == hooks.PostBuild {
			hs = c.Build.Hooks.PostHooks
		}
		if err := r.hookRunner().Build(ctx, phase, hs, hooks.BuildEnv{}, ""); err != nil {
			return fmt.Errorf("%s: build.hooks: %w", c.File, err)
		}
	}
	return nil
}

// artifactHooks runs an artifact's build hooks (build.Options.Hooks).
func (r *Runner) artifactHooks(push bool) func(ctx context.Context, a *schema.Artifact, repo, tag string, after bool) error {
	return func(ctx context.Context, a *schema.Artifact, repo, tag string, after bool) error {
		phase, hs := hooks.PreBuild, a.LifecycleHooks.PreHooks
		if after {
			phase, hs = hooks.PostBuild, a.LifecycleHooks.PostHooks
		}
		if len(hs) == 0 {
			return nil
		}
		bc, err := filepath.Abs(a.Workspace)
		if err != nil {
			return err
		}
		env := hooks.BuildEnv{Image: repo + ":" + tag, PushImage: push, ImageRepo: repo, ImageTag: tag, BuildContext: bc}
		return r.hookRunner().Build(ctx, phase, hs, env, a.ImageName)
	}
}

// renderHooks runs every config's pre-render hooks (manifests == nil) or
// post-render hooks, which see the rendered manifests and may replace
// them; it returns the manifests.
func (r *Runner) renderHooks(ctx context.Context, ms []render.Manifest, after, offline bool) ([]render.Manifest, error) {
	env := hooks.RenderEnv{}
	if r.opts.Namespace != "" {
		env.Namespaces = []string{r.opts.Namespace}
	}
	if !offline {
		if kc, err := r.kubeConfig(); err == nil {
			env = hooks.RenderEnv{KubeContext: kc.Context, Namespaces: []string{r.namespace()}}
		}
	}
	for _, c := range r.opts.Project.Configs {
		hs := c.Render.LifecycleHooks
		if !after {
			if err := r.hookRunner().PreRender(ctx, hs.PreHooks, env); err != nil {
				return nil, fmt.Errorf("%s: manifests.hooks: %w", c.File, err)
			}
			continue
		}
		if len(hs.PostHooks) == 0 {
			continue
		}
		data, err := render.YAML(ms)
		if err != nil {
			return nil, err
		}
		changed, err := r.hookRunner().PostRender(ctx, hs.PostHooks, env, data)
		if err != nil {
			return nil, fmt.Errorf("%s: manifests.hooks: %w", c.File, err)
		}
		if string(changed) == string(data) {
			continue
		}
		if ms, err = render.Parse("the output of "+c.File+"'s post-render hooks", changed); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// hasDeployHooks reports whether a config has deploy hooks, which make
// the status check run: an after hook must find the new pods, not those
// of the last deploy, as in Skaffold.
func (r *Runner) hasDeployHooks() bool {
	for _, c := range r.opts.Project.Configs {
		if len(deployHooks(c.Deploy.DeployType, hooks.PreDeploy))+len(deployHooks(c.Deploy.DeployType, hooks.PostDeploy)) > 0 {
			return true
		}
	}
	return false
}

// deployHooks are the kubectl then helm deployers' hooks of phase.
func deployHooks(d schema.DeployType, phase hooks.Phase) []schema.DeployHookItem {
	var out []schema.DeployHookItem
	for _, h := range []*schema.DeployHooks{kubectlHooks(d.KubectlDeploy), helmHooks(d.HelmDeploy)} {
		if h == nil {
			continue
		}
		if phase == hooks.PreDeploy {
			out = append(out, h.PreHooks...)
		} else {
			out = append(out, h.PostHooks...)
		}
	}
	return out
}

func kubectlHooks(k *schema.KubectlDeploy) *schema.DeployHooks {
	if k == nil {
		return nil
	}
	return &k.LifecycleHooks
}

func helmHooks(h *schema.HelmDeploy) *schema.DeployHooks {
	if h == nil {
		return nil
	}
	return &h.LifecycleHooks
}

// runDeployHooks runs every config's deploy hooks of phase, container
// hooks in the pods of the namespaces deployed to.
func (r *Runner) runDeployHooks(ctx context.Context, phase hooks.Phase) error {
	kc, err := r.kubeConfig()
	if err != nil {
		return err
	}
	env := hooks.DeployEnv{RunID: r.opts.RunID, KubeContext: kc.Context, Namespaces: r.namespaces()}
	pods := &kubeHookContainers{r: r, namespaces: env.Namespaces}
	for _, c := range r.opts.Project.Configs {
		if err := r.hookRunner().Deploy(ctx, phase, deployHooks(c.Deploy.DeployType, phase), env, pods); err != nil {
			return fmt.Errorf("%s: deploy hooks: %w", c.File, err)
		}
	}
	return nil
}

// kubeHookContainers are the running containers of every pod in
// namespaces, as Skaffold's deploy container hooks see them.
type kubeHookContainers struct {
	r          *Runner
	namespaces []string
	exec       sync.Executor
	targets    map[string]sync.Target // by Key
}

// Running implements hooks.Containers.
func (k *kubeHookContainers) Running(ctx context.Context) ([]hooks.Container, error) {
	kc, err := k.r.kubeConfig()
	if err != nil {
		return nil, err
	}
	api, err := kc.API(0)
	if err != nil {
		return nil, err
	}
	k.targets = map[string]sync.Target{}
	var out []hooks.Container
	for _, ns := range k.namespaces {
		pods, err := api.Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing the pods of namespace %s: %w", ns, err)
		}
		for _, pod := range pods.Items {
			if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
				continue
			}
			for _, c := range pod.Spec.Containers {
				for _, st := range pod.Status.ContainerStatuses {
					if st.Name != c.Name || st.State.Running == nil {
						continue
					}
					key := string(pod.UID) + "/" + c.Name
					k.targets[key] = sync.Target{Namespace: pod.Namespace, Pod: pod.Name, Container: c.Name}
					out = append(out, hooks.Container{Pod: pod.Name, Name: c.Name, Image: c.Image, Key: key})
				}
			}
		}
	}
	return out, nil
}

// Exec implements hooks.Containers.
func (k *kubeHookContainers) Exec(ctx context.Context, c hooks.Container, cmd []string, out io.Writer) error {
	if k.exec == nil {
		kc, err := k.r.kubeConfig()
		if err != nil {
			return err
		}
		if k.exec, err = sync.NewKubeExecutor(kc); err != nil {
			return err
		}
	}
	return execError(k.exec.Exec(ctx, k.targets[c.Key], cmd, nil, out, out))
}

// execError says what a failed exec means for a hook.
func execError(err error) error {
	if errors.Is(err, sync.ErrNotFound) {
		return fmt.Errorf("%w: the hook's program is not in the container's image", err)
	}
	return err
}

// syncHooks runs the sync hooks of phase of the artifact name, whose
// containers run im, for ops, container hooks through the dev session's
// sync paths.
func (d *dev) syncHooks(ctx context.Context, phase hooks.Phase, name string, im artifact.Image, ops []sync.Op) error {
	var a *schema.Artifact
	for _, x := range d.r.opts.Project.Artifacts() {
		if x.ImageName == name {
			a = x
		}
	}
	if a == nil || a.Sync == nil {
		return nil
	}
	hs := a.Sync.LifecycleHooks.PreHooks
	if phase == hooks.PostSync {
		hs = a.Sync.LifecycleHooks.PostHooks
	}
	if len(hs) == 0 {
		return nil
	}
	bc, err := filepath.Abs(a.Workspace)
	if err != nil {
		return err
	}
	env := hooks.SyncEnv{Image: im.Ref, BuildContext: bc, Namespaces: d.r.namespaces()}
	if d.r.kc != nil {
		env.KubeContext = d.r.kc.Context
	}
	for _, op := range ops {
		if op.Kind == sync.Delete {
			env.FilesDeleted = appendNew(env.FilesDeleted, op.Local)
		} else {
			env.FilesAddedOrModified = appendNew(env.FilesAddedOrModified, op.Local)
		}
	}
	return d.r.hookRunner().Sync(ctx, phase, hs, env, &syncHookContainers{paths: d.paths, image: im}, name)
}

// appendNew appends s to list unless it is there.
func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// syncHookContainers are the running containers of an image that dev
// syncs into, on every target, as sync container hooks see them.
type syncHookContainers struct {
	paths syncPaths
	image artifact.Image
	byKey map[string]container
}

// Running implements hooks.Containers.
func (s *syncHookContainers) Running(ctx context.Context) ([]hooks.Container, error) {
	cs, err := s.paths.containers(ctx, s.image)
	if err != nil {
		return nil, err
	}
	s.byKey = map[string]container{}
	var out []hooks.Container
	for _, c := range cs {
		s.byKey[c.Key] = c
		out = append(out, hooks.Container{Pod: c.Pod, Name: c.Container, Image: c.Image.Ref, Key: c.Key})
	}
	return out, nil
}

// Exec implements hooks.Containers.
func (s *syncHookContainers) Exec(ctx context.Context, c hooks.Container, cmd []string, out io.Writer) error {
	ct := s.byKey[c.Key]
	return execError(s.paths[ct.path].exec.Exec(ctx, ct.Target, cmd, nil, out, out))
}
