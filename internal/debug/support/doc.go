// Package support is the program that skiff debug's support images carry
// and that runs inside the debugged pods, one static binary with three
// roles: the init containers' copier (Install: the support files into the
// /dbg volume, without a shell in the image), the Node.js `node` wrapper
// (Node: the inspector for the app, not for npm, yarn or nodemon), and the
// Python launcher (Launcher: the app under debugpy from Debian's
// packages). It is built as cmd/skiff-debug-support.
package support
