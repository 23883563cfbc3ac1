package dockerbuild

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/buildkit/session/auth"
	"github.com/moby/moby/api/types/registry"

	skbuild "skiff.dev/skiff/internal/build"
)

// mapKeychain has basic credentials for some registries.
type mapKeychain map[string]authn.AuthConfig

func (k mapKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if c, ok := k[r.RegistryStr()]; ok {
		return authn.FromConfig(c), nil
	}
	return authn.Anonymous, nil
}

func TestClassicBuildSendsCredentials(t *testing.T) {
	t.Parallel()
	a := project(t, "ARG BASE=private.example:5000/team/base:1\nFROM $BASE AS build\nFROM alpine:3\nFROM build\n", nil)
	a.DockerArtifact.CacheFrom = []string{"cache.example/app:latest"}
	kc := mapKeychain{
		"private.example:5000": {Username: "me", Password: "pw"},
		"index.docker.io":      {Auth: base64.StdEncoding.EncodeToString([]byte("hubuser:hubpw"))},
		"cache.example":        {IdentityToken: "tok"},
	}
	fc := &fakeClient{stream: readFixture(t, "ok-classic.jsonl"), images: map[string]string{"cache.example/app:latest": "sha256:c"}}
	b, _ := New(fc, WithKeychain(kc))
	if _, err := b.Build(context.Background(), a, skbuild.Request{Tag: "app:1"}); err != nil {
		t.Fatal(err)
	}
	got := fc.lastOpts(t).AuthConfigs
	want := map[string]registry.AuthConfig{
		"private.example:5000":        {Username: "me", Password: "pw", ServerAddress: "private.example:5000"},
		"https://index.docker.io/v1/": {Username: "hubuser", Password: "hubpw", Auth: base64.StdEncoding.EncodeToString([]byte("hubuser:hubpw")), ServerAddress: "https://index.docker.io/v1/"},
		"cache.example":               {IdentityToken: "tok", ServerAddress: "cache.example"},
	}
	if len(got) != len(want) {
		t.Errorf("AuthConfigs for %d registries, want %d: %+v", len(got), len(want), got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("AuthConfigs[%s] = %+v, want %+v", k, got[k], w)
		}
	}
}

func TestEncodeAuth(t *testing.T) {
	t.Parallel()
	s, err := encodeAuth(registry.AuthConfig{Username: "u", Password: "p", ServerAddress: "r"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.URLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	var got registry.AuthConfig
	if err := json.Unmarshal(b, &got); err != nil || got.Username != "u" || got.Password != "p" {
		t.Errorf("decoded %+v, %v", got, err)
	}
}

func TestSessionCredentials(t *testing.T) {
	t.Parallel()
	p := &authProvider{kc: mapKeychain{
		"index.docker.io": {Username: "hub", Password: "pw"},
		"ghcr.io":         {IdentityToken: "tok"},
	}}
	for host, want := range map[string][2]string{
		"registry-1.docker.io": {"hub", "pw"},
		"ghcr.io":              {"", "tok"},
		"quay.io":              {"", ""},
	} {
		got, err := p.Credentials(context.Background(), &auth.CredentialsRequest{Host: host})
		if err != nil || got.Username != want[0] || got.Secret != want[1] {
			t.Errorf("Credentials(%s) = %q/%q, %v; want %q", host, got.GetUsername(), got.GetSecret(), err, want)
		}
	}
}

func TestBuildKitSessionFailure(t *testing.T) {
	t.Parallel()
	a := project(t, "FROM scratch\n", nil)
	yes := true
	fc := &fakeClient{dialErr: errors.New("the daemon hung up"), block: true}
	b, _ := New(fc, WithBuildKit(&yes))
	_, err := b.Build(context.Background(), a, skbuild.Request{Tag: "app:1"})
	if err == nil || !strings.Contains(err.Error(), "BuildKit's session") || !strings.Contains(err.Error(), "the daemon hung up") {
		t.Errorf("error %v, want one saying the session could not connect", err)
	}
}
