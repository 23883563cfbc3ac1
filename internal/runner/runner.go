// Package runner is skiff's engine: it drives the whole pipeline. Build
// the artifacts (through the builders of build.Kinds), render the
// manifests, deploy them (server-side apply, or containers on the docker
// daemon), wait until the rollout is healthy, then stream logs and forward
// ports; Dev runs that loop on every change, syncing files instead of
// rebuilding where sync rules allow. The CLI's commands (build, render,
// run, deploy, apply, delete, dev, diagnose) parse flags into Options and
// call one Runner.
package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/build/builders"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/debug"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/hooks"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/log"
	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/deliver"
)

// Options configure a Runner. The CLI fills them from flags and the
// project's config.
type Options struct {
	Project *config.Project
	// RunID identifies this invocation; it labels the objects it applies.
	RunID string
	// KubeContext selects the cluster (--kube-context); empty means the
	// config's deploy.kubeContext, then the kubeconfig's current context.
	KubeContext string
	// Kubeconfig is the kubeconfig file (--kubeconfig); empty means
	// KUBECONFIG, else ~/.kube/config.
	Kubeconfig string
	// Namespace is -n: the namespace of every namespaced object.
	Namespace string
	// Labels (-l) are added to every object deployed and to its pods.
	Labels map[string]string
	// StatusCheck waits for the rollout after a deploy; nil follows the
	// config (deploy.statusCheck, default on).
	StatusCheck *bool
	// TolerateFailures makes the status check wait out failures until its
	// deadline (--tolerate-failures-until-deadline); nil follows the
	// config (deploy.tolerateFailuresUntilDeadline).
	TolerateFailures *bool
	// WaitForDeletions is how long a deploy waits for a namespace or an
	// object of its manifests that is being deleted to be gone (0: not
	// at all); WaitForDeletionsDelay is the time between two looks.
	WaitForDeletions      time.Duration
	WaitForDeletionsDelay time.Duration
	// DeleteDryRun makes Delete list what it would delete and delete
	// nothing (delete --dry-run).
	DeleteDryRun bool
	// Beep rings the terminal bell on ErrOut after each deploy (--toot).
	Beep bool
	// Force recreates an object whose apply the API server rejects as
	// invalid, such as a change to an immutable field (--force).
	Force bool
	// Tail streams the deployed containers' logs in Observe.
	Tail bool
	// PortForward are the --port-forward modes: user, services, pods.
	PortForward []string
	// Out receives logs; ErrOut progress lines.
	Out, ErrOut io.Writer
	// Color colours log prefixes (the caller checks for a terminal).
	Color bool
	// Log receives warnings and progress details; nil discards them.
	Log *log.Logger
	// Environ (KEY=value entries) is the environment skiff runs in: the
	// commands builders run get it, credentials and skiff-agent are found
	// through it.
	Environ []string
	// DefaultRepo is --default-repo: the registry images are pushed to.
	DefaultRepo string
	// Builders are the builders to build with; nil means all of skiff's
	// (builders.All).
	Builders build.Kinds
	// Debug, when set, makes the runner skiff debug's (see DebugOptions).
	Debug *DebugOptions
	// Events receives what the session does, as it happens (builds,
	// syncs, deploys, status, port-forwards, debuggable containers, log
	// lines); nil records nothing.
	Events *event.Bus
}

// Runner renders, deploys, checks, observes and deletes one project.
type Runner struct {
	opts Options
	// id is the project's stable name on the cluster (see ProjectID).
	id string
	// kinds are the builders (Options.Builders).
	kinds build.Kinds
	// agentWanted says dev mode delivers skiff-agent into the pods of
	// the artifacts with sync rules. agent is the skiff-agent image their
	// init container runs where the image is not a development image
	// (see injectAgent; "" delivers nothing), delivered once (agentTried).
	agentWanted, agentTried bool
	agent                   string
	// lastBuild are the options of the last Build: where images went,
	// which the debug support images follow.
	lastBuild BuildOptions
	// debugged are the containers the last debug transform rewrote.
	debugged []debug.Container
	// debugPods publishes the debugging containers of the pods followed.
	debugPods *debugPods
	// layered are the development images dev deployed (devImages), which
	// carry skiff-agent: their pods get no init container. devSaid is
	// the line printed last about each image's development image.
	layered map[string]bool
	devSaid map[string]string
	// supervised are the programs the development images in layered run
	// under skiff-agent run, by reference: what a hot swap replaces.
	supervised map[string]string
	// supervise makes development images run a ko app under skiff-agent
	// run, for hot swaps (DevOptions.HotSwap).
	supervise bool
	// agentFile is the skiff-agent binary the development layers carry
	// (openAgent), read when a layer is made rather than kept in memory;
	// agentSum is its sha256 and agentArch the architecture it was built
	// for, both read from the file as agentFile describes it.
	agentFile fs.FileInfo
	agentSum  string
	agentArch string
	// layerCache keeps what the development images read of their bases'
	// layers, so that a rebuilt image's reads only its new ones.
	layerCache *deliver.LayerCache
	// pushed keeps the images the last build pushed (keepPushed), by
	// digest, for their development images; nil outside dev.
	pushed *pushedImages
	// agentBinary is the skiff-agent binary, which dev copies into a
	// docker deployer's container that has no tar; "" when there is none.
	agentBinary string

	kc *kube.Config // loaded on first use

	// applied are the objects the last deploy applied, for the status
	// check, logs and port-forwards.
	applied []*unstructured.Unstructured
	// deployedAt is when the last deploy started; logs start there.
	deployedAt time.Time
	// onApplied, when set, runs once a deploy's objects are applied to the
	// cluster, before the status check: dev starts its log streams and
	// port-forwards there, so that the forward answers as soon as a pod is
	// ready instead of after the whole rollout. Its error fails the deploy.
	onApplied func(ctx context.Context) error
	// agentless are the images whose containers sync through tar: later
	// deploys leave skiff-agent out of their pods, whose start it slows
	// by a kubelet relist (about 1 s).
	agentless   map[string]bool
	agentlessMu gosync.Mutex
	// touched says a deploy has begun to change the cluster or the
	// docker daemon, so there may be something to delete.
	touched bool
	// hooks runs the lifecycle hooks (see hookRunner).
	hooks     *hooks.Runner
	hooksOnce gosync.Once
	// forwarder is the cluster's port-forwarder while it runs, which a hot
	// swap steers off the pod whose app it restarts (steer).
	forwarder atomic.Pointer[kube.Forwarder]
}

