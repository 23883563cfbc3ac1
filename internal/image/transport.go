package image

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// policyTransport enforces skiff's rule for plain HTTP: only registries
// listed as insecure or on loopback may be reached without TLS. Insecure
// registries also skip certificate verification, as with Skaffold.
type policyTransport struct {
	base       http.RoundTripper
	skipVerify http.RoundTripper
	insecure   map[string]bool
}

// RoundTrip implements http.RoundTripper.
func (t *policyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Host
	switch {
	case t.insecure[host]:
		return t.skipVerify.RoundTrip(req)
	case req.URL.Scheme == "http" && !isLoopback(host):
		return nil, &plainHTTPError{host: host}
	}
	return t.base.RoundTrip(req)
}

func newPolicyTransport(base http.RoundTripper, insecure map[string]bool) http.RoundTripper {
	t := &policyTransport{base: base, skipVerify: base, insecure: insecure}
	if base == nil {
		t.base = remote.DefaultTransport
		t.skipVerify = remote.DefaultTransport
		if len(insecure) > 0 {
			tr := remote.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user listed this registry as insecure
			t.skipVerify = tr
		}
	}
	return t
}

// isLoopback reports whether a registry host (host[:port]) is on this
// machine: localhost, 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// insecureSet normalizes registry names (as users write them: with or
// without a scheme, docker.io for Docker Hub) to the hosts requests go to.
func insecureSet(registries []string) map[string]bool {
	set := make(map[string]bool, len(registries))
	for _, r := range registries {
		r = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(r, "http://"), "https://"), "/")
		if r == "" {
			continue
		}
		if reg, err := name.NewRegistry(r, name.Insecure); err == nil {
			set[reg.RegistryStr()] = true
		}
		set[r] = true
	}
	return set
}
