//go:build lean

package render

import (
	"context"
	"fmt"

	"skiff.dev/skiff/internal/config"
)

// In an engine built with the lean tag, Helm is not linked: the CLI hands
// a project that asks for it to skiff-engine-full before it renders
// anything (FullEngineFeature), so this step only meets configs without
// a Helm section.

func (r *renderer) helm(_ context.Context, c *config.Config) error {
	return NeedsFullEngine([]*config.Config{c})
}

// NeedsFullEngine is the error for configs that only skiff-engine-full
// renders and deploys (FullEngineFeature), nil for the others; the lean
// engine's stand-ins for Helm return it.
func NeedsFullEngine(configs []*config.Config) error {
	if what := FullEngineFeature(configs); what != "" {
		return fmt.Errorf("%s: this skiff engine is built without Helm; skiff-engine-full, next to it, renders and deploys this project (run skiff through the skiff command, or reinstall with make build)", what)
	}
	return nil
}
