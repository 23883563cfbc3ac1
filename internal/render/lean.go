//go:build lean

package render

import (
	"context"
	"fmt"

	"skiff.dev/skiff/internal/config"
)

// In an engine built with the lean tag, Helm and kustomize are not
// linked: the CLI hands a project that asks for them to
// skiff-engine-full before it renders anything (FullEngineFeature), so
// these steps only meet configs without them.

func (r *renderer) kustomize(_ context.Context, c *config.Config) error {
	return needsFullEngine(c)
}

func (r *renderer) helm(_ context.Context, c *config.Config) error {
	return needsFullEngine(c)
}

// needsFullEngine is the error for a config that only skiff-engine-full
// renders.
func needsFullEngine(c *config.Config) error {
	if what := FullEngineFeature([]*config.Config{c}); what != "" {
		return fmt.Errorf("%s: this skiff engine is built without Helm and kustomize; skiff-engine-full, next to it, renders this project (run skiff through the skiff command, or reinstall with make build)", what)
	}
	return nil
}
