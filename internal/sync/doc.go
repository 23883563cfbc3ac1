// Package sync copies changed source files into running containers instead
// of rebuilding their image: Rules decide which changes an artifact's sync
// rules cover and plan the container file operations (Op), and a Transport
// applies them to one container, through tar (TarTransport) or through the
// skiff-agent helper (AgentTransport) in images that have no tar.
package sync
