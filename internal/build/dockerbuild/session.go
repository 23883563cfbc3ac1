package dockerbuild

import (
	"context"
	"errors"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// buildSession is a BuildKit session that serves a build's secrets and
// ssh agents.
type buildSession interface {
	ID() string
	Close() error
}

func (b *Builder) startSession(ctx context.Context, d *schema.DockerArtifact, env config.Env) (buildSession, error) {
	return nil, errors.New("docker.secrets and docker.ssh are not supported by skiff yet")
}
