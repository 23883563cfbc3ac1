// Package helm installs, upgrades and uninstalls deploy.helm's releases
// with the Helm SDK, as `helm upgrade --install` and `helm uninstall` do:
// the release is recorded in Secrets (helm's default storage), so `helm
// list`, `helm history` and `helm rollback` see it, and chart hooks run.
// Manifests go through the post-renderers of the release's flags, then
// through skiff's (images, labels), so that the status check, logs and
// port-forwards find the release's objects. skiff's status check, not
// helm's --wait, waits for the workloads.
package helm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/postrender"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"skiff.dev/skiff/internal/deploy/helmflag"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/render"
)

// StorageDriver is where releases are recorded: Secrets in the release's
// namespace, helm's default.
const StorageDriver = "secret"

// Options configures a Deployer.
type Options struct {
	// Out receives one line per release; nil prints nothing.
	Out io.Writer
	// PostRender transforms a release's rendered manifests (a
	// multi-document YAML stream) after the post-renderers of its flags:
	// skiff's images, labels and agent. nil leaves them as they are.
	PostRender func(manifests []byte) ([]byte, error)
	// Timeout bounds an uninstall, waiting for the release's objects to
	// go included; 0 means 2 minutes.
	Timeout time.Duration
	// Background makes Delete uninstall with background propagation and
	// return without waiting for the objects to go (dev's Ctrl-C), as
	// deploy.Options.Background does for the other objects.
	Background bool
	// DryRun makes Delete say what it would uninstall and uninstall
	// nothing.
	DryRun bool
}

// Deployer installs and uninstalls Helm releases on one cluster.
type Deployer struct {
	kc   *kube.Config
	opts Options
	// configure makes the Helm action configuration of a namespace;
	// tests give releases storage in memory and a fake cluster.
	configure func(ns string) (*action.Configuration, error)
}

// New returns a Deployer for the cluster kc connects to. It makes no
// request until Deploy or Delete.
func New(kc *kube.Config, opts Options) (*Deployer, error) {
	if kc == nil || kc.REST == nil {
		return nil, errors.New("helm: no cluster connection (nil kube config)")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	d := &Deployer{kc: kc, opts: opts}
	d.configure = d.configuration
	return d, nil
}

// Deploy installs each release that is not there and upgrades each that
// is (unless its UpgradeOnChange is false), in order, and returns the
// objects of the releases' manifests, for the status check.
func (d *Deployer) Deploy(ctx context.Context, rels []render.HelmInstall) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, in := range rels {
		o, err := d.deploy(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Where, err)
		}
		objs = append(objs, o...)
	}
	return objs, nil
}

// deploy installs or upgrades one release.
func (d *Deployer) deploy(ctx context.Context, in render.HelmInstall) ([]*unstructured.Unstructured, error) {
	cfg, err := d.configure(in.Namespace)
	if err != nil {
		return nil, err
	}
	last, err := lastRelease(cfg, in.Name)
	if err != nil {
		return nil, err
	}
	command := helmflag.Install
	if last != nil {
		command = helmflag.Upgrade
	}
	var s helmflag.Settings
	if err := helmflag.Parse(helmflag.Global, in.Flags.Global, &s); err != nil {
		return nil, fmt.Errorf("flags.global: %w", err)
	}
	if err := helmflag.Parse(command, flagsOf(in, command), &s); err != nil {
		return nil, fmt.Errorf("flags.%s: %w", command, err)
	}
	if s.Wait {
		d.printf(" - helm release %s: --wait is left to skiff's status check, which waits for the release's workloads\n", in.Name)
	}
	if last != nil && !in.UpgradeOnChange {
		d.printf(" - helm release %s (namespace %s) left at revision %d: upgradeOnChange is off\n", in.Name, in.Namespace, last.Version)
		return d.objects(cfg, last)
	}
	ch := in.Chart
	if ch == nil {
		if ch, err = fetchChart(ctx, in, s); err != nil {
			return nil, err
		}
	}
	post, err := d.postRenderer(in.Dir, s)
	if err != nil {
		return nil, err
	}
	var rel *release.Release
	if last == nil {
		rel, err = d.install(ctx, cfg, in, ch, s, post)
	} else {
		rel, err = d.upgrade(ctx, cfg, in, ch, s, post)
	}
	if err != nil {
		return nil, explain(err, in)
	}
	what := "installed"
	if last != nil {
		what = "upgraded"
	}
	d.printf(" - helm release %s (namespace %s) %s: revision %d, chart %s-%s\n", in.Name, in.Namespace, what, rel.Version, ch.Name(), ch.Metadata.Version)
	return d.objects(cfg, rel)
}

// flagsOf is the release's flags for command.
func flagsOf(in render.HelmInstall, command helmflag.Command) []string {
	if command == helmflag.Install {
		return in.Flags.Install
	}
	return in.Flags.Upgrade
}

