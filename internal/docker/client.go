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
