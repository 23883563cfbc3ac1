package dockerbuild

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// maxSecretSize is BuildKit's limit on a secret.
const maxSecretSize = 500 << 10

// newSession makes the BuildKit session of a build: it serves registry
// credentials from the keychain, and d's secrets and ssh agents, over the
// Engine API's /session endpoint, as `docker build` does with BuildKit.
// Secret values are read here, so that a missing file or variable is
// reported before the build starts.
func (b *Builder) newSession(ctx context.Context, d *schema.DockerArtifact, env config.Env) (*session.Session, error) {
	s, err := session.NewSession(ctx, "skiff")
	if err != nil {
		return nil, fmt.Errorf("starting a BuildKit session: %w", err)
	}
	s.Allow(&authProvider{kc: b.opts.keychain})
	if len(d.Secrets) > 0 {
		values, err := secretValues(d.Secrets, env)
		if err != nil {
			return nil, err
		}
		s.Allow(secretsprovider.FromMap(values))
	}
	if d.SSH != "" {
		cfg, err := parseSSH(d.SSH)
		if err != nil {
			return nil, err
		}
		if len(cfg.Paths) == 0 {
			sock, ok := env.Lookup("SSH_AUTH_SOCK")
			if !ok || sock == "" {
				return nil, fmt.Errorf("docker.ssh %q forwards your SSH agent, but SSH_AUTH_SOCK is not set: start an agent (eval \"$(ssh-agent)\"; ssh-add) or name key files (docker.ssh: default=$HOME/.ssh/id_ed25519)", d.SSH)
			}
			cfg.Paths = []string{sock}
		}
		p, err := sshprovider.NewSSHAgentProvider([]sshprovider.AgentConfig{cfg})
		if err != nil {
			return nil, fmt.Errorf("docker.ssh %q: %w", d.SSH, err)
		}
		s.Allow(p)
	}
	return s, nil
}

// dialSession connects a session to the daemon.
func (b *Builder) dialSession(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
	return b.client.DialHijack(ctx, "/session", proto, meta)
}

// secretValues reads the secrets the way `docker build --secret` does: from
// src, or from the variable env, or, with neither, from the variable named
// like the id if it is set and else from the file named like it.
func secretValues(secrets []*schema.DockerSecret, env config.Env) (map[string][]byte, error) {
	values := map[string][]byte{}
	for _, s := range secrets {
		if s == nil {
			continue
		}
		if s.ID == "" {
			return nil, errors.New("docker.secrets: a secret has no id; give it the id the Dockerfile's RUN --mount=type=secret,id=... uses")
		}
		src, name := s.Source, s.Env
		if src == "" && name == "" {
			if _, ok := env.Lookup(s.ID); ok {
				name = s.ID
			} else {
				src = s.ID
			}
		}
		if name != "" {
			v, ok := env.Lookup(name)
			if !ok {
				return nil, fmt.Errorf("docker.secrets: secret %q comes from the environment variable %s, which is not set; set it or use src: to read a file", s.ID, name)
			}
			values[s.ID] = []byte(v)
			continue
		}
		abs, err := filepath.Abs(src)
		if err != nil {
			return nil, fmt.Errorf("docker.secrets: secret %q: %w", s.ID, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("docker.secrets: secret %q: cannot read its file %s (src is relative to the directory skiff runs in): %w", s.ID, abs, err)
		}
		if fi.Size() > maxSecretSize {
			return nil, fmt.Errorf("docker.secrets: secret %q: %s is %d bytes, more than BuildKit's limit of %d", s.ID, abs, fi.Size(), maxSecretSize)
		}
		data, err := os.ReadFile(abs)
		if err != nil {
			return nil, fmt.Errorf("docker.secrets: secret %q: %w", s.ID, err)
		}
		values[s.ID] = data
	}
	return values, nil
}

// parseSSH parses docker.ssh, `docker build --ssh`'s syntax:
// default|<id>[=<socket>|<key>[,<key>]].
func parseSSH(spec string) (sshprovider.AgentConfig, error) {
	id, paths, hasPaths := strings.Cut(strings.TrimSpace(spec), "=")
	if id == "" || strings.ContainsAny(id, ", ") {
		return sshprovider.AgentConfig{}, fmt.Errorf("docker.ssh %q: want default or <id>, optionally =<agent socket> or =<key file>[,<key file>]", spec)
	}
	cfg := sshprovider.AgentConfig{ID: id}
	if hasPaths {
		for _, p := range strings.Split(paths, ",") {
			if p = strings.TrimSpace(p); p != "" {
				cfg.Paths = append(cfg.Paths, p)
			}
		}
		if len(cfg.Paths) == 0 {
			return cfg, fmt.Errorf("docker.ssh %q: nothing after =; name an agent socket or key files", spec)
		}
	}
	return cfg, nil
}
