//go:build !e2e

package ui

// requireBrowser: the quick loop (make unit) skips the browser tests on a
// machine without Chromium; make e2e, whose set-up installs it, fails.
const requireBrowser = false