func (d *Deployer) install(ctx context.Context, cfg *action.Configuration, in render.HelmInstall, ch *chart.Chart, s helmflag.Settings, post postrender.PostRenderer) (*release.Release, error) {
	a := action.NewInstall(cfg)
	a.ReleaseName = in.Name
	a.Namespace = in.Namespace
	a.CreateNamespace = in.CreateNamespace || s.CreateNamespace
	a.Atomic = s.Atomic
	a.Force = s.Force
	a.DisableHooks = s.NoHooks
	a.SkipCRDs = s.SkipCRDs
	a.DisableOpenAPIValidation = s.DisableOpenAPIValidation
	a.SkipSchemaValidation = s.SkipSchemaValidation
	a.Devel = s.Devel
	a.TakeOwnership = s.TakeOwnership
	a.EnableDNS = s.EnableDNS
	a.Timeout = timeout(s)
	a.Description = s.Description
	a.Labels = s.Labels
	a.PostRenderer = post
	return a.RunWithContext(ctx, ch, in.Values)
}

func (d *Deployer) upgrade(ctx context.Context, cfg *action.Configuration, in render.HelmInstall, ch *chart.Chart, s helmflag.Settings, post postrender.PostRenderer) (*release.Release, error) {
	a := action.NewUpgrade(cfg)
	a.Namespace = in.Namespace
	a.Install = true
	a.Atomic = s.Atomic
	a.Force = s.Force
	a.DisableHooks = s.NoHooks
	a.SkipCRDs = s.SkipCRDs
	a.DisableOpenAPIValidation = s.DisableOpenAPIValidation
	a.SkipSchemaValidation = s.SkipSchemaValidation
	a.Devel = s.Devel
	a.TakeOwnership = s.TakeOwnership
	a.EnableDNS = s.EnableDNS
	a.CleanupOnFail = s.CleanupOnFail
	a.Recreate = in.RecreatePods
	a.ResetValues = s.ResetValues
	a.ReuseValues = s.ReuseValues
	a.ResetThenReuseValues = s.ResetThenReuseValues
	a.MaxHistory = s.HistoryMax
	if a.MaxHistory == 0 {
		a.MaxHistory = 10 // helm upgrade's default
	}
	a.Timeout = timeout(s)
	a.Description = s.Description
	a.Labels = s.Labels
	a.PostRenderer = post
	return a.RunWithContext(ctx, in.Name, ch, in.Values)
}

// timeout is --timeout, else helm's default of 5 minutes.
func timeout(s helmflag.Settings) time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 5 * time.Minute
}

// explain adds to a failed install or upgrade what to do about it.
func explain(err error, in render.HelmInstall) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "another operation (install/upgrade/rollback) is in progress"):
		return fmt.Errorf("%w; an earlier install or upgrade was interrupted: roll the release back (helm rollback %s -n %s) or run skiff delete", err, in.Name, in.Namespace)
	case strings.Contains(msg, "invalid ownership metadata"):
		return fmt.Errorf("%w; the object exists but belongs to no Helm release (an earlier skiff apply, say): delete it, or pass --take-ownership in flags.install and flags.upgrade", err)
	}
	return err
}

// configuration is a Helm action configuration for namespace ns.
func (d *Deployer) configuration(ns string) (*action.Configuration, error) {
	getter, err := newRESTGetter(d.kc, ns)
	if err != nil {
		return nil, fmt.Errorf("connecting to kube context %q: %w", d.kc.Context, err)
	}
	cfg := new(action.Configuration)
	if err := cfg.Init(getter, ns, StorageDriver, func(string, ...any) {}); err != nil {
		return nil, fmt.Errorf("connecting Helm to kube context %q: %w", d.kc.Context, err)
	}
	return cfg, nil
}

// lastRelease is the release's latest revision, nil when there is none.
func lastRelease(cfg *action.Configuration, name string) (*release.Release, error) {
	h := action.NewHistory(cfg)
	h.Max = 1
	rels, err := h.Run(name)
	switch {
	case errors.Is(err, driver.ErrReleaseNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading the history of release %s: %w", name, err)
	case len(rels) == 0:
		return nil, nil
	}
	last := rels[0]
	for _, r := range rels[1:] {
		if r.Version > last.Version {
			last = r
		}
	}
	return last, nil
}

// objects are the objects of rel's manifest, with their namespaces, as
// the status check and port-forwards need them.
func (d *Deployer) objects(cfg *action.Configuration, rel *release.Release) ([]*unstructured.Unstructured, error) {
	infos, err := cfg.KubeClient.Build(bytes.NewBufferString(rel.Manifest), false)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of release %s revision %d: %w", rel.Name, rel.Version, err)
	}
	var out []*unstructured.Unstructured
	for _, info := range infos {
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(info.Object)
			if err != nil {
				return nil, err
			}
			u = &unstructured.Unstructured{Object: m}
		}
		if info.Namespaced() && u.GetNamespace() == "" {
			u.SetNamespace(info.Namespace)
		}
		out = append(out, u)
	}
	return out, nil
}

// printf writes to Options.Out.
func (d *Deployer) printf(format string, args ...any) {
	if d.opts.Out != nil {
		fmt.Fprintf(d.opts.Out, format, args...)
	}
}
