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
// Helm releases.

func (r *renderer) helm(_ context.Context, c *config.Config) error {
	if what := FullEngineFeature([]*config.Config{c}); what != "" {
		return fmt.Errorf("%s: this skiff engine is built without Helm; skiff-engine-full, next to it, renders this project (run skiff through the skiff command, or reinstall with make build)", what)
	}
	return nil
}
