// Package ui is skiff's web dashboard (skiff dev --ui): one page of plain
// HTML, CSS and JavaScript, embedded in the binary, that shows a
// session's artifacts and workloads, their logs, and buttons and switches
// that drive the dev loop.
//
// The page is a client of the HTTP API (internal/api) and nothing else:
// it follows /v2/events as server-sent events and reduces them into its
// rows in the browser, reads /v2/state for the auto switches, and sends
// /v2/execute and /v2/{build,sync,deploy}/auto_execute. It loads nothing
// from elsewhere. When skiff restarts, the browser's EventSource
// reconnects, the stream replays the session from its start, and the
// page rebuilds its rows from it.
//
// Plugging in: Register adds the page to an api.Server before Start.
package ui

import (
	"embed"
	"io/fs"
	"net/http"

	"skiff.dev/skiff/internal/api"
)

//go:embed assets
var assets embed.FS

// Register serves the dashboard at / on s (the API keeps /v2/); call it
// before s.Start.
func Register(s *api.Server) {
	s.Handle("GET /", Handler())
}

// Handler serves the dashboard's page (index.html) and its assets.
func Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // "assets" is embedded above
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The page is served again whole after an upgrade of skiff.
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self'; img-src 'self' data:")
		files.ServeHTTP(w, r)
	})
}