// New returns a Runner for opts.Project.
func New(opts Options) *Runner {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.ErrOut == nil {
		opts.ErrOut = io.Discard
	}
	if opts.Log == nil {
		opts.Log = log.New(io.Discard, log.LevelError)
	}
	kinds := opts.Builders
	if kinds == nil {
		kinds = builders.All
	}
	return &Runner{opts: opts, id: ProjectID(opts.Project), kinds: kinds, layered: map[string]bool{}, supervised: map[string]string{}, devSaid: map[string]string{}, layerCache: deliver.NewLayerCache(), debugPods: newDebugPods(opts.Events)}
}

// ProjectID names a project on the cluster and the docker daemon: the
// first config's metadata.name (or its directory's name) and a hash of
// where its skaffold.yaml lives, so two checkouts do not prune each other's
// objects while every run of the same checkout finds what the last one
// deployed. The result is a valid label value.
func ProjectID(p *config.Project) string {
	if len(p.Configs) == 0 {
		return "skiff"
	}
	c := p.Configs[0]
	name := c.Metadata.Name
	if name == "" {
		name = filepath.Base(c.Dir)
	}
	name = strings.Trim(invalidLabelChars.ReplaceAllString(strings.ToLower(name), "-"), "-.")
	if len(name) > 40 {
		name = strings.TrimRight(name[:40], "-.")
	}
	if name == "" {
		name = "skiff"
	}
	file, err := filepath.Abs(c.File)
	if err != nil {
		file = c.File
	}
	sum := sha256.Sum256([]byte(file))
	return name + "-" + hex.EncodeToString(sum[:4])
}

var invalidLabelChars = regexp.MustCompile(`[^a-z0-9.-]+`)

// CurrentKubeContext returns the current context of the kubeconfig file
// (--kubeconfig; "" means KUBECONFIG or ~/.kube/config), which kubeContext
// profile activation compares; "" when the kubeconfig sets none.
func CurrentKubeContext(kubeconfig string) (string, error) { return kube.CurrentContext(kubeconfig) }

// kubeConfig loads the cluster connection once.
func (r *Runner) kubeConfig() (*kube.Config, error) {
	if r.kc != nil {
		return r.kc, nil
	}
	name := r.opts.KubeContext
	if name == "" {
		name = r.opts.Project.KubeContext()
	}
	kc, err := kube.LoadFile(r.opts.Kubeconfig, name)
	if err != nil {
		return nil, err
	}
	r.kc = kc
	return kc, nil
}

// Render renders the project's manifests with images substituted and
// skiff's labels added. Offline renders without asking the kubeconfig
// for the default namespace.
func (r *Runner) Render(ctx context.Context, images []artifact.Image, offline bool) ([]render.Manifest, error) {
	return r.render(ctx, images, offline, false)
}

// render is Render; with installHelm, deploy.helm's releases are left
// out: they are installed as Helm releases (see installReleases).
func (r *Runner) render(ctx context.Context, images []artifact.Image, offline, installHelm bool) ([]render.Manifest, error) {
	opts := r.renderOptions(images)
	opts.Offline = offline
	opts.InstallHelm = installHelm
	if !offline {
		if _, err := r.kubeConfig(); err == nil {
			opts.DefaultNamespace = r.namespace()
		}
	}
	if _, err := r.renderHooks(ctx, nil, false, offline); err != nil {
		return nil, err
	}
	ms, err := render.Render(ctx, r.opts.Project.Configs, opts)
	if err == nil {
		ms, err = r.renderHooks(ctx, ms, true, offline)
	}
	if err != nil || r.opts.Debug == nil {
		return ms, err
	}
	return ms, r.debugTransform(ctx, ms, images, offline)
}

