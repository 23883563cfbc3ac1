// Package deploy applies rendered manifests to a cluster with server-side
// apply, prunes what earlier deploys of the same project left behind, and
// deletes a project's objects, all through client-go (no kubectl).
//
// What a project deployed is recorded as an ApplySet (KEP-3659, the
// inventory `kubectl apply --prune --applyset` uses): a ConfigMap parent in
// the deploy's namespace and an applyset.kubernetes.io/part-of label on
// every object applied. See applyset.go.
package deploy

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/typed"
)

// Options configures a Deployer.
type Options struct {
	// Project names the deployment set: skiff records what it applied under
	// this name so that the next deploy can prune and Delete can remove it.
	// It must be a valid label value.
	Project string
	// Namespace is where namespaced objects that name none go, and where
	// the project's record (the ApplySet parent ConfigMap) lives. Empty
	// means the kube context's namespace.
	Namespace string
	// Out receives one progress line per object, such as
	// " - deployment.apps/web created"; nil prints nothing.
	Out io.Writer
	// Timeout bounds how long Apply waits for a CustomResourceDefinition
	// to be established (or, with Force, for an object to be deleted) and
	// Delete for the objects to be gone; 0 means DefaultTimeout.
	Timeout time.Duration
	// Force deletes and recreates an existing object whose apply the API
	// server rejects as invalid, such as a change to an immutable field
	// (a Job's template, a Deployment's selector), as `kubectl apply
	// --force` does. The object is briefly gone: its pods stop.
	Force bool
	// DryRun makes Delete list what it would delete and delete nothing.
	DryRun bool
	// Background makes Delete delete every object in the background and
	// wait for the objects alone to be gone, not for their pods: the
	// cluster stops those after Delete returns. Dev's Ctrl-C cleanup uses
	// it, so that skiff exits at once.
	Background bool
	// WaitForDeletions is how long Apply waits for a namespace or an
	// object of the manifests that is being deleted to be gone before it
	// applies (Skaffold's --wait-for-deletions-max); 0 does not wait: a
	// namespace being deleted is an error. WaitForDeletionsDelay is the
	// time between two looks (default 2s).
	WaitForDeletions      time.Duration
	WaitForDeletionsDelay time.Duration
}

// DefaultTimeout is the wait Options.Timeout 0 stands for.
const DefaultTimeout = 2 * time.Minute

// parallelism is how many requests of one stage run at once.
const parallelism = 8

// Deployer applies, prunes and deletes one project's objects on one
// cluster.
type Deployer struct {
	opts    Options
	client  dynamic.Interface
	mapper  meta.ResettableRESTMapperWithContext
	context string // kube context, for messages
	server  string // API server URL, for messages
	set     applySet
	// poll is how often waits look again.
	poll time.Duration

	outMu sync.Mutex
}

// New connects a Deployer to the cluster kc names. It makes no request
// until Apply or Delete.
func New(kc *kube.Config, opts Options) (*Deployer, error) {
	if kc == nil || kc.REST == nil {
		return nil, errors.New("deploy: no cluster connection (nil kube config)")
	}
	if opts.Namespace == "" {
		opts.Namespace = kc.Namespace
	}
	cfg := rest.CopyConfig(kc.REST)
	// client-go's default of 5 requests a second would make applying a
	// few dozen objects take seconds; the API server's priority and
	// fairness protects the cluster.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	warnings := &warningPrinter{}
	cfg.WarningHandler = warnings
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to kube context %q: %w", kc.Context, err)
	}
	mapper, err := typed.NewRESTMapper(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to kube context %q: %w", kc.Context, err)
	}
	d, err := newDeployer(client, mapper, kc.Context, cfg.Host, opts)
	warnings.d = d
	return d, err
}

// warningPrinter prints the API server's warnings (a deprecated API
// version, say) to Options.Out, each once, as kubectl prints them;
// client-go would log them through klog.
type warningPrinter struct {
	d    *Deployer
	seen sync.Map
}

// HandleWarningHeader prints a warning the first time it arrives.
func (w *warningPrinter) HandleWarningHeader(code int, _, text string) {
	if code != 299 || text == "" || w.d == nil {
		return
	}
	if _, dup := w.seen.LoadOrStore(text, true); !dup {
		w.d.printf("Warning: %s\n", text)
	}
}

// newDeployer is New with the clients given; tests pass fakes.
func newDeployer(client dynamic.Interface, mapper meta.ResettableRESTMapperWithContext, kubeContext, server string, opts Options) (*Deployer, error) {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.WaitForDeletionsDelay <= 0 {
		opts.WaitForDeletionsDelay = 2 * time.Second
	}
	if err := validateProject(opts.Project); err != nil {
		return nil, err
	}
	if errs := validation.IsDNS1123Label(opts.Namespace); len(errs) > 0 {
		return nil, fmt.Errorf("namespace %q is not a valid namespace name: %s", opts.Namespace, strings.Join(errs, "; "))
	}
	return &Deployer{
		opts:    opts,
		client:  client,
		mapper:  mapper,
		context: kubeContext,
		server:  server,
		set:     newApplySet(opts.Project, opts.Namespace),
		poll:    200 * time.Millisecond,
	}, nil
}

// validateProject checks that project can name a deployment set.
func validateProject(project string) error {
	if project == "" {
		return errors.New("deploy: no project name to record the deployment under")
	}
	if errs := validation.IsValidLabelValue(project); len(errs) > 0 {
		return fmt.Errorf("project name %q is not a valid label value: %s", project, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(parentName(project)); len(errs) > 0 {
		return fmt.Errorf("project name %q cannot name a ConfigMap (use lower case letters, digits, '-' and '.'): %s", project, strings.Join(errs, "; "))
	}
	return nil
}

// progress prints one " - <ref> <what>" line.
func (d *Deployer) progress(ref, what string) {
	d.printf(" - %s %s\n", ref, what)
}

// printf writes to Options.Out, one whole line at a time.
func (d *Deployer) printf(format string, args ...any) {
	if d.opts.Out == nil {
		return
	}
	d.outMu.Lock()
	defer d.outMu.Unlock()
	fmt.Fprintf(d.opts.Out, format, args...)
}
