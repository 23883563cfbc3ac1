package deploy

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// ApplyError is Apply's error when objects could not be applied. It says
// which objects were applied before the failure and which were not, so a
// half-applied state is never silent.
type ApplyError struct {
	// Err says what failed, one error per object or cause.
	Err error
	// Applied and NotApplied name the objects, as "deployment.apps/web".
	Applied, NotApplied []string
}

// Error reports the failures, then what was applied and what was not.
func (e *ApplyError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	if len(e.Applied) == 0 {
		b.WriteString("\nnothing was applied")
		return b.String()
	}
	b.WriteString("\napplied: " + strings.Join(e.Applied, ", "))
	if len(e.NotApplied) > 0 {
		b.WriteString("\nnot applied: " + strings.Join(e.NotApplied, ", "))
	}
	return b.String()
}

// Unwrap returns the failures.
func (e *ApplyError) Unwrap() error { return e.Err }

// requestError explains a request that failed while doing something.
// Failures of the connection or the credentials, which concern the whole
// cluster, say which cluster and what to check.
func (d *Deployer) requestError(doing string, err error) error {
	if ce := d.clusterError(err); ce != nil {
		return ce
	}
	switch {
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return fmt.Errorf("%s: the namespace is being deleted: wait until it is gone (skiff delete waits), then deploy again: %w", doing, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s: the user of kube context %q is not allowed to: ask for the RBAC permission or use another kube context: %w", doing, d.context, err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// terminatingError says that namespace ns is being deleted.
func terminatingError(ns string) error {
	return fmt.Errorf("namespace %s is being deleted: wait until it is gone (skiff delete waits), then deploy again", ns)
}

// clusterError explains err when the cluster could not be reached or
// refused the credentials; it returns nil for other errors.
func (d *Deployer) clusterError(err error) error {
	cluster := fmt.Sprintf("the cluster of kube context %q (%s)", d.context, d.server)
	var dnsErr *net.DNSError
	var netErr net.Error
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case utilnet.IsConnectionRefused(err):
		return fmt.Errorf("cannot reach %s: connection refused: check that the cluster is running and that this is the kube context you mean (--kube-context, `kubectl config current-context`): %w", cluster, err)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("cannot reach %s: its host name does not resolve: check the kube context's server address: %w", cluster, err)
	case errors.As(err, &unknownCA), errors.As(err, &hostErr):
		return fmt.Errorf("cannot trust %s: its TLS certificate does not match the kubeconfig's: check the kube context's certificate authority and server address: %w", cluster, err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s rejected the kube context's credentials: log in again or check the user in the kubeconfig: %w", cluster, err)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("%s did not answer in time: check that the cluster is running and reachable: %w", cluster, err)
	}
	return nil
}

// objectError explains why applying o failed.
func (d *Deployer) objectError(o *object, err error) error {
	if ce := d.clusterError(err); ce != nil {
		return ce
	}
	switch {
	case isMissingNamespace(err):
		return fmt.Errorf("%s: %w", o.where(), d.missingNamespaceError(o.obj.GetNamespace(), nil))
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return fmt.Errorf("%s: %w", o.where(), terminatingError(o.obj.GetNamespace()))
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s: the user of kube context %q may not apply it: ask for the RBAC permission or use another kube context: %w", o.where(), d.context, err)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err),
		// Server-side apply reports fields the schema lacks as a
		// reasonless 500.
		strings.Contains(err.Error(), "failed to create typed patch object"):
		return fmt.Errorf("%s was rejected by the API server: fix the manifest: %w", o.where(), err)
	}
	return fmt.Errorf("applying %s: %w", o.where(), err)
}

// isMissingNamespace tells a request that failed because its namespace
// does not exist.
func isMissingNamespace(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return false
	}
	details := status.Status().Details
	return details != nil && details.Kind == "namespaces"
}

// missingNamespaceError says that namespace ns does not exist and what to
// do; users are the objects that go there (none: the project's record).
func (d *Deployer) missingNamespaceError(ns string, users []*object) error {
	what := fmt.Sprintf("skiff records project %s's objects there (%s)", d.opts.Project, d.set)
	if len(users) > 0 {
		what = users[0].where() + " goes there"
		if len(users) > 1 {
			what = fmt.Sprintf("%s and %d more go there", users[0].where(), len(users)-1)
		}
	}
	return fmt.Errorf("namespace %s does not exist (%s): create it (`kubectl create namespace %s`), add a Namespace manifest for it, or deploy to another namespace with -n",
		ns, what, ns)
}
