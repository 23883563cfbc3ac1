//go:build !lean

package cli

import "skiff.dev/skiff/internal/config"

// handOff is a no-op in the full engine, which renders and deploys
// every project itself (see engine_lean.go).
func (a *app) handOff(*config.Project) error { return nil }
