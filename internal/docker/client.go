// Package docker connects to the local Docker Engine through its API (the
// moby client), never through the docker CLI.
package docker

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// NewClient connects to the Docker Engine named by DOCKER_HOST (default
// the local socket). The client negotiates the API version, so that older
// engines (Debian's 20.10, API 1.41) work.
func NewClient() (*client.Client, error) {
	// client.FromEnv reads DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH
	// and DOCKER_API_VERSION from the process environment itself, as the
	// docker CLI does; skiff passes no environment of its own here.
	c, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("connecting to the Docker Engine: %w", err)
	}
	return c, nil
}

// Ping checks that the Docker Engine answers, with an error that says
// what to do when it does not.
func Ping(ctx context.Context, c *client.Client) error {
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("the Docker Engine at %s does not answer: %w; start dockerd (make cluster-up starts one) or set DOCKER_HOST", c.DaemonHost(), err)
	}
	return nil
}
