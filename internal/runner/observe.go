package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/kube"
)

// Port-forward modes of --port-forward, as in Skaffold.
const (
	ForwardUser     = "user"
	ForwardServices = "services"
	ForwardPods     = "pods"
	ForwardOff      = "off"
)

// ParsePortForward checks --port-forward values: a comma list of user,
// services, pods, debug (skiff debug's debug ports) or off; "true" means user,services and "false" off, as
// Skaffold accepts them.
func ParsePortForward(values []string) ([]string, error) {
	var modes []string
	for _, v := range values {
		for m := range strings.SplitSeq(v, ",") {
			switch m = strings.TrimSpace(strings.ToLower(m)); m {
			case "true":
				modes = append(modes, ForwardUser, ForwardServices)
			case "false", ForwardOff, "":
			case ForwardUser, ForwardServices, ForwardPods:
				modes = append(modes, m)
			case ForwardDebug:
				modes = append(modes, m)
			default:
				return nil, fmt.Errorf("--port-forward=%s: unknown mode %q; use user, services, pods, debug or off", v, m)
			}
		}
	}
	slices.Sort(modes)
	return slices.Compact(modes), nil
}

// Observing reports whether Observe has anything to do: logs to tail or
// ports to forward.
func (r *Runner) Observing() bool { return r.opts.Tail || len(r.opts.PortForward) > 0 }

// Observe streams the deployed containers' logs (with Tail) and forwards
// the ports the modes ask for, until ctx ends.
func (r *Runner) Observe(ctx context.Context) error {
	stop, err := r.StartObserving(ctx)
	if err != nil {
		return err
	}
	defer stop()
	<-ctx.Done()
	return nil
}

// StartObserving starts what Observe does and returns at once; the log
// streams and forwards run until ctx ends or stop is called, and they
// follow the pods of later deploys. stop waits until they have stopped.
func (r *Runner) StartObserving(ctx context.Context) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	var stops []func()
	stop = func() {
		cancel()
		for _, s := range slices.Backward(stops) {
			s()
		}
	}
	for _, t := range r.targets() {
		s, err := t.observe(ctx)
		if err != nil {
			stop()
			return nil, err
		}
		stops = append(stops, s)
	}
	return stop, nil
}

// observeCluster starts log streams and port-forwards on the cluster and
// returns what stops them.
func (r *Runner) observeCluster(ctx context.Context) (stop func(), err error) {
	kc, err := r.kubeConfig()
	if err != nil {
		return nil, err
	}
	api, err := kc.API(0)
	if err != nil {
		return nil, err
	}
	namespaces := r.namespaces()
	selector := labels.SelectorFromSet(labels.Set{kube.ProjectLabel: r.id})
	var stops []func()
	stop = func() {
		for _, s := range slices.Backward(stops) {
			s()
		}
	}
	if r.opts.Tail {
		t := kube.NewLogTailer(api, r.opts.Out, kube.LogOptions{
			Namespaces: namespaces,
			Selector:   selector,
			Color:      r.opts.Color,
			Since:      r.deployedAt,
			Prefix:     r.opts.Project.LogPrefix(),
			Log:        r.opts.Log,
			Events:     r.opts.Events,
			Pods:       r.debugPods.pod,
		})
		if err := t.Start(ctx); err != nil {
			return nil, err
		}
		stops = append(stops, t.Stop)
	}
	if len(r.opts.PortForward) == 0 {
		return stop, nil
	}
	f := kube.NewForwarder(kc, api, r.opts.ErrOut, r.opts.Log)
	f.Events = r.opts.Events
	stops = append(stops, f.Stop)
	r.forwarder.Store(f)
	stops = append(stops, func() { r.forwarder.CompareAndSwap(f, nil) })
	var forwards []kube.Forward
	if slices.Contains(r.opts.PortForward, ForwardUser) {
		forwards = append(forwards, r.userForwards()...)
	}
	if slices.Contains(r.opts.PortForward, ForwardServices) {
		forwards = append(forwards, kube.ServiceForwards(r.applied)...)
	}
	seen := map[kube.Forward]bool{}
	for _, fw := range forwards {
		// user and services may name the same service port; forward it
		// once, as the user's entry says.
		key := kube.Forward{Type: fw.Type, Name: fw.Name, Namespace: fw.Namespace, Port: fw.Port}
		if seen[key] {
			continue
		}
		seen[key] = true
		if _, err := f.Add(ctx, fw); err != nil {
			stop()
			return nil, err
		}
	}
	if slices.Contains(r.opts.PortForward, ForwardDebug) {
		if err := r.forwardDebugPorts(ctx, f); err != nil {
			stop()
			return nil, err
		}
	}
	if slices.Contains(r.opts.PortForward, ForwardPods) {
		if err := f.ForwardPods(ctx, namespaces, selector); err != nil {
			stop()
			return nil, err
		}
	}
	return stop, nil
}

// userForwards are the config's portForward entries for cluster resources.
func (r *Runner) userForwards() []kube.Forward {
	var out []kube.Forward
	for _, c := range r.opts.Project.Configs {
		for _, pf := range c.PortForward {
			if pf == nil || strings.EqualFold(string(pf.Type), "container") {
				continue
			}
			ns := pf.Namespace
			if ns == "" {
				ns = r.namespace()
			}
			addr := pf.Address
			if addr == "" {
				addr = config.DefaultForwardAddress
			}
			out = append(out, kube.Forward{
				Type:      strings.ToLower(string(pf.Type)),
				Name:      pf.Name,
				Namespace: ns,
				Port:      toIntOrString(pf.Port),
				Address:   addr,
				LocalPort: pf.LocalPort,
			})
		}
	}
	return out
}

func toIntOrString(v schema.IntOrString) intstr.IntOrString {
	if v.Type == schema.TypeString {
		return intstr.FromString(v.StrVal)
	}
	return intstr.FromInt(v.IntVal)
}

// namespaces are those the last deploy applied namespaced objects to.
func (r *Runner) namespaces() []string {
	var out []string
	for _, o := range r.applied {
		if ns := o.GetNamespace(); ns != "" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	if len(out) == 0 {
		out = append(out, r.namespace())
	}
	return out
}
