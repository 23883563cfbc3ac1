package image

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors a caller can test for with errors.Is; the errors this package
// returns wrap them with what failed and what to do.
var (
	// ErrUnreachable means a registry or the Docker daemon did not answer.
	ErrUnreachable = errors.New("not reachable")
	// ErrUnauthorized means a registry rejected the credentials (401/403).
	ErrUnauthorized = errors.New("access denied")
	// ErrNotFound means an image or repository does not exist.
	ErrNotFound = errors.New("not found")
)

// plainHTTPError is returned by the transport when a registry would be
// reached over plain HTTP although it is neither loopback nor insecure.
type plainHTTPError struct{ host string }

func (e *plainHTTPError) Error() string {
	return fmt.Sprintf("refusing plain HTTP to %s", e.host)
}

// registryError explains err, which op on ref in reg returned: what
// failed, why, and what to do next; dockerConfig is the docker config
// file the credentials came from.
func registryError(dockerConfig, op string, ref string, reg name.Registry, err error) error {
	host := reg.RegistryStr()
	var terr *transport.Error
	var perr *plainHTTPError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	switch {
	case errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden):
		return fmt.Errorf("%s %s: registry %s rejected the credentials (%d %s: %w): %s",
			op, ref, host, terr.StatusCode, http.StatusText(terr.StatusCode), join(ErrUnauthorized, err), loginHint(host, dockerConfig))
	case isUnauthorizedCode(err):
		return fmt.Errorf("%s %s: registry %s rejected the credentials (%w): %s",
			op, ref, host, join(ErrUnauthorized, err), loginHint(host, dockerConfig))
	case errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound, isNotFoundCode(err):
		return fmt.Errorf("%s %s: the image is not in registry %s (%w); check the name and tag, or build and push it first",
			op, ref, host, join(ErrNotFound, err))
	case errors.As(err, &perr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%s %s: registry %s is not served over HTTPS (%w); if you trust it, list it under build.insecureRegistries in skaffold.yaml or pass --insecure-registry %s",
			op, ref, host, err, host)
	case errors.As(err, &uerr), errors.As(err, &herr):
		return fmt.Errorf("%s %s: the TLS certificate of registry %s is not trusted (%w); install its CA certificate, or list it under build.insecureRegistries in skaffold.yaml",
			op, ref, host, err)
	case isNetError(err):
		hint := "check its name and your network"
		if isLoopback(host) {
			hint = "is it running? `make cluster-up` starts one"
		}
		return fmt.Errorf("%s %s: registry %s does not answer (%w); %s",
			op, ref, host, join(ErrUnreachable, err), hint)
	}
	return fmt.Errorf("%s %s: %w", op, ref, err)
}

// loginHint says how to give registry host credentials kept in the
// docker config file dockerConfig.
func loginHint(host, dockerConfig string) string {
	if host == name.DefaultRegistry {
		host = ""
	} else {
		host = " " + host
	}
	return fmt.Sprintf("log in with `docker login%s` (or fix the credential helper for it in %s), or push to a repository you may write to (--default-repo)", host, dockerConfig)
}

// join wraps err and marks it as sentinel without repeating the
// sentinel's text in the message.
func join(sentinel, err error) error {
	return &markedError{err: err, mark: sentinel}
}

type markedError struct {
	err  error
	mark error
}

func (e *markedError) Error() string   { return e.err.Error() }
func (e *markedError) Unwrap() []error { return []error{e.err, e.mark} }

func hasCode(err error, codes ...transport.ErrorCode) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	for _, d := range terr.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

func isUnauthorizedCode(err error) bool {
	return hasCode(err, transport.UnauthorizedErrorCode, transport.DeniedErrorCode)
}

func isNotFoundCode(err error) bool {
	return hasCode(err, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode)
}

// isNetError reports whether err is a failure to reach a host (refused,
// unresolvable, timed out, reset) rather than an answer.
func isNetError(err error) bool {
	var oerr *net.OpError
	var derr *net.DNSError
	var nerr net.Error
	return errors.As(err, &oerr) || errors.As(err, &derr) || (errors.As(err, &nerr) && nerr.Timeout()) ||
		strings.Contains(err.Error(), "connection refused")
}
