//go:build e2e

package ui

// requireBrowser: make e2e installs Chromium (hack/cluster.sh up), so a
// missing one fails the browser tests there.
const requireBrowser = true
