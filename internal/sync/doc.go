// Package sync copies changed source files into running containers instead
// of rebuilding their image: Rules decide which changes an artifact's sync
// rules cover and plan the container file operations (Op), Screen sets
// aside the local files that are never synced (special files, symbolic
// links leaving the synced tree), and a Transport applies the operations
// to one container, through tar (TarTransport) or through the skiff-agent
// helper (AgentTransport) in images that have no tar.
//
// Both transports hold to the same rules: a sync succeeds only when the
// container confirmed it; a deletion is strictly inside its rule's
// destination, never the destination itself nor "/"; local files are read
// through the artifact's context opened as an os.Root, so nothing outside
// it is read; files get their permission bits alone, never setuid, setgid
// or sticky.
package sync
