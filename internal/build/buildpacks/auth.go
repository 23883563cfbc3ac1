package buildpacks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// registryAuth encodes the keychain's credentials for the registries of
// refs as CNB_REGISTRY_AUTH: a JSON object of registry to Authorization
// header value. It returns "" when every registry is anonymous.
func registryAuth(ctx context.Context, kc authn.Keychain, refs ...string) (string, error) {
	headers := map[string]string{}
	for _, ref := range refs {
		r, err := name.ParseReference(ref)
		if err != nil {
			continue
		}
		reg := r.Context().Registry
		if _, done := headers[reg.RegistryStr()]; done {
			continue
		}
		a, err := authn.Resolve(ctx, kc, reg)
		if err != nil {
			return "", fmt.Errorf("finding credentials for %s: %w", reg.RegistryStr(), err)
		}
		if a == authn.Anonymous {
			continue
		}
		c, err := authn.Authorization(ctx, a)
		if err != nil {
			return "", fmt.Errorf("finding credentials for %s: %w", reg.RegistryStr(), err)
		}
		switch {
		case c.Auth != "":
			headers[reg.RegistryStr()] = "Basic " + c.Auth
		case c.Username != "" || c.Password != "":
			headers[reg.RegistryStr()] = "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))
		case c.RegistryToken != "":
			headers[reg.RegistryStr()] = "Bearer " + c.RegistryToken
		}
	}
	if len(headers) == 0 {
		return "", nil
	}
	// encoding/json sorts map keys, so the value is stable.
	b, err := json.Marshal(headers)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