// RenderYAML renders as Render does and returns the manifests as one
// multi-document YAML stream (skiff render).
func (r *Runner) RenderYAML(ctx context.Context, images []artifact.Image, offline bool) ([]byte, error) {
	ms, err := r.Render(ctx, images, offline)
	if err != nil {
		return nil, err
	}
	return render.YAML(ms)
}

// renderOptions are what render adds to every manifest: the images and
// skiff's labels. The run id stays out of pod templates, so that a run
// that changes nothing restarts no pod.
func (r *Runner) renderOptions(images []artifact.Image) render.Options {
	return render.Options{
		Images:    images,
		Namespace: r.opts.Namespace,
		Labels: withLabels(r.opts.Labels, map[string]string{
			kube.ManagedByLabel: kube.ManagedBy,
			kube.ProjectLabel:   r.id,
			kube.RunIDLabel:     r.opts.RunID,
		}),
		PodLabels: withLabels(r.opts.Labels, map[string]string{
			kube.ManagedByLabel: kube.ManagedBy,
			kube.ProjectLabel:   r.id,
		}),
		Env: r.opts.Project.Env,
		Log: r.opts.Log,
	}
}

// withLabels returns skiff's labels with the user's (-l) added; skiff's
// win, since pruning and delete find the project's objects by them.
func withLabels(user, skiff map[string]string) map[string]string {
	out := maps.Clone(skiff)
	for k, v := range user {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

// RenderOutput is the file the project's manifests.output names, "" for
// none.
func (r *Runner) RenderOutput() string { return r.opts.Project.RenderOutput() }

// syncedImages are the image names of the artifacts whose changes dev
// mode syncs (those with manual or infer sync rules) and whose containers
// may need skiff-agent: all but those seen to sync through tar.
func (r *Runner) syncedImages() map[string]bool {
	r.agentlessMu.Lock()
	defer r.agentlessMu.Unlock()
	out := map[string]bool{}
	for _, a := range r.opts.Project.Artifacts() {
		if sync.Syncs(a) && !r.agentless[a.ImageName] {
			out[a.ImageName] = true
		}
	}
	return out
}

// syncsThroughTar records whether the containers of the image named name
// sync through tar, which spares their pods the agent from the next
// deploy on.
func (r *Runner) syncsThroughTar(name string, tar bool) {
	r.agentlessMu.Lock()
	defer r.agentlessMu.Unlock()
	if r.agentless == nil {
		r.agentless = map[string]bool{}
	}
	r.agentless[name] = tar
}

// Check fails when the project uses a feature of one of stages ("build",
// "manifests", "deploy", "portForward", "test", ...) that skiff does not
// implement yet, or an artifact whose builder skiff does not have; with
// "test", also when structure tests need container-structure-test and it
// is not on PATH.
func (r *Runner) Check(stages ...string) error {
	var errs config.Errors
	for _, c := range r.opts.Project.Configs {
		for _, e := range config.Unsupported(c, r.kinds.Names()) {
			if slices.ContainsFunc(stages, func(s string) bool { return strings.HasPrefix(e.Path, s) }) {
				errs = append(errs, e)
			}
		}
	}
	if slices.Contains(stages, "test") {
		errs = append(errs, r.missingStructureTest()...)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Unsupported lists the features of the whole project that skiff does not
// implement yet (skiff diagnose).
func (r *Runner) Unsupported() config.Errors {
	var errs config.Errors
	for _, c := range r.opts.Project.Configs {
		errs = append(errs, config.Unsupported(c, r.kinds.Names())...)
	}
	return errs
}

// hasManifests reports whether any config renders Kubernetes manifests,
// which the runner deploys to the cluster.
func (r *Runner) hasManifests() bool {
	for _, c := range r.opts.Project.Configs {
		m := c.Render
		if len(m.RawK8s) > 0 || m.Kustomize != nil || m.Helm != nil || c.Deploy.HelmDeploy != nil {
			return true
		}
	}
	return false
}

// dockerConfigs are the configs that deploy with the docker deployer.
func (r *Runner) dockerConfigs() []*config.Config {
	var out []*config.Config
	for _, c := range r.opts.Project.Configs {
		if c.Deploy.DockerDeploy != nil {
			out = append(out, c)
		}
	}
	return out
}

// ID is the project's name on the cluster and the docker daemon (see
// ProjectID).
func (r *Runner) ID() string { return r.id }

// Touched reports whether a deploy has begun to change the cluster or the
// docker daemon: whether there may be something to delete.
func (r *Runner) Touched() bool { return r.touched }

// Applied returns the objects the last deploy applied.
func (r *Runner) Applied() []*unstructured.Unstructured { return r.applied }
