package dockerbuild

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/session/auth"
	"github.com/moby/moby/api/types/registry"
	"google.golang.org/grpc"
)

// dockerHubKey is the key the Engine looks Docker Hub's credentials up by;
// other registries go by host[:port].
const dockerHubKey = "https://index.docker.io/v1/"

// dockerHubHost is the host BuildKit names Docker Hub by.
const dockerHubHost = "registry-1.docker.io"

// credentials returns the keychain's credentials for the registry of ref
// as the Engine API wants them, and false for anonymous access or a
// reference that does not parse (the daemon then reports the problem).
func credentials(ctx context.Context, kc authn.Keychain, ref string) (key string, cfg registry.AuthConfig, ok bool, err error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", registry.AuthConfig{}, false, nil
	}
	return registryCredentials(ctx, kc, r.Context().Registry)
}

func registryCredentials(ctx context.Context, kc authn.Keychain, reg name.Registry) (key string, cfg registry.AuthConfig, ok bool, err error) {
	a, err := authn.Resolve(ctx, kc, reg)
	if err != nil {
		return "", cfg, false, fmt.Errorf("finding credentials for %s: %w", reg.RegistryStr(), err)
	}
	if a == authn.Anonymous {
		return "", cfg, false, nil
	}
	c, err := authn.Authorization(ctx, a)
	if err != nil {
		return "", cfg, false, fmt.Errorf("finding credentials for %s: %w", reg.RegistryStr(), err)
	}
	if c.Username == "" && c.Password == "" && c.Auth != "" {
		// A docker config file may hold only base64(user:password).
		if b, err := base64.StdEncoding.DecodeString(c.Auth); err == nil {
			c.Username, c.Password, _ = strings.Cut(string(b), ":")
		}
	}
	key = reg.RegistryStr()
	if key == name.DefaultRegistry {
		key = dockerHubKey
	}
	return key, registry.AuthConfig{
		Username:      c.Username,
		Password:      c.Password,
		Auth:          c.Auth,
		IdentityToken: c.IdentityToken,
		RegistryToken: c.RegistryToken,
		ServerAddress: key,
	}, true, nil
}

// authConfigs returns credentials for the registries of images, the base
// and cacheFrom images a classic build may pull, keyed as the Engine
// expects.
func authConfigs(ctx context.Context, kc authn.Keychain, images []string) (map[string]registry.AuthConfig, error) {
	out := map[string]registry.AuthConfig{}
	for _, img := range images {
		key, cfg, ok, err := credentials(ctx, kc, img)
		if err != nil {
			return nil, err
		}
		if ok {
			out[key] = cfg
		}
	}
	return out, nil
}

// encodeAuth encodes credentials as the X-Registry-Auth header of a pull.
func encodeAuth(cfg registry.AuthConfig) (string, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// authProvider serves registry credentials to BuildKit over the session,
// from the keychain. BuildKit asks for a host's username and secret; the
// token calls are left unimplemented, so BuildKit fetches tokens itself.
type authProvider struct {
	auth.UnimplementedAuthServer
	kc authn.Keychain
}

// Register implements session.Attachable.
func (p *authProvider) Register(s *grpc.Server) { auth.RegisterAuthServer(s, p) }

// Credentials implements auth.AuthServer.
func (p *authProvider) Credentials(ctx context.Context, req *auth.CredentialsRequest) (*auth.CredentialsResponse, error) {
	host := req.Host
	if host == dockerHubHost {
		host = name.DefaultRegistry
	}
	reg, err := name.NewRegistry(host)
	if err != nil {
		return &auth.CredentialsResponse{}, nil
	}
	_, cfg, ok, err := registryCredentials(ctx, p.kc, reg)
	if err != nil || !ok {
		return &auth.CredentialsResponse{}, err
	}
	if cfg.IdentityToken != "" {
		return &auth.CredentialsResponse{Secret: cfg.IdentityToken}, nil
	}
	return &auth.CredentialsResponse{Username: cfg.Username, Secret: cfg.Password}, nil
}
